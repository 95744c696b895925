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
//! sessions, use a server-side store such as actix-session's `RedisSessionStore`.
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
//! - [`resource`]: a [`Resource`] at [`BeamsAuth::path`]; `App::service` or `Scope::service`.
//! - [`configure`]: the same for `App::configure` / `Scope::configure`.
//! - [`scope`]: a [`Scope`] for the path's parent (`/pusher`) with the route inside, when you
//!   want to wrap middleware around just this route.
//!
//! Paths are relative to where you mount: inside `web::scope("/api")`, [`resource`] with the
//! default configuration answers at `/api/pusher/beams-auth`.
//!
//! # Middleware order
//!
//! The route reads the session through your extractor, so your session middleware must
//! *wrap* the route: register it with `.wrap(..)` on the `App` (or on a [`Scope`]/[`Resource`]
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
//! the notification. With the `webhooks` feature, one line mounts a receiver that verifies
//! them (HMAC-SHA1 of the raw body, before anything parses it) and hands your closure a typed
//! event:
//!
//! ```
//! # #[cfg(feature = "webhooks")] {
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
//! [`beams_core::webhook`] for every answer.
//!
//! # Publishing
//!
//! With the `publish` feature (plus `rustls-tls` or `native-tls` for Beams' HTTPS), the
//! publish client is re-exported as [`publish`]; build it from the same [`Instance`] as the
//! route and share it through `web::Data`.
//!
//! # Feature flags
//!
//! - `rust-crypto` (default) / `aws-lc-rs`: the HMAC backend of the tokens, forwarded to
//!   beams-core.
//! - `publish`: [`publish`], the publish client, plain HTTP; `rustls-tls` or `native-tls`
//!   add HTTPS and imply `publish`.
//! - `webhooks`: [`webhook_resource`] and [`webhook`], receiving Beams' delivery reports.
//! - `redis-rate-limit`: `publish::RedisRateLimiter`, one publish budget shared by several
//!   replicas through Redis (implies `publish`).
//! - `test-util`: `publish::FakePublisher` for your tests (implies `publish`).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "webhooks")]
mod receive;
mod response;
mod route;

use actix_web::{FromRequest, Resource, Scope, web};

pub use beams_core;
#[cfg(feature = "publish")]
#[cfg_attr(docsrs, doc(cfg(feature = "publish")))]
pub use beams_core::publish;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub use beams_core::webhook;
// beams-core's whole root, so that nothing an adapter user meets needs `beams_core::`.
pub use beams_core::{
    AuthRejection, BeamsAuth, BeamsAuthBuilder, BeamsToken, ConfigError, Instance, InstanceBuilder,
    ResolveUserId, SecretKey, SessionUser, TokenError, TokenIssuer, UserId, UserIdError,
};
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub use receive::webhook_resource;
pub use response::into_actix;

/// The auth route as a [`Resource`] at [`BeamsAuth::path`], for `App::service` or
/// `Scope::service`.
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
pub fn resource<E, R>(beams: BeamsAuth, resolve: R) -> Resource
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
{
    resource_at(beams.path().to_owned(), beams, resolve)
}

/// The auth route as a configuration function, for `App::configure` or `Scope::configure`.
///
/// Registers [`resource`] at [`BeamsAuth::path`], relative to where it is applied.
///
/// ```
/// use actix_web::{App, test, web};
/// use beams_actix::{BeamsAuth, Instance};
///
/// /// Stands in for your session extractor: here the user comes from a header.
/// async fn user_from_header(req: actix_web::HttpRequest) -> Option<String> {
///     let value = req.headers().get("x-user")?;
///     value.to_str().ok().map(str::to_owned)
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let beams = BeamsAuth::new(&Instance::new("my-instance", "my-secret").unwrap());
/// let app = test::init_service(
///     App::new().configure(beams_actix::configure(beams, user_from_header)),
/// )
/// .await;
///
/// let req = test::TestRequest::get()
///     .uri("/pusher/beams-auth?user_id=alice")
///     .insert_header(("x-user", "alice"))
///     .to_request();
/// let res = test::call_service(&app, req).await;
/// assert_eq!(res.status().as_u16(), 200);
/// # });
/// ```
pub fn configure<E, R>(beams: BeamsAuth, resolve: R) -> impl FnOnce(&mut web::ServiceConfig)
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
{
    move |config: &mut web::ServiceConfig| {
        config.service(resource(beams, resolve));
    }
}

/// The auth route inside a [`Scope`] for the configured path's parent: `/pusher` for the
/// default `/pusher/beams-auth`, `/api/v1` for `/api/v1/beams-auth`.
///
/// Use it to wrap middleware around this route only (`scope(..).wrap(..)`), or to add your
/// own routes under the same prefix. When the path has a single segment (`/beams-auth`), the
/// scope's prefix is the whole path and the route is the scope's root, so the scope still
/// claims only that path and what lies below it. actix-web gives a path to the first
/// matching scope: if your app already has a scope for this prefix, call
/// [`configure`] on it instead (with a path relative to that scope).
///
/// ```
/// use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, test};
/// use beams_actix::{BeamsAuth, Instance};
///
/// # actix_web::rt::System::new().block_on(async {
/// let beams = BeamsAuth::new(&Instance::new("my-instance", "my-secret").unwrap());
/// let pusher = beams_actix::scope(beams, |session: Session| async move {
///     session.get::<String>("user_id")
/// })
/// // Only this scope has sessions.
/// .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate()));
/// let app = test::init_service(App::new().service(pusher)).await;
///
/// let req = test::TestRequest::get().uri("/pusher/beams-auth").to_request();
/// let res = test::call_service(&app, req).await;
/// assert_eq!(res.status().as_u16(), 400); // no user_id
/// # });
/// ```
pub fn scope<E, R>(beams: BeamsAuth, resolve: R) -> Scope
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
{
    let (prefix, rest) = split_scope_path(beams.path());
    let (prefix, rest) = (prefix.to_owned(), rest.to_owned());
    Scope::new(&prefix).service(resource_at(rest, beams, resolve))
}

fn resource_at<E, R>(path: String, beams: BeamsAuth, resolve: R) -> Resource
where
    E: FromRequest + 'static,
    R: ResolveUserId<E> + 'static,
{
    Resource::new(path).route(web::route().service(route::factory(beams, resolve)))
}

/// Splits an auth path into a scope prefix and the resource path inside it.
fn split_scope_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) | None => (path, ""),
        Some(i) => path.split_at(i),
    }
}

#[cfg(test)]
mod tests {
    use super::split_scope_path;

    #[test]
    fn scope_paths() {
        assert_eq!(
            split_scope_path("/pusher/beams-auth"),
            ("/pusher", "/beams-auth")
        );
        assert_eq!(split_scope_path("/api/v1/beams"), ("/api/v1", "/beams"));
        assert_eq!(split_scope_path("/beams-auth"), ("/beams-auth", ""));
        assert_eq!(
            split_scope_path("/pusher/beams-auth/"),
            ("/pusher/beams-auth", "/")
        );
        assert_eq!(split_scope_path("/"), ("/", ""));
    }
}
