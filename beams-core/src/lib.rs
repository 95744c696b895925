//! Framework-neutral Pusher Beams "Authenticated Users" support: the instance's credentials,
//! user-id rules, Beams Tokens, the whole decision of the `GET /pusher/beams-auth` route on
//! `http` types, and behind features a tower layer, the publish client and the webhook
//! receiver.
//!
//! The adapters `beams-axum` and `beams-actix` mount the route with the host's own session
//! extractor; they only convert what [`BeamsAuth`] decides, so every adapter answers byte for
//! byte alike.
//!
//! ```
//! use beams_core::{BeamsAuth, Instance, SessionUser};
//! use http::Method;
//!
//! // Usually `Instance::from_env()?` (BEAMS_INSTANCE_ID, BEAMS_SECRET_KEY, BEAMS_ENDPOINT).
//! let instance = Instance::new("my-instance", "my-secret")?;
//! let auth = BeamsAuth::new(&instance);
//!
//! // Phase 1 needs only the method and the query: a bad one is a 400 before any session
//! // lookup.
//! let requested = auth.check_request(&Method::GET, Some("user_id=alice")).unwrap();
//!
//! // Phase 2 compares with the host's logged-in user and issues the token.
//! let res = auth.authorize(requested, SessionUser::LoggedIn("alice".into()));
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["cache-control"], "no-store");
//! # Ok::<(), beams_core::ConfigError>(())
//! ```
//!
//! # Feature flags
//!
//! None is on by default: the default build is the route's decision and the tokens
//! (HMAC-SHA256 on RustCrypto's `hmac` and `sha2`; no JWT library, no RSA, ECDSA or EdDSA
//! code, no C build).
//!
//! - `tower`: `tower::BeamsAuthLayer`, the route in front of any tower service (and, with
//!   `webhook`, the webhook receiver).
//! - `webhook`: the `webhook` module, receiving Beams' delivery reports (signed webhooks).
//! - `publish`: the `publish` module, the reqwest client (plain HTTP only); `rustls-tls` or
//!   `native-tls` add HTTPS, which Beams itself needs, and imply `publish`.
//! - `redis-rate-limit`: `publish::RedisRateLimiter`, one publish budget shared by several
//!   replicas through Redis (implies `publish`).
//! - `outbox`: the `outbox` module, durable at-least-once publishing through Redis Streams
//!   (implies `publish`).
//! - `outbox-cluster`: `outbox::Outbox::cluster_builder`, the outbox on a Redis Cluster.
//! - `outbox-cli`: the `beams-outbox` command (status, sizes, dead letters).
//! - `test-util`: `publish::FakePublisher`, a recording publisher for host tests (implies
//!   `publish`).
//! - `metrics`: counters and histograms through the [`metrics`](https://docs.rs/metrics)
//!   facade (see [Metrics](#metrics)).
//!
//! # Metrics
//!
//! With the feature `metrics`, beams-core records what the auth route, the publish client
//! and the webhook receiver do through the `metrics` facade. The library never installs a
//! recorder: the application picks one (for example `metrics-exporter-prometheus`), and with
//! none installed a recording costs about an atomic load. Label values come only from the
//! fixed sets below, never from a request (no user id, interest or publish id).
//!
//! | name | labels | recorded by |
//! |---|---|---|
//! | `beams_auth_requests_total` | `outcome`: `issued`, `bad_request`, `unauthorized`, `unavailable`, `method_not_allowed` | [`BeamsAuth`], once per request |
//! | `beams_auth_duration_seconds` (histogram) | | [`BeamsAuth`], from phase 1 to the decision |
//! | `beams_publish_requests_total` | `operation`: `publish_to_users`, `publish_to_interests`, `delete_user`; `outcome`: `ok`, `rate_limited`, `client_error`, `server_error`, `network` | `publish::BeamsClient`, per HTTP request (each retry again) |
//! | `beams_publish_retries_total` | `operation` | `publish::BeamsClient` |
//! | `beams_publish_duration_seconds` (histogram) | `operation` | `publish::BeamsClient`, per HTTP request |
//! | `beams_rate_limiter_wait_seconds` (histogram) | | `publish::BeamsClient`, the wait for a slot |
//! | `beams_webhook_requests_total` | `outcome`: `accepted`, `bad_signature`, `bad_request`, `too_large`, `method_not_allowed`, `handler_error` | `webhook::WebhookReceiver`, once per request |
//! | `beams_webhook_events_total` | `event`: `publish_to_users_attempt`, `user_notification_acknowledgement`, `user_notification_open`, `other` | `webhook::WebhookReceiver`, verified events only |
//! | `beams_outbox_enqueued_total` | | `outbox::Outbox::enqueue`, per publish stored |
//! | `beams_outbox_published_total` | | `outbox::Worker`, per batch published |
//! | `beams_outbox_retries_total` | | `outbox::Worker`, per batch scheduled again |
//! | `beams_outbox_dead_lettered_total` | | `outbox::Worker`, per batch given up |
//! | `beams_outbox_pending` (gauge) | | `outbox::Worker`: batches waiting, scheduled or in flight |
//! | `beams_outbox_dead_letters` (gauge) | | `outbox::Worker`: dead letters kept |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth;
mod instance;
mod platform;
mod telemetry;
mod token;
mod user_id;

#[cfg(feature = "outbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub mod outbox;
#[cfg(feature = "publish")]
#[cfg_attr(docsrs, doc(cfg(feature = "publish")))]
pub mod publish;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub mod webhook;

pub use auth::{
    AuthRejection, AuthRequest, BeamsAuth, BeamsAuthBuilder, ResolveUserId, SessionUser,
};
pub use instance::{ConfigError, Instance, InstanceBuilder, SecretKey};
pub use platform::{Platform, UnknownPlatform};
pub use token::{BeamsToken, TokenError, TokenIssuer};
pub use user_id::{UserId, UserIdError};
