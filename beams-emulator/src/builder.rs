//! Configuration: [`EmulatorBuilder`], which builds an [`EmulatorState`] or starts an
//! [`Emulator`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::emulator::Emulator;
use crate::error::{BuildError, StartError};
use crate::limits::Limits;
use crate::model::WebhookTarget;
use crate::state::{EmulatorState, Secret, Settings};

/// A valid P-256 public key (the curve's generator point, uncompressed, base64url): browsers accept
/// it as an `applicationServerKey`. Nothing is ever pushed with it.
pub(crate) const DEFAULT_VAPID_PUBLIC_KEY: &str =
    "BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";

impl Emulator {
    /// Start configuring an emulator: [`EmulatorBuilder::start`] runs it.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configuration of an [`Emulator`]; every setting is optional.
///
/// ```
/// use beams_emulator::Emulator;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), beams_emulator::StartError> {
/// let emu = Emulator::builder()
///     .instance_id("00000000-0000-4000-8000-000000000000")
///     .secret_key("MY-TEST-SECRET")
///     .port(0) // ephemeral: read it back with emu.port()
///     .rate_limit(Some(100)) // Beams' 100 requests per second
///     .sse_keep_alive(Duration::from_secs(5))
///     .start()
///     .await?;
/// assert_eq!(emu.state().instance_id(), "00000000-0000-4000-8000-000000000000");
/// assert!(emu.base_url().starts_with("http://127.0.0.1:"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct EmulatorBuilder {
    instance_id: Option<String>,
    secret_key: Option<String>,
    host: IpAddr,
    port: u16,
    rate_limit: Option<u32>,
    vapid_public_key: Option<String>,
    sse_keep_alive: Duration,
    jwt_leeway: Duration,
    limits: Limits,
    inspection_origins: Vec<String>,
    max_connections: usize,
    webhooks: Vec<WebhookTarget>,
    webhook_retry_scale: f64,
    issue_tokens: bool,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            instance_id: None,
            secret_key: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            rate_limit: None,
            vapid_public_key: None,
            sse_keep_alive: Duration::from_secs(15),
            jwt_leeway: Duration::ZERO,
            limits: Limits::default(),
            inspection_origins: Vec::new(),
            max_connections: crate::serve::DEFAULT_MAX_CONNECTIONS,
            webhooks: Vec::new(),
            webhook_retry_scale: 1.0,
            issue_tokens: false,
        }
    }
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("instance_id", &self.instance_id)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .field("host", &self.host)
            .field("port", &self.port)
            .field("rate_limit", &self.rate_limit)
            .field("sse_keep_alive", &self.sse_keep_alive)
            .field("jwt_leeway", &self.jwt_leeway)
            .field("limits", &self.limits)
            .field("inspection_origins", &self.inspection_origins)
            .field("max_connections", &self.max_connections)
            .field("webhooks", &self.webhooks)
            .field("webhook_retry_scale", &self.webhook_retry_scale)
            .field("issue_tokens", &self.issue_tokens)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// The instance id to serve (default: a generated UUID).
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// The secret key (default: 64 generated upper-case hex characters).
    pub fn secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.secret_key = Some(secret_key.into());
        self
    }

    /// The address to listen on (default `127.0.0.1`).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port to listen on (default 0: an ephemeral port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Limit the publish and customer APIs to this many requests per second, answering
    /// `429 "max N RPS"` beyond it (default: no limit; Beams' is 100).
    pub fn rate_limit(mut self, requests_per_second: Option<u32>) -> Self {
        self.rate_limit = requests_per_second;
        self
    }

    /// The VAPID public key served to web SDKs (base64url of an uncompressed P-256 point; default:
    /// a valid fixed key).
    pub fn vapid_public_key(mut self, key: impl Into<String>) -> Self {
        self.vapid_public_key = Some(key.into());
        self
    }

    /// How often event streams send a keep-alive comment (default 15 s).
    pub fn sse_keep_alive(mut self, interval: Duration) -> Self {
        self.sse_keep_alive = interval;
        self
    }

    /// Clock-skew tolerance for Beams Tokens' `exp`, `iat` and `nbf` (default zero, like Beams).
    pub fn jwt_leeway(mut self, leeway: Duration) -> Self {
        self.jwt_leeway = leeway;
        self
    }

    /// How much the emulator keeps (see [`Limits`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Lets web pages on `origin` (`scheme://host[:port]`, e.g. the demo app's
    /// `http://127.0.0.1:3000`) use the inspection API under `/_emulator/`. Without it only
    /// same-origin and non-browser clients may: the inspection API shows every notification,
    /// user id and push token, and can inject faults or reset the emulator. Call once per
    /// origin. The device and reporting APIs stay open to every origin, as Beams' are.
    pub fn inspection_origin(mut self, origin: impl Into<String>) -> Self {
        self.inspection_origins.push(origin.into());
        self
    }

    /// Serves `GET /_emulator/users/{user}/token`: a Beams Token for any user, signed with
    /// the emulator's secret, for clients tested without a backend (a mobile app, a curl
    /// walk). Off by default: whoever can reach the emulator could then attach a device to
    /// any user, which is what the device API's token check is there to prevent.
    pub fn issue_tokens(mut self, issue: bool) -> Self {
        self.issue_tokens = issue;
        self
    }

    /// Calls `target` with Beams' webhook events: `v1.PublishToUsersAttempt` after each
    /// publish to users, computed from the emulator's devices, and
    /// `v1.UserNotificationAcknowledgement` / `v1.UserNotificationOpen` for each reporting-API
    /// `delivery` / `open` event with a `userId`. Signed with the target's secret, retried as
    /// Beams retries (see [`webhook_retry_scale`](Self::webhook_retry_scale)), every attempt
    /// recorded ([`EmulatorState::webhook_attempts`], `GET /_emulator/webhooks`). Call once
    /// per webhook.
    pub fn webhook(mut self, target: WebhookTarget) -> Self {
        self.webhooks.push(target);
        self
    }

    /// Multiplies Beams' webhook retry delays of 10, 30, 120 and 300 seconds (default 1; tests
    /// use e.g. 0.001 for 10, 30, 120 and 300 ms). The 3-second answer budget stays. A
    /// negative or non-finite scale is refused by [`build_state`](Self::build_state).
    pub fn webhook_retry_scale(mut self, scale: f64) -> Self {
        self.webhook_retry_scale = scale;
        self
    }

    /// The most connections served at once (default 1024); at the limit the server stops
    /// accepting until one ends. Zero is refused by [`start`](Self::start).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// A new random instance id, as the builder generates when none is given: a UUID v4,
    /// lower-case and hyphenated, as Beams instance ids are.
    ///
    /// ```
    /// use beams_emulator::EmulatorBuilder;
    ///
    /// assert_eq!(EmulatorBuilder::generate_instance_id().len(), 36);
    /// ```
    pub fn generate_instance_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// A new random secret key, as the builder generates when none is given: 64 upper-case hex
    /// characters, as Beams secret keys look.
    ///
    /// ```
    /// use beams_emulator::EmulatorBuilder;
    ///
    /// let secret = EmulatorBuilder::generate_secret_key();
    /// assert_eq!(secret.len(), 64);
    /// assert_ne!(secret, EmulatorBuilder::generate_secret_key());
    /// ```
    pub fn generate_secret_key() -> String {
        // UUID v4s come from the OS's secure RNG; keep only their random nibbles (skip the
        // version nibble at 12 and the variant nibble at 16).
        let mut out = String::with_capacity(64);
        while out.len() < 64 {
            let hex = uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .to_ascii_uppercase();
            for (i, c) in hex.chars().enumerate() {
                if i != 12 && i != 16 && out.len() < 64 {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Build the state without starting a server, to serve [`router`](crate::router)
    /// yourself. The host, port and connection limit apply only to [`start`](Self::start).
    ///
    /// ```
    /// use beams_emulator::Emulator;
    ///
    /// let state = Emulator::builder().instance_id("my-instance").build_state()?;
    /// assert_eq!(state.instance_id(), "my-instance");
    /// let app: axum::Router = beams_emulator::router(state); // serve it where you like
    /// # let _ = app;
    /// # Ok::<(), beams_emulator::BuildError>(())
    /// ```
    pub fn build_state(self) -> Result<EmulatorState, BuildError> {
        let instance_id = self.instance_id.unwrap_or_else(Self::generate_instance_id);
        if instance_id.is_empty()
            || !instance_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(BuildError::InvalidInstanceId(instance_id));
        }
        if !(self.webhook_retry_scale.is_finite() && self.webhook_retry_scale >= 0.0) {
            return Err(BuildError::InvalidWebhookRetryScale);
        }
        let secret = self.secret_key.unwrap_or_else(Self::generate_secret_key);
        if secret.is_empty() || !secret.chars().all(|c| c.is_ascii_graphic()) {
            return Err(BuildError::InvalidSecretKey);
        }
        let settings = Settings {
            instance_id,
            secret: Secret(secret),
            vapid_public_key: self
                .vapid_public_key
                .unwrap_or_else(|| DEFAULT_VAPID_PUBLIC_KEY.to_owned()),
            sse_keep_alive: self.sse_keep_alive.max(Duration::from_millis(10)),
            jwt_leeway_secs: i64::try_from(self.jwt_leeway.as_secs()).unwrap_or(i64::MAX),
            limits: self.limits,
            webhooks: self.webhooks,
            webhook_retry_scale: self.webhook_retry_scale,
            issue_tokens: self.issue_tokens,
            inspection_origins: self
                .inspection_origins
                .into_iter()
                .map(|o| validate_origin(&o).ok_or(BuildError::InvalidOrigin(o)))
                .collect::<Result<_, _>>()?,
        };
        Ok(EmulatorState::new(settings, self.rate_limit))
    }

    /// Build the state, bind the address and start serving it (needs a Tokio runtime).
    pub async fn start(self) -> Result<Emulator, StartError> {
        let addr = SocketAddr::new(self.host, self.port);
        let max_connections = self.max_connections;
        if max_connections == 0 {
            return Err(BuildError::NoConnections.into());
        }
        let state = self.build_state()?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Emulator::spawn(state, listener, max_connections)
    }
}

/// `scheme://host[:port]`, lower-cased, without a trailing slash; `None` when it is not one.
fn validate_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let valid = matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    valid.then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_have_beams_shapes() {
        let secret = EmulatorBuilder::generate_secret_key();
        assert_eq!(secret.len(), 64);
        assert!(
            secret
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
        );
        assert_ne!(secret, EmulatorBuilder::generate_secret_key());
        let id = EmulatorBuilder::generate_instance_id();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
    }

    #[test]
    fn origins_are_validated_and_normalized() {
        assert_eq!(
            validate_origin("HTTP://127.0.0.1:3000/").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        for bad in [
            "127.0.0.1:3000",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://a b",
            "*",
        ] {
            assert_eq!(validate_origin(bad), None, "{bad}");
        }
        let err = EmulatorBuilder::default()
            .inspection_origin("*")
            .build_state()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidOrigin(_)));
    }

    #[test]
    fn rejects_bad_configuration_without_echoing_the_secret() {
        let err = EmulatorBuilder::default()
            .instance_id("a.b")
            .build_state()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidInstanceId(_)));
        let err = EmulatorBuilder::default()
            .secret_key("has space")
            .build_state()
            .unwrap_err();
        assert!(!err.to_string().contains("has space"));
        let debug = format!("{:?}", EmulatorBuilder::default().secret_key("TOPSECRET"));
        assert!(!debug.contains("TOPSECRET"));
    }
}
