//! The auth route's decision, framework-neutral: from the query and the session's user to a
//! complete `http::Response`.
//!
//! Adapters call [`BeamsAuth::check_request`] (phase 1: the method, then the query), run the
//! host's extractor and hook only when it passes, then call [`BeamsAuth::authorize`]
//! (phase 2). [`BeamsAuth::respond`] does both for callers that already know the session.

mod query;
mod resolve;

use std::fmt;
use std::sync::{Arc, LazyLock};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, HeaderName, Method, Response, StatusCode};

pub use query::{USER_ID_PARAM, user_id_from_query};
pub use resolve::ResolveUserId;

/// Percent-decodes a test header value (used by `test_util`).
#[cfg(feature = "test-util")]
pub(crate) fn percent_decode_for_tests(s: &str) -> Option<Vec<u8>> {
    query::percent_decode(s).map(std::borrow::Cow::into_owned)
}

use crate::{BeamsConfig, ConfigError, TokenIssuer, UserId, UserIdError};

/// Why the auth route refused to issue a token. Every rejection is answered with Beams' own
/// error shape, `{"error":"<reason phrase>","description":"<sentence>"}`.
///
/// ```
/// use beams_core::auth::AuthRejection;
///
/// let r = AuthRejection::UserMismatch;
/// assert_eq!(r.status(), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(
///     r.body_text(),
///     r#"{"error":"Unauthorized","description":"The requested user_id is not the logged-in user."}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The query has no `user_id` parameter.
    #[error("the user_id query parameter is missing")]
    MissingUserId,
    /// The query has more than one `user_id` parameter.
    #[error("the user_id query parameter appears more than once")]
    RepeatedUserId,
    /// `user_id` has a truncated or non-hex `%` escape.
    #[error("the user_id query parameter has a malformed %-escape")]
    MalformedUserId,
    /// `user_id` decodes to something that is not a valid user id.
    #[error("the user_id query parameter is invalid: {0}")]
    InvalidUserId(UserIdError),
    /// No user is logged in (the hook returned `None`).
    #[error("no user is logged in")]
    NotLoggedIn,
    /// The host's session extractor failed; `status` is the status of its rejection.
    #[error("the session extractor failed with status {status}")]
    SessionUnavailable {
        /// The HTTP status of the extractor's own rejection.
        status: u16,
    },
    /// The requested `user_id` differs from the logged-in user.
    #[error("the requested user_id is not the logged-in user")]
    UserMismatch,
    /// The request used a method other than GET (or HEAD).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The token could not be signed (the system clock is unusable).
    #[error("the token could not be issued")]
    TokenFailed,
}

impl AuthRejection {
    /// The HTTP status of this rejection: 400, 401, 405 or (never in practice) 500.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingUserId
            | Self::RepeatedUserId
            | Self::MalformedUserId
            | Self::InvalidUserId(_) => StatusCode::BAD_REQUEST,
            Self::NotLoggedIn | Self::SessionUnavailable { .. } | Self::UserMismatch => {
                StatusCode::UNAUTHORIZED
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TokenFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name of the outcome for logs and metrics (`"missing_user_id"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingUserId => "missing_user_id",
            Self::RepeatedUserId => "repeated_user_id",
            Self::MalformedUserId => "malformed_user_id",
            Self::InvalidUserId(UserIdError::Empty) => "empty_user_id",
            Self::InvalidUserId(UserIdError::TooLong(_)) => "user_id_too_long",
            Self::InvalidUserId(_) => "user_id_not_utf8",
            Self::NotLoggedIn => "not_logged_in",
            Self::SessionUnavailable { .. } => "session_unavailable",
            Self::UserMismatch => "user_mismatch",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TokenFailed => "token_failed",
        }
    }

    /// The human sentence of the JSON body's `description`.
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingUserId => "The user_id query parameter is required.",
            Self::RepeatedUserId => "The user_id query parameter must appear exactly once.",
            Self::MalformedUserId => {
                "The user_id query parameter has a malformed percent-encoding."
            }
            Self::InvalidUserId(UserIdError::Empty) => {
                "The user_id query parameter must not be empty."
            }
            Self::InvalidUserId(UserIdError::TooLong(_)) => {
                "The user_id query parameter must be at most 164 bytes of UTF-8."
            }
            Self::InvalidUserId(_) => "The user_id query parameter must be valid UTF-8.",
            Self::NotLoggedIn => "You must be logged in to get a Beams Token.",
            Self::SessionUnavailable { .. } => "The login session could not be read.",
            Self::UserMismatch => "The requested user_id is not the logged-in user.",
            Self::MethodNotAllowed => "Use GET to request a Beams Token.",
            Self::TokenFailed => "The Beams Token could not be issued.",
        }
    }

    /// The JSON body: `{"error":"<reason phrase>","description":"<sentence>"}`.
    pub fn body_text(&self) -> String {
        let status = self.status();
        let error = status.canonical_reason().unwrap_or("Error");
        let description = self.description();
        let mut body = String::with_capacity(29 + error.len() + description.len());
        body.push_str("{\"error\":\"");
        body.push_str(error);
        body.push_str("\",\"description\":\"");
        body.push_str(description);
        body.push_str("\"}");
        body
    }

    /// The complete response: status, [the route's headers](BeamsAuth), JSON body, and
    /// `Allow: GET` for 405.
    pub fn into_response(self) -> Response<String> {
        let mut response = json_response(self.status(), self.body_text());
        if self == Self::MethodNotAllowed {
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        }
        response
    }
}

/// What the host's session said about the caller, as seen by [`BeamsAuth::authorize`].
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum SessionState<'a> {
    /// This user is logged in.
    LoggedIn(&'a str),
    /// Nobody is logged in.
    LoggedOut,
    /// The host's extractor failed: its rejection's status and a description for the log.
    Unavailable {
        /// The status of the extractor's rejection (a 5xx means the host is misconfigured).
        status: u16,
        /// What the extractor said, logged at warn (5xx) or debug (4xx).
        error: &'a dyn fmt::Display,
    },
}

impl fmt::Debug for SessionState<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LoggedIn(user) => f.debug_tuple("LoggedIn").field(user).finish(),
            Self::LoggedOut => f.write_str("LoggedOut"),
            Self::Unavailable { status, error } => f
                .debug_struct("Unavailable")
                .field("status", status)
                .field("error", &format_args!("{error}"))
                .finish(),
        }
    }
}

impl<'a> From<Option<&'a str>> for SessionState<'a> {
    fn from(user: Option<&'a str>) -> Self {
        user.map_or(Self::LoggedOut, Self::LoggedIn)
    }
}

/// The auth route: configuration plus a prepared [`TokenIssuer`]. Cheap to clone (an `Arc`).
///
/// Every response it builds, success or error, carries `Content-Type: application/json`,
/// `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`.
///
/// ```
/// use beams_core::{BeamsAuth, BeamsConfig};
/// use beams_core::auth::SessionState;
///
/// let auth = BeamsAuth::new(BeamsConfig::new("my-instance", "my-secret")?);
///
/// let ok = auth.respond(Some("user_id=alice"), SessionState::LoggedIn("alice"));
/// assert_eq!(ok.status(), 200);
/// assert!(ok.body().starts_with(r#"{"token":"eyJ"#));
/// assert_eq!(ok.headers()["cache-control"], "no-store");
///
/// let other = auth.respond(Some("user_id=bob"), SessionState::LoggedIn("alice"));
/// assert_eq!(other.status(), 401);
///
/// let anonymous = auth.respond(Some("user_id=alice"), SessionState::LoggedOut);
/// assert_eq!(anonymous.status(), 401);
/// # Ok::<(), beams_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct BeamsAuth {
    inner: Arc<Inner>,
}

struct Inner {
    config: BeamsConfig,
    issuer: TokenIssuer,
}

impl fmt::Debug for BeamsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeamsAuth")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl BeamsAuth {
    /// Prepares the route for `config` (builds the token issuer once).
    pub fn new(config: BeamsConfig) -> Self {
        let issuer = TokenIssuer::new(&config);
        Self {
            inner: Arc::new(Inner { config, issuer }),
        }
    }

    /// Reads the configuration from `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` and `BEAMS_ENDPOINT`.
    pub fn from_env() -> Result<Self, ConfigError> {
        BeamsConfig::from_env().map(Self::new)
    }

    /// The configuration.
    pub fn config(&self) -> &BeamsConfig {
        &self.inner.config
    }

    /// The token issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// The route's path (default `/pusher/beams-auth`).
    pub fn path(&self) -> &str {
        self.inner.config.auth_path()
    }

    /// Phase 1: the requested user from the raw query (without the `?`), or the 400 to send.
    pub fn requested_user(&self, query: Option<&str>) -> Result<UserId, AuthRejection> {
        user_id_from_query(query)
    }

    /// Phase 1 as every adapter runs it: the method, then the query. `Ok` is the requested
    /// user (now run the host's extractor and [`authorize`](Self::authorize)); `Err` is the
    /// 405 or 400 to send as it is, before any extractor runs.
    ///
    /// ```
    /// use http::Method;
    /// # let auth = beams_core::test_util::auth();
    /// let requested = auth.check_request(&Method::GET, Some("user_id=alice")).unwrap();
    /// assert_eq!(requested.as_str(), "alice");
    /// assert_eq!(auth.check_request(&Method::POST, Some("user_id=alice")).unwrap_err().status(), 405);
    /// assert_eq!(auth.check_request(&Method::GET, Some("user_id=%ZZ")).unwrap_err().status(), 400);
    /// ```
    #[allow(
        clippy::result_large_err,
        reason = "the Err is the response to send, moved once; boxing would allocate for every 405 and 400"
    )]
    pub fn check_request(
        &self,
        method: &Method,
        query: Option<&str>,
    ) -> Result<UserId, Response<String>> {
        if let Some(not_allowed) = self.check_method(method) {
            return Err(not_allowed);
        }
        self.requested_user(query).map_err(reject)
    }

    /// Phase 2: checks the session against the requested user and issues the token.
    pub fn authorize(&self, requested: &UserId, session: SessionState<'_>) -> Response<String> {
        let outcome = match session {
            SessionState::LoggedIn(user) if user == requested.as_str() => {
                match token_body(&self.inner.issuer, requested) {
                    Ok(body) => {
                        tracing::debug!(target: "beams::auth", outcome = "issued", user_id = requested.as_str());
                        return json_response(StatusCode::OK, body);
                    }
                    Err(error) => {
                        tracing::error!(target: "beams::auth", outcome = "token_failed", %error);
                        AuthRejection::TokenFailed
                    }
                }
            }
            SessionState::LoggedIn(_) => AuthRejection::UserMismatch,
            SessionState::LoggedOut => AuthRejection::NotLoggedIn,
            SessionState::Unavailable { status, error } => {
                if status >= 500 {
                    tracing::warn!(
                        target: "beams::auth",
                        status,
                        %error,
                        "the session extractor failed; is the host's session layer installed around the Beams route?"
                    );
                } else {
                    tracing::debug!(target: "beams::auth", status, %error, "the session extractor rejected the request");
                }
                AuthRejection::SessionUnavailable { status }
            }
        };
        reject(outcome)
    }

    /// Both phases, for callers that already know the session.
    pub fn respond(&self, query: Option<&str>, session: SessionState<'_>) -> Response<String> {
        match self.requested_user(query) {
            Ok(requested) => self.authorize(&requested, session),
            Err(rejection) => reject(rejection),
        }
    }

    /// The response for a rejection from [`requested_user`](Self::requested_user) (or any
    /// other), logged at debug like every outcome of the route.
    ///
    /// ```
    /// # let auth = beams_core::test_util::auth();
    /// let res = match auth.requested_user(Some("user_id=%ZZ")) {
    ///     Ok(_) => unreachable!(),
    ///     Err(rejection) => auth.reject(rejection),
    /// };
    /// assert_eq!(res.status(), 400);
    /// ```
    pub fn reject(&self, rejection: AuthRejection) -> Response<String> {
        reject(rejection)
    }

    /// The 405 for methods other than GET and HEAD, or `None` when the method is allowed.
    pub fn check_method(&self, method: &Method) -> Option<Response<String>> {
        if method == Method::GET || method == Method::HEAD {
            None
        } else {
            Some(reject(AuthRejection::MethodNotAllowed))
        }
    }
}

/// Logs a rejection at debug and builds its response.
pub(crate) fn reject(rejection: AuthRejection) -> Response<String> {
    tracing::debug!(target: "beams::auth", outcome = rejection.kind(), status = rejection.status().as_u16());
    rejection.into_response()
}

/// `{"token":"<jwt>"}` for `user`, expiring after the issuer's TTL. The token is written
/// straight into the body (the same bytes [`TokenIssuer::issue`] returns, without a copy).
fn token_body(issuer: &TokenIssuer, user: &UserId) -> Result<String, crate::TokenError> {
    let exp = issuer.expiry_at(std::time::SystemTime::now())?;
    let mut body = Vec::with_capacity(issuer.token_len_hint(user) + 12);
    body.extend_from_slice(b"{\"token\":\"");
    issuer.write_token(user, exp, &mut body)?;
    body.extend_from_slice(b"\"}");
    Ok(String::from_utf8(body).expect("the body is ASCII"))
}

static NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");

/// The headers of every response of the route, built once: cloning the finished map copies
/// two small tables, where building it would allocate and hash three names per response.
/// Room for a fourth header (`Allow` on a 405).
static HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(NOSNIFF.clone(), HeaderValue::from_static("nosniff"));
    headers
});

fn json_response(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = HEADERS.clone();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> BeamsAuth {
        BeamsAuth::new(BeamsConfig::new("inst", "secret").unwrap())
    }

    #[test]
    fn every_rejection_is_beams_shaped_json_with_the_headers() {
        let all = [
            AuthRejection::MissingUserId,
            AuthRejection::RepeatedUserId,
            AuthRejection::MalformedUserId,
            AuthRejection::InvalidUserId(UserIdError::Empty),
            AuthRejection::InvalidUserId(UserIdError::TooLong(165)),
            AuthRejection::InvalidUserId(UserIdError::NotUtf8(0)),
            AuthRejection::NotLoggedIn,
            AuthRejection::SessionUnavailable { status: 500 },
            AuthRejection::UserMismatch,
            AuthRejection::MethodNotAllowed,
            AuthRejection::TokenFailed,
        ];
        for r in all {
            let res = r.clone().into_response();
            assert_eq!(res.status(), r.status());
            let v: serde_json::Value = serde_json::from_str(res.body()).unwrap();
            assert_eq!(v["error"], r.status().canonical_reason().unwrap());
            assert_eq!(v["description"], r.description());
            assert_eq!(v.as_object().unwrap().len(), 2);
            assert_eq!(res.headers()["content-type"], "application/json");
            assert_eq!(res.headers()["cache-control"], "no-store");
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            assert_eq!(
                res.headers().contains_key("allow"),
                r == AuthRejection::MethodNotAllowed
            );
        }
    }

    #[test]
    fn methods() {
        assert!(auth().check_method(&Method::GET).is_none());
        assert!(auth().check_method(&Method::HEAD).is_none());
        let res = auth().check_method(&Method::POST).unwrap();
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["allow"], "GET");
    }

    #[test]
    fn extractor_failure_is_401() {
        let err = "session layer missing";
        let res = auth().respond(
            Some("user_id=a"),
            SessionState::Unavailable {
                status: 500,
                error: &err,
            },
        );
        assert_eq!(res.status(), 401);
        assert!(res.body().contains("could not be read"));
    }

    #[test]
    fn exact_string_comparison() {
        let a = auth();
        assert_eq!(
            a.respond(Some("user_id=Alice"), SessionState::LoggedIn("alice"))
                .status(),
            401
        );
        assert_eq!(
            a.respond(Some("user_id=alice%20"), SessionState::LoggedIn("alice"))
                .status(),
            401
        );
        assert_eq!(
            a.respond(Some("user_id=alice"), SessionState::LoggedIn("alice"))
                .status(),
            200
        );
    }
}
