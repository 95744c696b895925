//! A ready-made Pusher Beams auth route for axum apps.
//!
//! Pusher Beams' client SDKs ask your backend for a *Beams Token* before they associate a
//! device with a user: `GET /pusher/beams-auth?user_id=<id>`. This crate answers that request
//! from your own login system. You hand it a closure that turns *your* extractor (a
//! tower-sessions [`Session`](https://docs.rs/tower-sessions), an axum-login `AuthSession`, a
//! bearer-token extractor, …) into the logged-in user's id, and merge the returned router into
//! your app. Everything else — query decoding, validation, the user check, the token, the
//! JSON answers and their headers — is decided by [`beams_core`], so this route answers byte
//! for byte like the actix-web adapter and the tower layer.
//!
//! # Quick start (tower-sessions)
//!
//! ```
//! use axum::{Router, routing::get};
//! use beams_axum::{BeamsAuth, Instance};
//! use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
//!
//! # fn main() -> Result<(), beams_axum::ConfigError> {
//! // Usually `Instance::from_env()?` (BEAMS_INSTANCE_ID, BEAMS_SECRET_KEY, BEAMS_ENDPOINT).
//! let instance = Instance::new("my-instance-id", "my-secret-key")?;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     // The one line: GET /pusher/beams-auth, answered from the host's own session.
//!     .merge(beams_axum::router(BeamsAuth::new(&instance), |session: Session| async move {
//!         session.get::<String>("user_id").await
//!     }))
//!     .layer(SessionManagerLayer::new(MemoryStore::default()));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! The closure is any [`ResolveUserId`]: it receives the extracted value and says who is
//! logged in — `Option<String>` (`None` for nobody), or a `Result` of it whose error means
//! the session store could not be read, answered with a `503` rather than a misleading
//! `401` (see [`SessionUser`]). The extractor's type is taken from the closure's argument
//! annotation, and any `E: FromRequestParts<S>` works, including extractors that read your
//! app's own state `S`.
//!
//! # What a request goes through
//!
//! 1. Methods other than GET and HEAD get beams-core's JSON `405` with `Allow: GET`. HEAD is
//!    served like GET (axum drops the body).
//! 2. The query is checked (`user_id` present once, well-encoded, 1–164 bytes). A bad query
//!    gets a `400` **before** your extractor or closure runs.
//! 3. Your extractor runs. If it rejects (its own `Rejection`), the answer is a `401`, and the
//!    rejection is logged through `tracing` (target `beams::auth`): at `warn` for a 5xx, which
//!    means the host is misconfigured, at `debug` for a 4xx. Otherwise your closure says who
//!    is logged in.
//! 4. A logged-out caller or another user's id gets a `401`; a session that could not be
//!    read a `503` with `Retry-After` (logged at `warn`); the right user gets
//!    `200 {"token":"<jwt>"}`.
//!
//! # Layer ordering
//!
//! Session and auth middleware must wrap the Beams route, so add your layers *after* the
//! merge:
//!
//! ```text
//! Router::new()
//!     .merge(beams_axum::router(beams, resolve))   // first the routes …
//!     .layer(session_layer)                          // … then the layers that serve them
//! ```
//!
//! [`Router::layer`](axum::Router::layer) only wraps the routes that exist when it is called.
//! If the Beams router is merged after the session layer, the `Session` extractor fails with
//! tower-sessions' `500 "Can't extract session. Is SessionManagerLayer enabled?"`; the route
//! then answers `401` and logs that message at `warn` — which an app without a `tracing`
//! subscriber never shows.
//!
//! # Overlapping paths
//!
//! [`Router::merge`](axum::Router::merge) panics when both routers have a route at the same
//! path. If your app already serves `/pusher/beams-auth` (or the path from
//! [`BeamsAuthBuilder::path`]), remove that route, or mount the Beams route elsewhere with
//! [`method_router`]:
//!
//! ```
//! # use axum::Router;
//! # use tower_sessions::Session;
//! # let beams = beams_axum::BeamsAuth::new(&beams_axum::Instance::new("my-instance", "my-secret").unwrap());
//! let app: Router = Router::new().route(
//!     "/api/beams-token",
//!     beams_axum::method_router(beams, |session: Session| async move {
//!         session.get::<String>("user_id").await
//!     }),
//! );
//! ```
//!
//! # Other extractors
//!
//! The crate's examples (`cargo run -p beams-axum --example …`) show the closure with
//! axum-login (`axum_login`) and with a bearer-token extractor for mobile clients that send
//! `Authorization` headers (`bearer`).
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
//! use axum::Router;
//! use beams_axum::webhook::{Webhook, WebhookReceiver};
//!
//! let app: Router = Router::new()
//!     // POST /pusher/beams-webhooks, signed with the webhook's secret from the dashboard.
//!     .merge(beams_axum::webhook_router(
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
//! route and keep it in your state like any other client.
//!
//! # Feature flags
//!
//! None is on by default: the route and its tokens need none.
//!
//! - `publish`: `publish`, the publish client, plain HTTP; `rustls-tls` or `native-tls`
//!   add HTTPS and imply `publish`.
//! - `webhook`: `webhook_router` and `webhook_method_router`, and `webhook`: receiving Beams' delivery
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
mod route;

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
pub use receive::{webhook_method_router, webhook_router};
pub use route::{method_router, router};
