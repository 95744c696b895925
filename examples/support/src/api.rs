//! What the two apps' routes share besides their framework: the forms they read, the session
//! key of the logged-in user, the checks on state-changing requests, and the shape of their
//! error answers, `{"error":"<reason>","description":"…"}`, as the Beams auth route answers.
//!
//! How an [`ApiError`] becomes a response is in the `axum` and `actix` modules.

use beams_core::publish::{Notification, PublishError};
use http::StatusCode;
use serde::Deserialize;

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

/// `POST /notify`'s form, both fields optional.
#[derive(Debug, Default, Deserialize)]
pub struct NotifyForm {
    /// The notification's title.
    pub title: Option<String>,
    /// The notification's body.
    pub body: Option<String>,
}

impl NotifyForm {
    /// The notification to publish (see [`notification`](crate::notification)).
    pub fn notification(&self) -> Notification {
        crate::notification(self.title.as_deref(), self.body.as_deref())
    }
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
