//! What can fail before an emulator serves: its configuration ([`BuildError`]) and binding
//! its port ([`StartError`]).

use std::net::SocketAddr;

/// The configuration given to an [`EmulatorBuilder`](crate::EmulatorBuilder) is not one an
/// emulator can serve.
///
/// ```
/// use beams_emulator::{BuildError, Emulator};
///
/// let err = Emulator::builder().instance_id("not/valid").build_state().unwrap_err();
/// assert!(matches!(err, BuildError::InvalidInstanceId(_)));
/// for scale in [-1.0, f64::NAN, f64::INFINITY] {
///     let err = Emulator::builder().webhook_retry_scale(scale).build_state().unwrap_err();
///     assert_eq!(err, BuildError::InvalidWebhookRetryScale);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The instance id is empty or has characters other than ASCII letters, digits and `-` (it is
    /// part of the token issuer's host name).
    #[error(
        "invalid instance id {0:?}: it must be non-empty and contain only ASCII letters, digits and '-'"
    )]
    InvalidInstanceId(String),
    /// The secret key is empty or has characters other than visible ASCII (it travels in an HTTP
    /// header). The message never contains the secret.
    #[error("invalid secret key: it must be non-empty visible ASCII (no spaces)")]
    InvalidSecretKey,
    /// An inspection origin is not `scheme://host[:port]`.
    #[error(
        "invalid inspection origin {0:?}: expected scheme://host[:port], e.g. http://127.0.0.1:3000"
    )]
    InvalidOrigin(String),
    /// The webhook retry scale is negative or not a finite number.
    #[error("invalid webhook retry scale: it must be a finite number >= 0")]
    InvalidWebhookRetryScale,
    /// `max_connections` is zero: no request could ever be served.
    #[error("max_connections must be at least 1")]
    NoConnections,
}

/// An emulator could not start: its configuration is invalid or its address could not be
/// bound.
///
/// ```
/// use beams_emulator::{BuildError, Emulator, StartError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = Emulator::builder().secret_key("has space").start().await.unwrap_err();
/// assert!(matches!(err, StartError::Build(_)));
/// let err = Emulator::builder().max_connections(0).start().await.unwrap_err();
/// assert!(matches!(err, StartError::Build(BuildError::NoConnections)));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Another I/O error while starting (reading the bound address back).
    #[error("I/O error while starting the emulator: {0}")]
    Io(std::io::Error),
}
