//! beams-core (being written).
#![warn(missing_docs)]

pub mod config;
pub mod user_id;

pub use config::{BeamsConfig, BeamsConfigBuilder, ConfigError, SecretKey};
pub use user_id::{UserId, UserIdError};
#[cfg(feature = "publish")]
pub mod publish;
