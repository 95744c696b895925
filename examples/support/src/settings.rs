//! What the example apps read from the environment, how they log, and how they fail to start.

use std::net::SocketAddr;
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
    /// `METRICS_ADDR` (e.g. `127.0.0.1:9464`): serve Prometheus text at `GET /metrics` on this
    /// address, apart from the app's port. Unset: no metrics recorder at all.
    pub metrics_addr: Option<SocketAddr>,
    /// `OUTBOX_CLAIM_IDLE_SECS` (with `REDIS_URL`): how long a publish taken by a replica may
    /// go without news before another replica's outbox worker takes it over.
    pub outbox_claim_idle: Duration,
    /// `OUTBOX_MAX_AGE_SECS` (with `REDIS_URL`): how long the outbox keeps trying a publish
    /// that Beams answers with 5xx (or not at all) before it is given up as dead.
    pub outbox_max_age: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("port", &self.port)
            // A Redis URL may hold a password.
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<set>"))
            .field("session_capacity", &self.session_capacity)
            .field("request_timeout", &self.request_timeout)
            .field("metrics_addr", &self.metrics_addr)
            .field("outbox_claim_idle", &self.outbox_claim_idle)
            .field("outbox_max_age", &self.outbox_max_age)
            .finish()
    }
}

impl Default for Settings {
    /// Any free port, sessions in memory, the default capacity, request timeout and outbox
    /// settings, no metrics.
    fn default() -> Self {
        Self {
            port: 0,
            redis_url: None,
            session_capacity: Self::DEFAULT_SESSION_CAPACITY,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            metrics_addr: None,
            outbox_claim_idle: Self::DEFAULT_OUTBOX_CLAIM_IDLE,
            outbox_max_age: Self::DEFAULT_OUTBOX_MAX_AGE,
        }
    }
}

impl Settings {
    /// How many sessions the in-memory store holds when `SESSION_CAPACITY` is not set.
    pub const DEFAULT_SESSION_CAPACITY: u64 = 10_000;

    /// How long a request may take when `REQUEST_TIMEOUT_SECS` is not set: longer than a
    /// publish that Beams does not answer (the client gives up after 10 s).
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// How long an outbox entry may go without news before another replica takes it over,
    /// when `OUTBOX_CLAIM_IDLE_SECS` is not set.
    pub const DEFAULT_OUTBOX_CLAIM_IDLE: Duration = Duration::from_secs(30);

    /// How long the outbox keeps retrying a publish, when `OUTBOX_MAX_AGE_SECS` is not set.
    pub const DEFAULT_OUTBOX_MAX_AGE: Duration = Duration::from_secs(86_400);

    /// Reads `PORT` (default `default_port`), `REDIS_URL`, `SESSION_CAPACITY`,
    /// `REQUEST_TIMEOUT_SECS`, `METRICS_ADDR`, `OUTBOX_CLAIM_IDLE_SECS` and
    /// `OUTBOX_MAX_AGE_SECS`; blank variables count as unset.
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
            metrics_addr: env_var("METRICS_ADDR")
                .map(|v| parse_metrics_addr(&v))
                .transpose()?,
            outbox_claim_idle: seconds(
                "OUTBOX_CLAIM_IDLE_SECS",
                env_var("OUTBOX_CLAIM_IDLE_SECS").as_deref(),
                Self::DEFAULT_OUTBOX_CLAIM_IDLE,
            )?,
            outbox_max_age: seconds(
                "OUTBOX_MAX_AGE_SECS",
                env_var("OUTBOX_MAX_AGE_SECS").as_deref(),
                Self::DEFAULT_OUTBOX_MAX_AGE,
            )?,
        })
    }
}

/// The longest duration a `*_SECS` outbox setting takes: a year.
pub const MAX_OUTBOX_SECS: u64 = 366 * 86_400;

/// A duration setting `name` in whole seconds, from 1 to [`MAX_OUTBOX_SECS`]; `default` when
/// unset.
///
/// ```
/// use std::time::Duration;
/// use example_support::settings::seconds;
///
/// let default = Duration::from_secs(30);
/// assert_eq!(seconds("OUTBOX_CLAIM_IDLE_SECS", None, default).unwrap(), default);
/// assert_eq!(seconds("OUTBOX_CLAIM_IDLE_SECS", Some(" 5 "), default).unwrap().as_secs(), 5);
/// let error = seconds("OUTBOX_CLAIM_IDLE_SECS", Some("0"), default).unwrap_err();
/// assert!(error.to_string().starts_with("OUTBOX_CLAIM_IDLE_SECS must be"));
/// ```
pub fn seconds(name: &str, value: Option<&str>, default: Duration) -> Result<Duration, Error> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(secs @ 1..=MAX_OUTBOX_SECS) => Ok(Duration::from_secs(secs)),
        _ => Err(Error::new(format!(
            "{name} must be a whole number of seconds from 1 to {MAX_OUTBOX_SECS} (got {value:?})"
        ))),
    }
}

/// `METRICS_ADDR`'s value: an IP address and a port other than 0 (the address is announced,
/// so it must be the one served).
///
/// ```
/// use example_support::settings::parse_metrics_addr;
///
/// assert_eq!(parse_metrics_addr(" 127.0.0.1:9464 ").unwrap().port(), 9464);
/// let error = parse_metrics_addr("localhost").unwrap_err();
/// assert!(error.to_string().contains("METRICS_ADDR"));
/// ```
pub fn parse_metrics_addr(value: &str) -> Result<SocketAddr, Error> {
    let bad = |why: &str| {
        Error::new(format!(
            "METRICS_ADDR must be an IP address and a port, such as 127.0.0.1:9464{why} (got {value:?})"
        ))
    };
    let addr = value.trim().parse::<SocketAddr>().map_err(|_| bad(""))?;
    if addr.port() == 0 {
        return Err(bad(", with a port other than 0"));
    }
    Ok(addr)
}

/// An environment variable that is set and not blank.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The log filter without `RUST_LOG`: `info`, except the session middlewares' warning for every
/// request whose session cookie is malformed or fails its checks (tower-sessions' "possibly
/// suspicious activity", actix-session's "failed to pass cryptographic checks"). A client can
/// send one per request, so at the default level they would let anyone fill the log; the
/// request itself is answered as logged out. `RUST_LOG=info` shows them again.
pub const DEFAULT_LOG_FILTER: &str =
    "info,tower_sessions::service=error,actix_session::middleware=error";

/// Logs to stderr (stdout carries only the `listening on` line), filtered by `RUST_LOG`
/// (default [`DEFAULT_LOG_FILTER`]).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
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

#[cfg(test)]
mod tests {
    use super::{parse_metrics_addr, seconds};
    use std::time::Duration;

    #[test]
    fn outbox_durations_are_whole_positive_seconds() {
        let default = Duration::from_secs(7);
        assert_eq!(seconds("X_SECS", None, default).unwrap(), default);
        assert_eq!(
            seconds("X_SECS", Some("86400"), default).unwrap(),
            Duration::from_secs(86_400)
        );
        for bad in [
            "0",
            "-1",
            "1.5",
            "abc",
            "30s",
            "99999999999999999999",
            "31622401",
        ] {
            let error = seconds("X_SECS", Some(bad), default)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("X_SECS must be"), "{error}");
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn metrics_addr_takes_ipv4_and_ipv6_with_a_port() {
        assert_eq!(
            parse_metrics_addr("127.0.0.1:9464").unwrap().to_string(),
            "127.0.0.1:9464"
        );
        assert_eq!(
            parse_metrics_addr("[::1]:9464").unwrap().to_string(),
            "[::1]:9464"
        );
    }

    #[test]
    fn a_bad_metrics_addr_is_named_with_what_was_given() {
        for bad in [
            "9464",
            "localhost:9464",
            "127.0.0.1",
            "127.0.0.1:99999",
            "http://127.0.0.1:9464",
        ] {
            let error = parse_metrics_addr(bad).unwrap_err().to_string();
            assert!(error.starts_with("METRICS_ADDR must be"), "{error}");
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        let error = parse_metrics_addr("127.0.0.1:0").unwrap_err().to_string();
        assert!(error.contains("a port other than 0"), "{error}");
    }
}
