//! A ready-made Pusher Beams auth route for [axum] apps.
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
//! use beams_axum::{BeamsAuth, BeamsConfig};
//! use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
//!
//! # fn main() -> Result<(), beams_axum::ConfigError> {
//! // Usually `BeamsAuth::from_env()?` (BEAMS_INSTANCE_ID, BEAMS_SECRET_KEY).
//! let beams = BeamsAuth::new(BeamsConfig::new("my-instance-id", "my-secret-key")?);
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     // The one line: GET /pusher/beams-auth, answered from the host's own session.
//!     .merge(beams_axum::router(beams, |session: Session| async move {
//!         session.get::<String>("user_id").await.ok().flatten()
//!     }))
//!     .layer(SessionManagerLayer::new(MemoryStore::default()));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! The closure is any [`ResolveUserId`]: it receives the extracted value and returns
//! `Some(user_id)` for a logged-in user or `None` for nobody. The extractor's type is taken
//! from the closure's argument annotation, and any `E: FromRequestParts<S>` works, including
//! extractors that read your app's own state `S`.
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
//! 4. A logged-out caller or another user's id gets a `401`; the right user gets
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
//! [`Router::layer`](axum::Router::layer) only wraps the routes that exist when it is called. If the Beams router
//! is merged after the session layer, the `Session` extractor fails with tower-sessions'
//! `500 "Can't extract session. Is SessionManagerLayer enabled?"`; the route then answers
//! `401` and logs that message at `warn`.
//!
//! # Overlapping paths
//!
//! [`Router::merge`](axum::Router::merge) panics when both routers have a route at the same path. If your app
//! already serves `/pusher/beams-auth` (or the path from
//! [`BeamsConfigBuilder::auth_path`](beams_core::BeamsConfigBuilder::auth_path)), remove that
//! route, or mount the Beams route elsewhere with [`handler`]:
//!
//! ```
//! # use axum::Router;
//! # use tower_sessions::Session;
//! # let beams = beams_axum::core::test_util::auth();
//! let app: Router = Router::new().route(
//!     "/api/beams-token",
//!     beams_axum::handler(beams, |session: Session| async move {
//!         session.get::<String>("user_id").await.ok().flatten()
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
//! To reach the [`BeamsAuth`] or the publish client from your own handlers, put them in your
//! state and use the [`Beams`] extractor (or axum's `State`).
#![warn(missing_docs)]

mod extract;
mod route;

/// beams-core, re-exported: configuration, user ids, tokens and the auth decision.
pub use beams_core as core;
pub use beams_core::{
    AuthRejection, BeamsAuth, BeamsConfig, ConfigError, ResolveUserId, SessionState, UserId,
};
pub use extract::Beams;
pub use route::{handler, router};
