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
//! let res = auth.authorize(&requested, SessionUser::LoggedIn("alice".into()));
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
//! - `test-util`: `publish::FakePublisher`, a recording publisher for host tests (implies
//!   `publish`).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth;
mod instance;
mod platform;
mod token;
mod user_id;

#[cfg(feature = "publish")]
#[cfg_attr(docsrs, doc(cfg(feature = "publish")))]
pub mod publish;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub mod webhook;

pub use auth::{AuthRejection, BeamsAuth, BeamsAuthBuilder, ResolveUserId, SessionUser};
pub use instance::{ConfigError, Instance, InstanceBuilder, SecretKey};
pub use platform::{Platform, UnknownPlatform};
pub use token::{BeamsToken, TokenError, TokenIssuer};
pub use user_id::{UserId, UserIdError};
