//! beams-core (being written).
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
