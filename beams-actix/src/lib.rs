//! A ready-made [Pusher Beams] auth route for [actix-web] apps.
//!
//! Beams' "Authenticated Users" feature lets your backend publish to *users*. Before a device
//! may be linked to a user, the client SDK calls your backend's auth endpoint,
//! `GET /pusher/beams-auth?user_id=<id>`, and your backend answers with a Beams Token if and
//! only if the caller is logged in as that user. This crate mounts that endpoint into an
//! actix-web app with one line, asking *your* login system who is logged in: you pass any
//! actix-web extractor (`Session`, `Identity`, a bearer token, …) and a closure turning it into
//! the user id.
//!
//! All decisions, the JSON bodies, status codes and headers come from [`beams_core`]
//! (re-exported); this crate only adapts them to actix-web, so its answers are identical to
//! those of `beams-axum` and beams-core's tower layer.
//!
//! [Pusher Beams]: https://pusher.com/beams
//! [actix-web]: https://actix.rs
//!
//! # Quick start (actix-session)
//!
//! ```no_run
//! use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, HttpServer, cookie::Key};
//! use beams_actix::{BeamsAuth, Instance};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // BEAMS_INSTANCE_ID and BEAMS_SECRET_KEY (optionally BEAMS_ENDPOINT).
//!     let instance = Instance::from_env().expect("Beams configuration");
//!     let beams = BeamsAuth::new(&instance);
//!     let key = Key::generate();
//!     HttpServer::new(move || {
//!         App::new()
//!             // GET /pusher/beams-auth: who is logged in is whatever your login stored.
//!             .service(beams_actix::resource(beams.clone(), |session: Session| async move {
//!                 session.get::<String>("user_id")
//!             }))
//!             // Your session middleware wraps the route (see "Middleware order").
//!             .wrap(SessionMiddleware::new(CookieSessionStore::default(), key.clone()))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! The hook says who is logged in: `Option<String>` (`None` when nobody is), or a `Result`
//! of it whose error means the session could not be read — answered with a `503` rather
//! than a misleading `401` (see [`SessionUser`]). Its future need not be `Send`
//! (actix-session's `Session` is not), and the closure may capture anything `'static`, e.g.
//! a database pool to map a session key to a user id.
//!
//! `CookieSessionStore` above keeps the whole session in the cookie, so logout cannot revoke
//! a copy of an old cookie. Where logout must revoke, and where several replicas share
//! sessions, use a server-side store such as actix-session's `RedisSessionStore`; it has no
//! timeout of its own, so wrap it in `TimeoutSessionStore` (feature `session-timeout`).
//!
//! # What the route answers
//!
//! For each request, in this order:
//!
//! 1. A method other than `GET`/`HEAD` gets a JSON `405` with `Allow: GET` (every method is
//!    routed here, so you never see actix-web's own empty `405`/`404` at this path).
//! 2. A missing, repeated, malformed, empty or over-long `user_id` gets a JSON `400`. Your
//!    extractor and hook do **not** run.
//! 3. Your extractor runs. If it fails, the caller gets a JSON `401`; a `5xx` rejection (a
//!    misconfigured app, e.g. a missing middleware) is logged at `warn`, a `4xx` at `debug`.
//! 4. Your hook runs: `None` → `401`; an error → `503` with `Retry-After` (logged at
//!    `warn`); another user than `user_id` → `401`; the same user →
//!    `200 {"token":"<jwt>"}`.
//!
//! Every answer carries `Content-Type: application/json`, `Cache-Control: no-store` and
//! `X-Content-Type-Options: nosniff`.
//!
//! # Mounting
//!
//! - [`scope`]: everything in one value — the auth route and, with the `webhook` feature,
//!   the webhook receiver (`BeamsScope::webhook`) — for `App::service` or `Scope::service`.
//! - [`resource`] (and `webhook_resource`): one route as an actix [`Resource`], for
//!   mounting it on its own and wrapping middleware around just that route
//!   (`Resource::wrap`).
//!
//! Paths are relative to where you mount: inside `web::scope("/api")`, the default auth
//! route answers at `/api/pusher/beams-auth`.
//!
//! # Middleware order
//!
//! The route reads the session through your extractor, so your session middleware must
//! *wrap* the route: register it with `.wrap(..)` on the `App` (or on a scope or [`Resource`]
//! containing the route). What forgetting it looks like depends on the extractor:
//! actix-session's `Session` then quietly yields an empty session, so every request is a
//! `401` ("You must be logged in"); an extractor that fails with a `5xx` is answered with a
//! `401` and logged at `warn`; actix-identity's `Identity` panics in the worker.
//!
//! actix-identity reads its data from actix-session, so `SessionMiddleware` must run first,
//! which in actix-web means it is registered **last**:
//!
//! ```
//! use actix_identity::{Identity, IdentityMiddleware};
//! use actix_session::{SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, cookie::Key};
//! # let beams = beams_actix::BeamsAuth::new(&beams_actix::Instance::new("my-instance", "my-secret").unwrap());
//! # let key = Key::generate();
//!
//! let app = App::new()
//!     .service(beams_actix::resource(beams, |id: Identity| async move { id.id().ok() }))
//!     .wrap(IdentityMiddleware::default()) // registered first: runs second
//!     .wrap(SessionMiddleware::new(CookieSessionStore::default(), key)); // runs first
//! ```
//!
//! With actix-identity, a caller without an identity makes the `Identity` extractor itself
//! fail with a `401`, which the route answers with its own `401` ("The login session could
//! not be read."). Take `Option<Identity>` instead to get the "You must be logged in" wording;
//! the extractor has no other failure worth reporting.
//!
//! # Cost
//!
//! On top of what actix-web does for any route (routing, one boxed future per request), the
//! adapter adds a non-atomic reference-count increment and the header-by-header conversion
//! of beams-core's response, which reuses static values instead of copying them. The
//! configuration, the signing key and your hook are captured when the app is built, so
//! nothing is looked up in `app_data` and nothing can be missing at run time.
//!
//! # Delivery reports
//!
//! Beams reports what happened to each publish through signed webhooks: which users' devices
//! it reached, which users have no devices, and when a device acknowledged or the user opened
//! the notification. With the `webhook` feature, one line mounts a receiver that verifies
//! them (HMAC-SHA1 of the raw body, before anything parses it) and hands your closure a typed
//! event:
//!
//! ```
//! # #[cfg(feature = "webhook")] {
//! use actix_web::App;
//! use beams_actix::webhook::{Webhook, WebhookReceiver};
//!
//! let app = App::new()
//!     // POST /pusher/beams-webhooks, signed with the webhook's secret from the dashboard.
//!     .service(beams_actix::webhook_resource(
//!         WebhookReceiver::new("my-webhook-secret").expect("a non-empty secret"),
//!         |webhook: Webhook| async move { println!("{:?}", webhook.event) },
//!     ));
//! # let _ = app;
//! # }
//! ```
//!
//! Answer quickly (Beams wants a `2xx` within three seconds) and expect retries with the same
//! `event_id`; a handler returning `Err` gets a `500`, so that Beams retries. See
//! `beams_core::webhook` for every answer.
//!
//! # Publishing
//!
//! With the `publish` feature (plus `rustls-tls` or `native-tls` for Beams' HTTPS), the
//! publish client is re-exported as `publish`; build it from the same [`Instance`] as the
//! route and share it through `web::Data`.
//!
//! # Feature flags
//!
//! None is on by default: the route and its tokens need none.
//!
//! - `publish`: `publish`, the publish client, plain HTTP; `rustls-tls` or `native-tls`
//!   add HTTPS and imply `publish`.
//! - `webhook`: `webhook_resource` and [`scope`]'s `webhook`, and `webhook`: receiving Beams' delivery
//!   reports.
//! - `redis-rate-limit`: `publish::RedisRateLimiter`, one publish budget shared by several
//!   replicas through Redis (implies `publish`).
//! - `outbox`: the `outbox` module, durable at-least-once publishing through Redis Streams
//!   (implies `publish`).
//! - `outbox-cluster`: `outbox::Outbox::cluster_builder`, the outbox on a Redis Cluster.
//! - `test-util`: `publish::FakePublisher` for your tests (implies `publish`).
//! - `metrics`: beams-core's metrics of the route, the publish client and the webhook
//!   receiver, recorded through the `metrics` facade (your application installs the
//!   recorder); see beams-core's crate docs for the names.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "webhook")]
mod receive;
mod response;
mod route;
#[cfg(feature = "session-timeout")]
mod session;

use std::fmt;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::{FromRequest, Resource, web};

// Every item at beams-core's root, so that nothing an adapter user meets needs
// `beams_core::`; its modules only with this crate's own features.
#[cfg(feature = "outbox")]
#[doc(no_inline)]
pub use beams_core::outbox;
#[cfg(feature = "publish")]
#[doc(no_inline)]
pub use beams_core::publish;
#[cfg(feature = "webhook")]
#[doc(no_inline)]
pub use beams_core::webhook;
#[doc(no_inline)]
pub use beams_core::{
    self, AuthRejection, AuthRequest, BeamsAuth, BeamsAuthBuilder, BeamsToken, ConfigError,
    Instance, InstanceBuilder, Platform, ResolveUserId, SecretKey, SessionUser, TokenError,
    TokenIssuer, UnknownPlatform, UserId, UserIdError,
};
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub use receive::webhook_resource;
#[cfg(feature = "session-timeout")]
#[cfg_attr(docsrs, doc(cfg(feature = "session-timeout")))]
pub use session::{SessionStoreTimeout, TimeoutSessionStore};

/// The auth route as one actix [`Resource`] at [`BeamsAuth::path`], for `App::service` or
/// `Scope::service`: for mounting it on its own, with per-route middleware through
/// `Resource::wrap`. [`scope`] mounts it together with the webhook receiver.
///
/// `resolve` turns the extractor `E` into the logged-in user's id (see [`ResolveUserId`]);
/// `E` is usually named by the closure's argument type. Every method is routed to the
/// handler, so non-`GET` requests get beams-core's JSON `405`.
///
/// ```
/// use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, test};
/// use beams_actix::{BeamsAuth, Instance};
///
/// # actix_web::rt::System::new().block_on(async {
/// let beams = BeamsAuth::new(&Instance::new("my-instance", "my-secret").unwrap());
/// let app = test::init_service(
///     App::new()
///         .service(beams_actix::resource(beams, |session: Session| async move {
///             session.get::<String>("user_id")
///         }))
///         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
/// )
/// .await;
///
/// // Nobody is logged in yet.
/// let req = test::TestRequest::get().uri("/pusher/beams-auth?user_id=alice").to_request();
/// let res = test::call_service(&app, req).await;
/// assert_eq!(res.status().as_u16(), 401);
/// assert_eq!(res.headers().get("content-type").unwrap(), "application/json");
/// # });
/// ```
#[must_use = "the route is served only once the Resource is registered with `.service(..)`"]
pub fn resource<E, R>(beams: BeamsAuth, resolve: R) -> Resource
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
{
    Resource::new(beams.path()).route(web::route().service(route::factory(beams, resolve)))
}

/// Everything beams-actix mounts, as one value for `App::service` or `Scope::service`: the
/// auth route at [`BeamsAuth::path`] and, with the `webhook` feature and
/// `BeamsScope::webhook`, the webhook receiver at its path (default
/// `/pusher/beams-webhooks`).
///
/// Each route is registered as its own resource, so the value claims exactly its paths and
/// nothing below them: your own routes under `/pusher` keep working. Paths are relative to
/// where it is registered (inside `web::scope("/api")`, the default auth route answers at
/// `/api/pusher/beams-auth`). To wrap middleware around these routes only, register it
/// inside such a scope with its own `.wrap(..)`, or mount [`resource`] (and
/// `webhook_resource`), actix [`Resource`]s with a `.wrap(..)` of their own.
///
/// ```
/// use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, test};
/// use beams_actix::{BeamsAuth, Instance};
///
/// # actix_web::rt::System::new().block_on(async {
/// let beams = BeamsAuth::new(&Instance::new("my-instance", "my-secret").unwrap());
/// let app = test::init_service(
///     App::new()
///         .service(beams_actix::scope(beams, |session: Session| async move {
///             session.get::<String>("user_id")
///         }))
///         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
/// )
/// .await;
///
/// let req = test::TestRequest::get().uri("/pusher/beams-auth").to_request();
/// let res = test::call_service(&app, req).await;
/// assert_eq!(res.status().as_u16(), 400); // no user_id
/// # });
/// ```
pub fn scope<E, R>(beams: BeamsAuth, resolve: R) -> BeamsScope
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
{
    BeamsScope {
        resources: vec![resource(beams, resolve)],
    }
}

/// The routes of [`scope`], registered together with `App::service` or `Scope::service`.
#[must_use = "a BeamsScope does nothing until it is registered with `.service(..)`"]
pub struct BeamsScope {
    resources: Vec<Resource>,
}

impl fmt::Debug for BeamsScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeamsScope")
            .field("routes", &self.resources.len())
            .finish()
    }
}

impl BeamsScope {
    /// Also mounts the webhook receiver (as `webhook_resource` does): verified webhooks go
    /// to `handler`.
    ///
    /// ```
    /// use actix_web::{App, HttpRequest, test};
    /// use beams_actix::webhook::{Webhook, WebhookReceiver};
    /// use beams_actix::{BeamsAuth, Instance};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let beams = BeamsAuth::new(&Instance::new("my-instance", "my-secret").unwrap());
    /// let receiver = WebhookReceiver::new("my-webhook-secret").unwrap();
    /// let routes = beams_actix::scope(beams, |req: HttpRequest| async move {
    ///     Some(req.headers().get("x-user")?.to_str().ok()?.to_owned())
    /// })
    /// .webhook(receiver, |webhook: Webhook| async move { println!("{:?}", webhook.event) });
    /// let app = test::init_service(App::new().service(routes)).await;
    ///
    /// // Not signed: refused before the handler runs.
    /// let req = test::TestRequest::post().uri("/pusher/beams-webhooks").set_payload("{}").to_request();
    /// assert_eq!(test::call_service(&app, req).await.status().as_u16(), 401);
    /// // The auth route is there too.
    /// let req = test::TestRequest::get().uri("/pusher/beams-auth?user_id=a").to_request();
    /// assert_eq!(test::call_service(&app, req).await.status().as_u16(), 401);
    /// # });
    /// ```
    #[cfg(feature = "webhook")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
    pub fn webhook<H>(mut self, receiver: beams_core::webhook::WebhookReceiver, handler: H) -> Self
    where
        H: beams_core::webhook::HandleWebhook + 'static,
    {
        self.resources.push(webhook_resource(receiver, handler));
        self
    }
}

impl HttpServiceFactory for BeamsScope {
    fn register(self, config: &mut AppService) {
        for resource in self.resources {
            resource.register(config);
        }
    }
}
