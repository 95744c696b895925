//! Framework-neutral Pusher Beams "Authenticated Users" support: configuration, user-id
//! rules, Beams Tokens, the whole decision of the `GET /pusher/beams-auth` route on `http`
//! types, a tower layer, and (feature `publish`) the publish client.
//!
//! The adapters `beams-axum` and `beams-actix` mount the route with the host's own session
//! extractor; they only convert what [`BeamsAuth`] decides, so every adapter answers byte for
//! byte alike.
//!
//! ```
//! use beams_core::{BeamsAuth, BeamsConfig};
//! use beams_core::auth::SessionState;
//!
//! let auth = BeamsAuth::new(BeamsConfig::new("my-instance", "my-secret")?);
//!
//! // Phase 1 needs only the query: a bad one is a 400 before any session lookup.
//! let requested = auth.requested_user(Some("user_id=john+test%40example.com")).unwrap();
//! assert_eq!(requested, "john+test@example.com"); // `+` stays a plus
//!
//! // Phase 2 compares with the host's logged-in user and issues the token.
//! let res = auth.authorize(&requested, SessionState::LoggedIn("john+test@example.com"));
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["cache-control"], "no-store");
//! # Ok::<(), beams_core::ConfigError>(())
//! ```
//!
//! # Feature flags
//!
//! - `rust-crypto` (default) / `aws-lc-rs`: jsonwebtoken's crypto backend; the chosen one is
//!   used directly, so enabling both never panics at the first signature.
//! - `tower` (default): [`service::BeamsAuthLayer`].
//! - `publish` (default): [`publish`], the reqwest client; `rustls-tls` (default) or
//!   `native-tls`.
//! - `test-util`: the conformance table ([`test_util`]) and `publish::FakePublisher`.
#![warn(missing_docs)]

pub mod auth;
pub mod config;
#[cfg(feature = "tower")]
pub mod service;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod token;
pub mod user_id;

pub use auth::{AuthRejection, BeamsAuth, ResolveUserId, SessionState};
pub use config::{BeamsConfig, BeamsConfigBuilder, ConfigError, SecretKey};
pub use token::{BeamsToken, TokenError, TokenIssuer};
pub use user_id::{UserId, UserIdError};
#[cfg(feature = "publish")]
pub mod publish;
#[cfg(feature = "publish")]
pub use publish::{BeamsClient, FanOut, Notification, PublishError, PublishResponse, Publisher};
