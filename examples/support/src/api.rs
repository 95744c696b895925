//! What the two apps' routes share besides their framework: the forms they read, the session
//! key of the logged-in user, the checks on state-changing requests, and the shape of their
//! error answers, `{"error":"<reason>","description":"…"}`, as the Beams auth route answers.
//!
//! With `REDIS_URL`, `POST /notify` goes through the outbox: [`NotifyForm::publish`] builds
//! what is enqueued, [`ApiError::outbox`] answers a failed enqueue or status read, and
//! [`status_body`] is `GET /notify/{id}`'s answer.
//!
//! How an [`ApiError`] becomes a response is in the `axum` and `actix` modules.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use beams_core::outbox::{OutboxError, Publish, Status};
use beams_core::publish::{Notification, PublishError, ValidationError};
use http::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The session key under which the logged-in user's id is stored.
pub const USER_KEY: &str = "user_id";

/// The largest form `POST /login` and `POST /notify` read; bigger ones get a `413`.
pub const FORM_LIMIT: usize = 16 * 1024;

/// `POST /login`'s form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// Who logs in (checked as a Beams user id).
    pub username: String,
}

/// The request header whose value makes a repeated `POST /notify` answer the first id.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The longest `Idempotency-Key` value, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// The longest `delay_secs`: a day.
pub const MAX_DELAY_SECS: u64 = 86_400;

/// `POST /notify`'s form, every field optional.
#[derive(Debug, Default, Deserialize)]
pub struct NotifyForm {
    /// The notification's title.
    pub title: Option<String>,
    /// The notification's body.
    pub body: Option<String>,
    /// With the outbox: send no earlier than this many seconds from now (0 to
    /// [`MAX_DELAY_SECS`]; blank counts as absent).
    pub delay_secs: Option<String>,
}

impl NotifyForm {
    /// The notification to publish (see [`notification`](crate::notification)).
    pub fn notification(&self) -> Notification {
        crate::notification(self.title.as_deref(), self.body.as_deref())
    }

    /// The notification to publish directly, without the outbox: `400` when the request asks
    /// for what only the outbox does (a delay or an idempotency key), rather than ignore it.
    pub fn direct(&self, idempotency_key: Option<&[u8]>) -> Result<Notification, ApiError> {
        if idempotency_key.is_some() || self.delay()?.is_some() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "delay_secs and Idempotency-Key need the outbox: start the app with REDIS_URL.",
            ));
        }
        Ok(self.notification())
    }

    /// What `user` enqueues: the notification to `user` alone, tagged with `user` (so that
    /// only they can read its status), delayed by `delay_secs`, under the `Idempotency-Key`
    /// header's value scoped to `user` (one user's key never answers another user's id).
    /// `400` for a delay or key out of bounds, or a notification Beams would refuse.
    ///
    /// ```
    /// use example_support::api::NotifyForm;
    ///
    /// let form = NotifyForm { delay_secs: Some("60".into()), ..NotifyForm::default() };
    /// let publish = form.publish("alice", Some(b"order-1".as_slice())).unwrap();
    /// assert_eq!(publish.batches(), 1);
    ///
    /// let late = NotifyForm { delay_secs: Some("86401".into()), ..NotifyForm::default() };
    /// assert_eq!(late.publish("alice", None).unwrap_err().status, 400);
    /// assert_eq!(form.publish("alice", Some(b"")).unwrap_err().status, 400);
    /// ```
    pub fn publish(&self, user: &str, idempotency_key: Option<&[u8]>) -> Result<Publish, ApiError> {
        let delay = self.delay()?;
        let key = idempotency_key
            .map(|key| scoped_key(user, key))
            .transpose()?;
        let mut publish = Publish::to_users([user], &self.notification())
            .map_err(|error| ApiError::invalid(&error))?
            .tag(user);
        if let Some(delay) = delay {
            publish = publish.delay(delay);
        }
        if let Some(key) = key {
            publish = publish.idempotency_key(key);
        }
        Ok(publish)
    }

    /// `delay_secs`, when given: `400` unless a whole number from 0 to [`MAX_DELAY_SECS`].
    pub fn delay(&self) -> Result<Option<Duration>, ApiError> {
        let Some(value) = self.delay_secs.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if value.is_empty() {
            return Ok(None);
        }
        match value.parse::<u64>() {
            Ok(secs) if secs <= MAX_DELAY_SECS => Ok(Some(Duration::from_secs(secs))),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("delay_secs must be a whole number of seconds from 0 to {MAX_DELAY_SECS}."),
            )),
        }
    }
}

/// The outbox's idempotency key for `user`'s `Idempotency-Key` header value `key`:
/// `notify:<user's digest>:<key>`. The user's SHA-256 (first 16 bytes, hex) stands in for the
/// user id, which may be any Unicode and up to 164 bytes, so that the key is printable ASCII
/// of bounded length and no (user, key) pair reads as another. `400` unless `key` is 1 to
/// [`MAX_IDEMPOTENCY_KEY_LEN`] printable ASCII characters.
pub fn scoped_key(user: &str, key: &[u8]) -> Result<String, ApiError> {
    let printable = key.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !printable {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters."
            ),
        ));
    }
    let digest = Sha256::digest(user.as_bytes());
    let mut scoped = String::from("notify:");
    for byte in &digest[..16] {
        let _ = write!(scoped, "{byte:02x}");
    }
    scoped.push(':');
    // Printable ASCII, checked above.
    scoped.push_str(&String::from_utf8_lossy(key));
    Ok(scoped)
}

/// `GET /notify/{id}`'s body for its owner: `state` (`queued`, `published` or `dead`),
/// `attempts`, and when known `publishId` (Beams' id, for `/delivery-report`), `error` (the
/// last error, as the JSON object the outbox keeps) and `nextAttempt` (when a queued publish
/// is next tried, in milliseconds since the Unix epoch).
pub fn status_body(status: &Status) -> serde_json::Value {
    let mut body = serde_json::json!({
        "state": status.state().as_str(),
        "attempts": status.attempts(),
    });
    if let Some(id) = status.publish_ids().iter().find(|id| !id.is_empty()) {
        body["publishId"] = id.as_str().into();
    }
    if let Some(error) = status.error() {
        body["error"] = error.to_json();
    }
    if let Some(at) = status.next_attempt() {
        let millis = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        body["nextAttempt"] = u64::try_from(millis).unwrap_or(u64::MAX).into();
    }
    body
}

/// `GET /delivery-report`'s query.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// The publish asked about.
    #[serde(rename = "publishId")]
    pub publish_id: String,
}

/// What a `503` answer's `Retry-After` says, in seconds (as the Beams auth route's).
pub const RETRY_AFTER_SECS: u32 = 5;

/// An error answer: `{"error":"<reason>","description":"…"}`, not cached; a `503` also
/// carries `Retry-After` ([`RETRY_AFTER_SECS`]).
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub description: String,
}

impl ApiError {
    /// An answer with `status` saying `description`.
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    /// A form that could not be read (`status` is the framework's): `413` when too large, else
    /// `400`, saying `what` to send.
    pub fn form(status: u16, what: &str) -> Self {
        let status = match status {
            413 => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, what)
    }

    /// `POST /login`'s username is not a Beams user id: `400`.
    pub fn username(error: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("The username is not a valid Beams user id: {error}."),
        )
    }

    /// Nobody is logged in: `401`, saying what logging in is needed for.
    pub fn not_logged_in(to: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            format!("You must be logged in to {to}."),
        )
    }

    /// A state-changing request from another site: `403`.
    pub fn cross_site() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Cross-site requests may not change the session or publish.",
        )
    }

    /// A request not complete within the request timeout: `408`.
    pub fn timed_out() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "The request was not complete in time.",
        )
    }

    /// The session store failed: `503` with `Retry-After`, in the words of the Beams auth
    /// route's own `503` (logged).
    pub fn session(error: impl std::fmt::Debug) -> Self {
        tracing::error!(?error, "the session store failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The login session is temporarily unavailable. Try again shortly.",
        )
    }

    /// A notification Beams would refuse: `400` saying why.
    pub fn invalid(error: &ValidationError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error.to_string())
    }

    /// The outbox could not do it: `503` with `Retry-After` when Redis is unavailable (logged;
    /// an enqueue answered so may or may not be stored, and a retry with the same
    /// `Idempotency-Key` is safe), else `400` saying what the request got wrong.
    pub fn outbox(error: &OutboxError) -> Self {
        if error.is_redis() {
            tracing::warn!(%error, "the outbox is unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The notification queue is unavailable. Try again shortly.",
            );
        }
        Self::new(StatusCode::BAD_REQUEST, error.to_string())
    }

    /// No notification of the logged-in user's has this id: `404`, whether the id is unknown,
    /// expired or someone else's.
    pub fn unknown_notification() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "You have no notification with this id.",
        )
    }

    /// The answer's `Retry-After`, in seconds: [`RETRY_AFTER_SECS`] for a `503`.
    pub fn retry_after(&self) -> Option<u32> {
        (self.status == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_SECS)
    }

    /// A publish failed: the status of [`notify_status`], Beams' description (logged).
    pub fn publish(error: &PublishError) -> Self {
        let status = notify_status(error);
        // Debug: Beams' own text is escaped, so it cannot forge log lines.
        tracing::warn!(?error, status, "publish failed");
        Self::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            error.to_string(),
        )
    }

    /// The answer's JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "description": self.description,
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.description)
    }
}

/// The status `POST /notify` answers with for a failed publish: 400 for input Beams would
/// refuse, 503 when the shared rate limit (Redis) could not be checked, 504 when Beams did
/// not answer in time, 502 for anything else Beams did.
pub fn notify_status(err: &PublishError) -> u16 {
    match err {
        PublishError::Validation(_) => 400,
        PublishError::Limiter(_) => 503,
        PublishError::Timeout { .. } => 504,
        _ => 502,
    }
}

/// Whether a state-changing request (`POST /login`, `/logout`, `/notify`) comes from another
/// site, which a browser tells in `Sec-Fetch-Site`, or else in `Origin`. Cookies alone cannot
/// tell: `SameSite` treats every port of one host as the same site, so a page on any other
/// local port could otherwise post forms with the user's session. Requests without either
/// header (curl, mobile apps, tests) are not from a browser page and pass.
///
/// ```
/// use example_support::api::is_cross_site;
///
/// assert!(!is_cross_site(Some(b"same-origin"), None, Some(b"127.0.0.1:3000")));
/// assert!(is_cross_site(Some(b"same-site"), None, Some(b"127.0.0.1:3000")));
/// assert!(is_cross_site(None, Some(b"http://127.0.0.1:4000"), Some(b"127.0.0.1:3000")));
/// assert!(!is_cross_site(None, Some(b"http://127.0.0.1:3000"), Some(b"127.0.0.1:3000")));
/// assert!(!is_cross_site(None, None, None));
/// ```
pub fn is_cross_site(
    sec_fetch_site: Option<&[u8]>,
    origin: Option<&[u8]>,
    host: Option<&[u8]>,
) -> bool {
    if let Some(site) = sec_fetch_site {
        return !matches!(site, b"same-origin" | b"none");
    }
    let Some(origin) = origin else {
        return false;
    };
    let own = host.is_some_and(|host| {
        [b"http://".as_slice(), b"https://"]
            .iter()
            .any(|scheme| origin.strip_prefix(*scheme) == Some(host))
    });
    !own
}
