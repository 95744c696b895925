//! Errors of the publish client: local validation, Beams' answers, transport failures.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::Platform;
use crate::user_id::UserIdError;

/// Longest excerpt of a user-supplied value or of a response body kept in an error.
const SNIPPET_CHARS: usize = 200;

/// A boxed error usable as the source of [`PublishError::Network`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// When a [`PublishError::Network`] failure happened, which decides whether the request may
/// have reached Beams (and so whether retrying it could publish twice).
///
/// ```
/// use beams_core::publish::NetworkErrorKind;
///
/// assert!(NetworkErrorKind::Connect.nothing_sent());
/// assert!(!NetworkErrorKind::AfterConnect.nothing_sent());
/// assert_eq!(NetworkErrorKind::Connect.to_string(), "could not connect, nothing was sent");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkErrorKind {
    /// No connection could be made: nothing was sent, so a retry cannot duplicate.
    Connect,
    /// The connection failed after it was made: the request may have been delivered.
    AfterConnect,
}

impl NetworkErrorKind {
    /// Whether the request certainly never reached Beams.
    pub fn nothing_sent(self) -> bool {
        self == Self::Connect
    }
}

impl fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect, nothing was sent",
            Self::AfterConnect => "the request may have been delivered",
        })
    }
}

/// Why a publish or delete was refused locally, before any request was made.
///
/// Every variant about a list item names its index (0-based) and its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The interest list is empty.
    #[error("no interests given: a publish needs 1 to 100 interests")]
    NoInterests,
    /// More than 100 interests.
    #[error("{count} interests given: a publish takes at most 100")]
    TooManyInterests {
        /// How many were given.
        count: usize,
    },
    /// An interest is the empty string.
    #[error("interest #{index} is empty")]
    EmptyInterest {
        /// Its position in the list.
        index: usize,
    },
    /// An interest is longer than 164 characters.
    #[error("interest #{index} ({}) is {len} characters long: at most 164 are allowed", snippet(.interest))]
    InterestTooLong {
        /// Its position in the list.
        index: usize,
        /// The interest.
        interest: String,
        /// Its length in characters.
        len: usize,
    },
    /// An interest has a character outside `[A-Za-z0-9_\-=@,.;]`.
    #[error(
        "interest #{index} ({}) contains {found:?}: only ASCII letters, digits and _-=@,.; are allowed",
        snippet(.interest)
    )]
    InvalidInterestChar {
        /// Its position in the list.
        index: usize,
        /// The interest.
        interest: String,
        /// The first offending character.
        found: char,
    },
    /// The user list is empty.
    #[error("no users given: a publish needs 1 to 1000 users")]
    NoUsers,
    /// More than 1000 users (use [`FanOut`](super::FanOut) for more).
    #[error("{count} users given: a publish takes at most 1000 (use FanOut for more)")]
    TooManyUsers {
        /// How many were given.
        count: usize,
    },
    /// A user id in the list is not a valid user id.
    #[error("user #{index} ({}) is not a valid user id: {source}", snippet(.user))]
    InvalidUser {
        /// Its position in the list.
        index: usize,
        /// The user id.
        user: String,
        /// The rule it breaks.
        source: UserIdError,
    },
    /// A user id appears twice in the list (Beams answers 422 to that).
    #[error("user #{index} ({}) repeats user #{first_index}: user ids must be unique", snippet(.user))]
    DuplicateUser {
        /// Position of the repetition.
        index: usize,
        /// Position of the first occurrence.
        first_index: usize,
        /// The user id.
        user: String,
    },
    /// The user id given to `delete_user` is not a valid user id.
    #[error("{} is not a valid user id: {source}", snippet(.user))]
    InvalidUserId {
        /// The user id.
        user: String,
        /// The rule it breaks.
        source: UserIdError,
    },
    /// The notification has no `web`, `fcm` or `apns` payload.
    #[error("the notification has no payload: set at least one of web, fcm and apns")]
    NoPlatform,
    /// A raw platform payload is not a JSON object.
    #[error("the raw {platform} payload must be a JSON object")]
    PayloadNotObject {
        /// The platform.
        platform: Platform,
    },
    /// A platform's `data` is not a JSON object.
    #[error("the {platform} payload's data must be a JSON object")]
    DataNotObject {
        /// The platform.
        platform: Platform,
    },
    /// A value of the FCM payload's `data` is not a string: FCM's HTTP v1 API, which Beams
    /// delivers through, takes only strings there.
    #[error("the fcm payload's data.{key} must be a string (FCM takes only string values in data)")]
    FcmDataNotString {
        /// The key whose value is not a string.
        key: String,
    },
    /// The web payload's `data` has the key `pusher`, which Beams reserves.
    #[error("the web payload's data must not contain the key \"pusher\" (Beams reserves it)")]
    ReservedWebDataKey,
    /// The web payload's `time_to_live` is above 2 419 200 seconds (4 weeks).
    #[error("the web time_to_live is {0} seconds: at most 2419200 (4 weeks) is allowed")]
    WebTimeToLiveTooLong(u64),
    /// The serialized request body is larger than Beams accepts.
    #[error("the request body is {size} bytes: Beams accepts at most {limit} bytes here")]
    BodyTooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit: 10 KiB for interests, 200 KiB for users.
        limit: usize,
    },
}

/// The error part of a non-success answer from Beams: its status and its parsed
/// `{"error": …, "description": …}` body, or a short excerpt of a body that was not that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    error: Option<String>,
    description: Option<String>,
    body_snippet: Option<String>,
}

impl ApiError {
    /// An error as Beams would send it (for fakes and tests).
    ///
    /// ```
    /// use beams_core::publish::ApiError;
    /// use http::StatusCode;
    ///
    /// let e = ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Incorrect Secret Key");
    /// assert_eq!(e.to_string(), "401 Unauthorized: Unauthorized - Incorrect Secret Key");
    /// ```
    pub fn new(
        status: StatusCode,
        error: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error: Some(error.into()),
            description: Some(description.into()),
            body_snippet: None,
        }
    }

    /// Reads an error body of any shape: Beams' JSON, other JSON, HTML, text or nothing.
    ///
    /// ```
    /// use beams_core::publish::ApiError;
    /// use http::StatusCode;
    ///
    /// let e = ApiError::from_body(StatusCode::BAD_GATEWAY, b"<html>Bad gateway</html>");
    /// assert_eq!(e.error(), None);
    /// assert_eq!(e.body_snippet(), Some("<html>Bad gateway</html>"));
    /// let e = ApiError::from_body(StatusCode::NOT_FOUND, b"");
    /// assert_eq!(e.to_string(), "404 Not Found (empty body)");
    /// ```
    pub fn from_body(status: StatusCode, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Shape {
            error: Option<serde_json::Value>,
            description: Option<serde_json::Value>,
        }
        let as_text = |v: serde_json::Value| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() {
            return Self {
                status,
                error: None,
                description: None,
                body_snippet: None,
            };
        }
        if let Ok(shape) = serde_json::from_slice::<Shape>(trimmed)
            && (shape.error.is_some() || shape.description.is_some())
        {
            return Self {
                status,
                error: shape.error.map(as_text),
                description: shape.description.map(as_text),
                body_snippet: None,
            };
        }
        Self {
            status,
            error: None,
            description: None,
            body_snippet: Some(snippet(&String::from_utf8_lossy(trimmed))),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body's `error` field (a short title such as `Unauthorized`), when there was one.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The body's `description` field (a sentence), when there was one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The start of a body that was not Beams' error JSON (at most 200 characters).
    pub fn body_snippet(&self) -> Option<&str> {
        self.body_snippet.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        match (&self.error, &self.description, &self.body_snippet) {
            (Some(e), Some(d), _) => write!(f, ": {e} - {d}"),
            (Some(e), None, _) => write!(f, ": {e}"),
            (None, Some(d), _) => write!(f, ": {d}"),
            (None, None, Some(s)) => write!(f, " (body: {s:?})"),
            (None, None, None) => f.write_str(" (empty body)"),
        }
    }
}

impl std::error::Error for ApiError {}

/// Why a publish or delete failed.
///
/// Neither `Display` nor `Debug` ever shows the secret key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Refused locally before any request: see [`ValidationError`].
    #[error("invalid publish request: {0}")]
    Validation(#[from] ValidationError),
    /// 401 or 403: the secret key was refused (wrong, revoked or for another instance).
    #[error("Beams refused the secret key: {0}")]
    Unauthorized(ApiError),
    /// 404: the instance (or the resource) does not exist.
    #[error("Beams instance not found: {0}")]
    NotFound(ApiError),
    /// 400, 413 or 422: Beams rejected the payload (schema, size, duplicate users, …).
    #[error("Beams rejected the request: {0}")]
    Rejected(ApiError),
    /// 429: too many requests (Beams allows 100 per second), after any retries.
    #[error("rate limited by Beams{}: {error}", retry_after_text(.retry_after))]
    RateLimited {
        /// The wait the `Retry-After` header asked for, if it had a valid one.
        retry_after: Option<Duration>,
        /// The answer.
        error: ApiError,
    },
    /// 5xx: Beams failed (after retries for `delete_user`; a publish is never retried on 5xx).
    #[error("Beams server error: {0}")]
    Server(ApiError),
    /// 3xx: the endpoint answered with a redirect. Beams never redirects, so the redirect is
    /// not followed (it would re-send the user ids and the notification elsewhere).
    #[error("the Beams endpoint answered with a redirect, which is not followed: {0}")]
    Redirected(ApiError),
    /// 402: the instance is over its plan's limits (Beams documents this answer for the
    /// publish API); nothing was published until the plan changes.
    #[error("the Beams instance is over its plan's limits: {0}")]
    OverPlanLimits(ApiError),
    /// Any other non-success status.
    #[error("unexpected answer from Beams: {0}")]
    UnexpectedStatus(ApiError),
    /// No complete answer within the per-request timeout. The request may have been delivered.
    #[error("no answer from Beams within {timeout:?} (the request may have been delivered)")]
    Timeout {
        /// The per-request timeout that elapsed.
        timeout: Duration,
    },
    /// The connection failed; `kind` says whether the request may have reached Beams.
    #[error("network error talking to Beams ({kind}): {source}")]
    Network {
        /// When the failure happened: before anything was sent, or later.
        kind: NetworkErrorKind,
        /// The underlying error (without the URL).
        source: BoxError,
    },
    /// The rate limiter failed (its shared store is unreachable): nothing was sent.
    #[error("the rate limit could not be checked, nothing was sent: {0}")]
    Limiter(#[source] BoxError),
    /// A success status whose body is not `{"publishId": "…"}`.
    #[error("Beams answered {status} with an unreadable body ({snippet:?}): {source}")]
    Decode {
        /// The (successful) status.
        status: StatusCode,
        /// The start of the body (at most 200 characters).
        snippet: String,
        /// Why it could not be read.
        source: serde_json::Error,
    },
}

impl PublishError {
    /// Classifies a non-success answer. `retry_after` is the parsed `Retry-After` header.
    pub(crate) fn from_status(
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        let error = ApiError::from_body(status, body);
        match status.as_u16() {
            401 | 403 => Self::Unauthorized(error),
            402 => Self::OverPlanLimits(error),
            404 => Self::NotFound(error),
            400 | 413 | 422 => Self::Rejected(error),
            429 => Self::RateLimited { retry_after, error },
            300..=399 => Self::Redirected(error),
            500..=599 => Self::Server(error),
            _ => Self::UnexpectedStatus(error),
        }
    }

    /// The HTTP status Beams answered with, for errors that carry one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Decode { status, .. } => Some(*status),
            other => other.api_error().map(ApiError::status),
        }
    }

    /// Beams' error answer, for errors that carry one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Unauthorized(e)
            | Self::NotFound(e)
            | Self::Rejected(e)
            | Self::Server(e)
            | Self::Redirected(e)
            | Self::OverPlanLimits(e)
            | Self::UnexpectedStatus(e)
            | Self::RateLimited { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The `Retry-After` wait of a [`RateLimited`](Self::RateLimited) error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request was refused locally (nothing was sent).
    pub fn is_validation(&self) -> bool {
        matches!(self, Self::Validation(_))
    }
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {}s)", d.as_secs_f64()),
        None => String::new(),
    }
}

/// The first 200 characters of `s`, with `…` when cut.
pub(crate) fn snippet(s: &str) -> String {
    match s.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_bodies() {
        let e = ApiError::from_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":"Unprocessable Entity","description":"`users`: array items must be unique"}"#,
        );
        assert_eq!(e.error(), Some("Unprocessable Entity"));
        assert_eq!(e.description(), Some("`users`: array items must be unique"));
        assert_eq!(e.body_snippet(), None);

        let e = ApiError::from_body(StatusCode::BAD_REQUEST, br#"{"other":1}"#);
        assert_eq!(e.body_snippet(), Some(r#"{"other":1}"#));
        let e = ApiError::from_body(StatusCode::BAD_REQUEST, br#"{"error":42}"#);
        assert_eq!(e.error(), Some("42"));
        let e = ApiError::from_body(StatusCode::BAD_REQUEST, b"  \n ");
        assert_eq!(e.to_string(), "400 Bad Request (empty body)");

        let long = "x".repeat(10_000);
        let e = ApiError::from_body(StatusCode::BAD_GATEWAY, long.as_bytes());
        assert_eq!(e.body_snippet().unwrap().chars().count(), SNIPPET_CHARS + 1);
        let e = ApiError::from_body(StatusCode::BAD_GATEWAY, &[0xff, b'a']);
        assert_eq!(e.body_snippet(), Some("\u{fffd}a"));
    }

    #[test]
    fn snippet_cuts_on_char_boundaries() {
        assert_eq!(snippet("abc"), "abc");
        let s = "é".repeat(300);
        let cut = snippet(&s);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().count(), 201);
    }

    #[test]
    fn classification() {
        let class = |code: u16| {
            let e = PublishError::from_status(StatusCode::from_u16(code).unwrap(), None, b"");
            match e {
                PublishError::Unauthorized(_) => "unauthorized",
                PublishError::NotFound(_) => "not found",
                PublishError::Rejected(_) => "rejected",
                PublishError::RateLimited { .. } => "rate limited",
                PublishError::Server(_) => "server",
                PublishError::Redirected(_) => "redirected",
                PublishError::OverPlanLimits(_) => "over plan limits",
                PublishError::UnexpectedStatus(_) => "unexpected",
                _ => "other",
            }
        };
        assert_eq!(class(401), "unauthorized");
        assert_eq!(class(403), "unauthorized");
        assert_eq!(class(404), "not found");
        assert_eq!(class(400), "rejected");
        assert_eq!(class(422), "rejected");
        assert_eq!(class(413), "rejected");
        assert_eq!(class(429), "rate limited");
        assert_eq!(class(500), "server");
        assert_eq!(class(503), "server");
        assert_eq!(class(402), "over plan limits");
        assert_eq!(class(418), "unexpected");
        assert_eq!(class(302), "redirected");
        assert_eq!(class(307), "redirected");
    }

    #[test]
    fn messages() {
        let e = PublishError::from_status(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(2)),
            br#"{"error":"Too Many Requests","description":"max 100 RPS"}"#,
        );
        assert_eq!(
            e.to_string(),
            "rate limited by Beams (retry after 2s): 429 Too Many Requests: Too Many Requests - max 100 RPS"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(e.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        let e = ValidationError::InvalidInterestChar {
            index: 3,
            interest: "a:b".into(),
            found: ':',
        };
        assert_eq!(
            e.to_string(),
            "interest #3 (a:b) contains ':': only ASCII letters, digits and _-=@,.; are allowed"
        );
    }
}
