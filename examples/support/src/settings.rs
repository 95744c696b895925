//! What the example apps read from the environment, how they log, and how they fail to start.

use std::time::Duration;

/// What both example apps read from the environment.
#[derive(Clone)]
pub struct Settings {
    /// `PORT` (0 picks a free port).
    pub port: u16,
    /// `REDIS_URL`: keep sessions, and the publish budget, in this Redis (e.g.
    /// `redis://127.0.0.1:6379`).
    pub redis_url: Option<String>,
    /// `SESSION_CAPACITY`: the most sessions kept in memory without Redis.
    pub session_capacity: u64,
    /// `REQUEST_TIMEOUT_SECS`: how long a request may take, its body included, before it is
    /// answered `408` (a client sending its body a byte at a time holds a connection no
    /// longer than this).
    pub request_timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("port", &self.port)
            // A Redis URL may hold a password.
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<set>"))
            .field("session_capacity", &self.session_capacity)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl Default for Settings {
    /// Any free port, sessions in memory, the default capacity and request timeout.
    fn default() -> Self {
        Self {
            port: 0,
            redis_url: None,
            session_capacity: Self::DEFAULT_SESSION_CAPACITY,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl Settings {
    /// How many sessions the in-memory store holds when `SESSION_CAPACITY` is not set.
    pub const DEFAULT_SESSION_CAPACITY: u64 = 10_000;

    /// How long a request may take when `REQUEST_TIMEOUT_SECS` is not set: longer than a
    /// publish that Beams does not answer (the client gives up after 10 s).
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// Reads `PORT` (default `default_port`), `REDIS_URL`, `SESSION_CAPACITY` and
    /// `REQUEST_TIMEOUT_SECS`; blank variables count as unset.
    pub fn from_env(default_port: u16) -> Result<Self, Error> {
        let number = |name, default: u64| match env_var(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| Error::new(format!("{name} must be a number (got {v:?})"))),
        };
        let port = number("PORT", u64::from(default_port))?;
        Ok(Self {
            port: u16::try_from(port)
                .map_err(|_| Error::new(format!("PORT must be at most 65535 (got {port})")))?,
            redis_url: env_var("REDIS_URL"),
            session_capacity: number("SESSION_CAPACITY", Self::DEFAULT_SESSION_CAPACITY)?,
            request_timeout: Duration::from_secs(
                number(
                    "REQUEST_TIMEOUT_SECS",
                    Self::DEFAULT_REQUEST_TIMEOUT.as_secs(),
                )?
                .max(1),
            ),
        })
    }
}

/// An environment variable that is set and not blank.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Logs to stderr (stdout carries only the `listening on` line), filtered by `RUST_LOG`
/// (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Why an example app could not start: a setting it cannot use, a port it cannot bind, a
/// store or emulator that would not start. Shown as its message alone, so that `main` can
/// return it.
///
/// ```
/// let error = example_support::Error::new("PORT must be a number");
/// assert_eq!(format!("{error:?}"), "PORT must be a number");
/// ```
pub struct Error(String);

impl Error {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self(error.to_string())
    }
}
