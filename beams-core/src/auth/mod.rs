//! The auth route's decision, framework-neutral: from the request's method and query and the
//! host's [`SessionUser`] to a complete `http::Response`.
//!
//! Adapters run [`BeamsAuth::check_request`] (phase 1: the method, then the query), run the
//! host's extractor and hook only when it passes, then [`BeamsAuth::authorize`] or
//! [`BeamsAuth::extractor_rejected`] (phase 2) with the [`AuthRequest`] phase 1 returned.

mod query;
mod resolve;
mod response;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::{Method, Response, StatusCode};

pub use resolve::{ResolveUserId, SessionUser};

use crate::telemetry::{self, AuthOutcome, Stopwatch};
use crate::{ConfigError, Instance, TokenIssuer, UserId, UserIdError};

/// How long a client is asked to wait (`Retry-After`, seconds) when the session store is
/// unavailable.
const SESSION_RETRY_AFTER_SECS: u32 = 5;

/// Why the auth route refused to issue a token. Every rejection is answered with Beams' own
/// error shape, `{"error":"<reason phrase>","description":"<sentence>"}`, built by
/// [`to_response`](Self::to_response).
///
/// ```
/// use beams_core::AuthRejection;
///
/// let r = AuthRejection::UserMismatch;
/// assert_eq!(r.status(), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(
///     r.body_text(),
///     r#"{"error":"Unauthorized","description":"The requested user_id is not the logged-in user."}"#
/// );
/// let res = AuthRejection::SessionUnavailable.to_response();
/// assert_eq!(res.status(), 503);
/// assert_eq!(res.headers()["retry-after"], "5");
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
    /// No user is logged in.
    #[error("no user is logged in")]
    NotLoggedIn,
    /// The host's session extractor rejected the request; `status` is its rejection's.
    #[error("the session extractor failed with status {status}")]
    ExtractorRejected {
        /// The HTTP status of the extractor's own rejection.
        status: StatusCode,
    },
    /// The requested `user_id` differs from the logged-in user.
    #[error("the requested user_id is not the logged-in user")]
    UserMismatch,
    /// The host's session store could not be read.
    #[error("the session store is unavailable")]
    SessionUnavailable,
    /// The request used a method other than GET (or HEAD).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The token could not be signed (the system clock is unusable).
    #[error("the token could not be issued")]
    TokenFailed,
}

impl AuthRejection {
    /// The HTTP status of this rejection: 400, 401, 405, 503 or (never in practice) 500.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingUserId
            | Self::RepeatedUserId
            | Self::MalformedUserId
            | Self::InvalidUserId(_) => StatusCode::BAD_REQUEST,
            Self::NotLoggedIn | Self::ExtractorRejected { .. } | Self::UserMismatch => {
                StatusCode::UNAUTHORIZED
            }
            Self::SessionUnavailable => StatusCode::SERVICE_UNAVAILABLE,
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
            Self::InvalidUserId(UserIdError::NotUtf8(_)) => "user_id_not_utf8",
            Self::NotLoggedIn => "not_logged_in",
            Self::ExtractorRejected { .. } => "extractor_rejected",
            Self::UserMismatch => "user_mismatch",
            Self::SessionUnavailable => "session_unavailable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TokenFailed => "token_failed",
        }
    }

    /// The `outcome` label this rejection is counted under.
    fn outcome(&self) -> AuthOutcome {
        match self {
            Self::MissingUserId
            | Self::RepeatedUserId
            | Self::MalformedUserId
            | Self::InvalidUserId(_) => AuthOutcome::BadRequest,
            Self::NotLoggedIn | Self::ExtractorRejected { .. } | Self::UserMismatch => {
                AuthOutcome::Unauthorized
            }
            // A token that cannot be signed is a 500 that never happens in practice (an
            // unusable clock); it is counted with the other failures of ours to answer.
            Self::SessionUnavailable | Self::TokenFailed => AuthOutcome::Unavailable,
            Self::MethodNotAllowed => AuthOutcome::MethodNotAllowed,
        }
    }

    /// The human sentence of the JSON body's `description`.
    pub fn description(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
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
            Self::InvalidUserId(UserIdError::NotUtf8(_)) => {
                "The user_id query parameter must be valid UTF-8."
            }
            Self::NotLoggedIn => "You must be logged in to get a Beams Token.",
            Self::ExtractorRejected { .. } => "The login session could not be read.",
            Self::UserMismatch => "The requested user_id is not the logged-in user.",
            Self::SessionUnavailable => {
                "The login session is temporarily unavailable. Try again shortly."
            }
            Self::MethodNotAllowed => "Use GET to request a Beams Token.",
            Self::TokenFailed => "The Beams Token could not be issued.",
        })
    }

    /// The JSON body: `{"error":"<reason phrase>","description":"<sentence>"}`.
    pub fn body_text(&self) -> String {
        response::error_body(self.status(), &self.description())
    }

    /// The complete response: status, the route's headers, the JSON body, plus
    /// `Allow: GET` on a 405 and `Retry-After` on a 503.
    pub fn to_response(&self) -> Response<String> {
        let mut res = response::json(self.status(), self.body_text());
        match self {
            Self::MethodNotAllowed => response::set_allow_get(&mut res),
            Self::SessionUnavailable => {
                response::set_retry_after(&mut res, SESSION_RETRY_AFTER_SECS);
            }
            _ => {}
        }
        res
    }
}

/// The auth route: its path and a prepared [`TokenIssuer`]. Cheap to clone (an `Arc`).
///
/// Every response it builds, success or error, carries `Content-Type: application/json`,
/// `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`.
///
/// With the feature `metrics`, each request is counted once, where it is decided:
/// `beams_auth_requests_total{outcome}` (`issued`, `bad_request`, `unauthorized`,
/// `unavailable`, `method_not_allowed`) and the histogram `beams_auth_duration_seconds`, from
/// [`check_request`](Self::check_request) to the decision (the host's extractor and hook
/// included). A rejection in phase 1 is counted by `check_request`; every other request by
/// [`authorize`](Self::authorize) or [`extractor_rejected`](Self::extractor_rejected), which
/// consume the phase-1 [`AuthRequest`], so no request is counted twice.
///
/// ```
/// use beams_core::{BeamsAuth, Instance, SessionUser};
/// use http::Method;
///
/// let auth = BeamsAuth::new(&Instance::new("my-instance", "my-secret")?);
///
/// // Phase 1 needs only the method and the query: a bad one is answered before any
/// // session lookup.
/// let query = Some("user_id=john+test%40example.com");
/// let requested = auth.check_request(&Method::GET, query).unwrap();
/// assert_eq!(requested, "john+test@example.com"); // `+` stays a plus
/// let refused = auth.check_request(&Method::GET, Some("user_id=%ZZ")).unwrap_err();
/// assert_eq!(refused.to_response().status(), 400);
///
/// // Phase 2 compares with the host's logged-in user and issues the token.
/// let ok = auth.authorize(requested, SessionUser::LoggedIn("john+test@example.com".into()));
/// assert_eq!(ok.status(), 200);
/// assert!(ok.body().starts_with(r#"{"token":"eyJ"#));
/// assert_eq!(ok.headers()["cache-control"], "no-store");
///
/// let requested = auth.check_request(&Method::GET, query).unwrap();
/// let other = auth.authorize(requested, SessionUser::LoggedIn("alice".into()));
/// assert_eq!(other.status(), 401);
/// # Ok::<(), beams_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct BeamsAuth {
    inner: Arc<Inner>,
}

struct Inner {
    path: Box<str>,
    issuer: TokenIssuer,
}

impl fmt::Debug for BeamsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeamsAuth")
            .field("path", &self.inner.path)
            .field("issuer", &self.inner.issuer)
            .finish()
    }
}

impl BeamsAuth {
    /// The default path of the route: `/pusher/beams-auth`.
    pub const DEFAULT_PATH: &str = "/pusher/beams-auth";

    /// The route for `instance` at [`DEFAULT_PATH`](Self::DEFAULT_PATH), issuing tokens that
    /// live 24 hours.
    pub fn new(instance: &Instance) -> Self {
        Self::from_parts(Self::DEFAULT_PATH.into(), TokenIssuer::new(instance))
    }

    /// Starts a builder to change the path or the token lifetime.
    ///
    /// ```
    /// use beams_core::{BeamsAuth, Instance};
    /// use std::time::Duration;
    ///
    /// let instance = Instance::new("my-instance", "my-secret")?;
    /// let auth = BeamsAuth::builder(&instance)
    ///     .path("/api/beams-token")
    ///     .token_ttl(Duration::from_secs(3600))
    ///     .build()?;
    /// assert_eq!(auth.path(), "/api/beams-token");
    /// assert_eq!(auth.issuer().ttl(), Duration::from_secs(3600));
    /// assert!(BeamsAuth::builder(&instance).path("no-slash").build().is_err());
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn builder(instance: &Instance) -> BeamsAuthBuilder {
        BeamsAuthBuilder {
            issuer: TokenIssuer::new(instance),
            path: Self::DEFAULT_PATH.to_owned(),
            ttl: None,
        }
    }

    fn from_parts(path: Box<str>, issuer: TokenIssuer) -> Self {
        Self {
            inner: Arc::new(Inner { path, issuer }),
        }
    }

    /// The route's path (default `/pusher/beams-auth`).
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The token issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    /// Phase 1, from the method and the raw query (without the `?`) alone: the
    /// [`AuthRequest`] for the requested user, or the rejection to answer with at once (`405`
    /// for a method other than GET and HEAD, then `400` for a bad `user_id`). Run the host's
    /// extractor only on `Ok`, then hand the `AuthRequest` to [`authorize`](Self::authorize)
    /// or [`extractor_rejected`](Self::extractor_rejected).
    ///
    /// Call it first, as the request arrives: with the feature `metrics` the request's
    /// duration is measured from here, and a rejection is counted here
    /// (`beams_auth_requests_total{outcome="method_not_allowed"}` or `"bad_request"`).
    ///
    /// ```
    /// use beams_core::{AuthRejection, BeamsAuth, Instance};
    /// use http::Method;
    ///
    /// let auth = BeamsAuth::new(&Instance::new("my-instance", "my-secret")?);
    /// assert_eq!(auth.check_request(&Method::GET, Some("user_id=alice")).unwrap(), "alice");
    /// assert_eq!(auth.check_request(&Method::POST, Some("user_id=alice")).unwrap_err(), AuthRejection::MethodNotAllowed);
    /// assert_eq!(auth.check_request(&Method::GET, None).unwrap_err(), AuthRejection::MissingUserId);
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn check_request(
        &self,
        method: &Method,
        query: Option<&str>,
    ) -> Result<AuthRequest, AuthRejection> {
        let started = Stopwatch::start();
        let checked = if method == Method::GET || method == Method::HEAD {
            query::user_id_from_query(query)
        } else {
            Err(AuthRejection::MethodNotAllowed)
        };
        match checked {
            Ok(user) => Ok(AuthRequest { user, started }),
            Err(rejection) => {
                log_rejection(&rejection);
                telemetry::auth_decided(rejection.outcome(), started);
                Err(rejection)
            }
        }
    }

    /// Phase 2: the response for the `requested` user (from
    /// [`check_request`](Self::check_request)) given what the host's session says: a token
    /// for the logged-in user it names, else the rejection's response.
    ///
    /// With the feature `metrics` it counts the request (`issued`, `unauthorized` for a
    /// logged-out session or another user, `unavailable` when the session store could not be
    /// read) and records its duration since `check_request`.
    ///
    /// ```
    /// use beams_core::{BeamsAuth, Instance, SessionUser};
    /// use http::Method;
    ///
    /// let auth = BeamsAuth::new(&Instance::new("my-instance", "my-secret")?);
    /// let requested = auth.check_request(&Method::GET, Some("user_id=alice")).unwrap();
    /// let res = auth.authorize(requested, SessionUser::LoggedOut);
    /// assert_eq!(res.status(), 401);
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn authorize(&self, requested: AuthRequest, session: SessionUser) -> Response<String> {
        let AuthRequest {
            user: requested,
            started,
        } = requested;
        let rejection = match session {
            SessionUser::LoggedIn(user) if user == requested.as_str() => {
                match response::token(&self.inner.issuer, &requested) {
                    Ok(res) => {
                        tracing::debug!(target: "beams::auth", outcome = "issued", user_id = requested.as_str());
                        telemetry::auth_decided(AuthOutcome::Issued, started);
                        return res;
                    }
                    Err(error) => {
                        tracing::error!(target: "beams::auth", outcome = "token_failed", %error);
                        AuthRejection::TokenFailed
                    }
                }
            }
            SessionUser::LoggedIn(_) => AuthRejection::UserMismatch,
            SessionUser::LoggedOut => AuthRejection::NotLoggedIn,
            SessionUser::Unavailable(reason) => {
                // `?reason`: the store's own text is escaped, so it cannot forge log lines.
                tracing::warn!(
                    target: "beams::auth",
                    outcome = "session_unavailable",
                    ?reason,
                    "the session store could not be read; answering 503"
                );
                AuthRejection::SessionUnavailable
            }
        };
        log_rejection(&rejection);
        telemetry::auth_decided(rejection.outcome(), started);
        rejection.to_response()
    }

    /// Phase 2 when the host's extractor itself failed (for adapters: the extractor runs
    /// before the hook, so there is no [`SessionUser`]): a `401`, logged at warn when the
    /// extractor's `status` is a 5xx (the host is misconfigured, e.g. its session layer is
    /// missing around the route) and at debug otherwise (credentials absent). `extractor`
    /// names the extractor's type. `reason` is its own message, logged (escaped) only for a
    /// 5xx: a 4xx rejection's text may echo the caller's credential ("invalid token: …").
    ///
    /// With the feature `metrics` it counts the request as `unauthorized` and records its
    /// duration since [`check_request`](Self::check_request).
    ///
    /// ```
    /// use beams_core::{BeamsAuth, Instance};
    /// use http::{Method, StatusCode};
    ///
    /// let auth = BeamsAuth::new(&Instance::new("my-instance", "my-secret")?);
    /// let requested = auth.check_request(&Method::GET, Some("user_id=alice")).unwrap();
    /// let res = auth.extractor_rejected(requested, StatusCode::INTERNAL_SERVER_ERROR, "my::Session", "missing session layer");
    /// assert_eq!(res.status(), 401);
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn extractor_rejected(
        &self,
        requested: AuthRequest,
        status: StatusCode,
        extractor: &str,
        reason: &str,
    ) -> Response<String> {
        if status.is_server_error() {
            tracing::warn!(
                target: "beams::auth",
                status = status.as_u16(),
                extractor,
                ?reason,
                "the session extractor failed; is the host's session layer installed around the Beams route?"
            );
        } else {
            tracing::debug!(target: "beams::auth", status = status.as_u16(), extractor, "the session extractor rejected the request");
        }
        let rejection = AuthRejection::ExtractorRejected { status };
        log_rejection(&rejection);
        telemetry::auth_decided(rejection.outcome(), requested.started);
        rejection.to_response()
    }
}

/// A request that passed phase 1 ([`BeamsAuth::check_request`]): the requested user, and
/// (feature `metrics`) when the request arrived. Hand it to [`BeamsAuth::authorize`] or
/// [`BeamsAuth::extractor_rejected`], which consume it: each request is decided, and
/// counted, once.
///
/// ```
/// use beams_core::{BeamsAuth, Instance, SessionUser};
/// use http::Method;
///
/// let auth = BeamsAuth::new(&Instance::new("my-instance", "my-secret")?);
/// let requested = auth.check_request(&Method::GET, Some("user_id=alice%40example.com")).unwrap();
/// assert_eq!(requested.user().as_str(), "alice@example.com");
/// assert_eq!(requested, "alice@example.com");
///
/// let res = auth.authorize(requested, SessionUser::LoggedIn("alice@example.com".into()));
/// assert_eq!(res.status(), 200);
/// # Ok::<(), beams_core::ConfigError>(())
/// ```
#[must_use = "hand it to BeamsAuth::authorize or BeamsAuth::extractor_rejected"]
pub struct AuthRequest {
    user: UserId,
    started: Stopwatch,
}

impl AuthRequest {
    /// The requested user (the query's decoded `user_id`).
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The requested user, taking it out of the request (nothing is counted).
    pub fn into_user(self) -> UserId {
        self.user
    }
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl PartialEq<str> for AuthRequest {
    fn eq(&self, other: &str) -> bool {
        self.user == *other
    }
}

impl PartialEq<&str> for AuthRequest {
    fn eq(&self, other: &&str) -> bool {
        self.user == **other
    }
}

/// A route path: starts with `/`, no query, fragment or whitespace.
pub(crate) fn valid_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains(['?', '#']) && !path.contains(char::is_whitespace)
}

fn log_rejection(rejection: &AuthRejection) {
    tracing::debug!(target: "beams::auth", outcome = rejection.kind(), status = rejection.status().as_u16());
}

/// Builder for [`BeamsAuth`]; [`build`](Self::build) validates the settings.
#[derive(Debug, Clone)]
#[must_use]
pub struct BeamsAuthBuilder {
    issuer: TokenIssuer,
    path: String,
    ttl: Option<std::time::Duration>,
}

impl BeamsAuthBuilder {
    /// The route's path (default `/pusher/beams-auth`): starts with `/`, no `?`, `#` or
    /// whitespace.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// How long issued tokens are valid: at least 1 second, at most 24 hours (the default).
    pub fn token_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Validates the settings and builds the route.
    pub fn build(self) -> Result<BeamsAuth, ConfigError> {
        let path = self.path;
        if !valid_path(&path) {
            return Err(ConfigError::InvalidPath(path));
        }
        let issuer = match self.ttl {
            Some(ttl) => self.issuer.checked_ttl(ttl)?,
            None => self.issuer,
        };
        Ok(BeamsAuth::from_parts(path.into_boxed_str(), issuer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> BeamsAuth {
        BeamsAuth::new(&Instance::new("inst", "secret").unwrap())
    }

    fn user(id: &str) -> UserId {
        UserId::new(id).unwrap()
    }

    fn requested(a: &BeamsAuth, id: &str) -> AuthRequest {
        a.check_request(&Method::GET, Some(&format!("user_id={id}")))
            .unwrap()
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
            AuthRejection::ExtractorRejected {
                status: StatusCode::INTERNAL_SERVER_ERROR,
            },
            AuthRejection::UserMismatch,
            AuthRejection::SessionUnavailable,
            AuthRejection::MethodNotAllowed,
            AuthRejection::TokenFailed,
        ];
        for r in all {
            let res = r.to_response();
            assert_eq!(res.status(), r.status());
            let v: serde_json::Value = serde_json::from_str(res.body()).unwrap();
            assert_eq!(v["error"], r.status().canonical_reason().unwrap());
            assert_eq!(v["description"], *r.description());
            assert_eq!(v.as_object().unwrap().len(), 2);
            assert_eq!(res.headers()["content-type"], "application/json");
            assert_eq!(res.headers()["cache-control"], "no-store");
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            assert_eq!(
                res.headers().get("allow").map(|v| v.to_str().unwrap()),
                (r == AuthRejection::MethodNotAllowed).then_some("GET")
            );
            assert_eq!(
                res.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap()),
                (r == AuthRejection::SessionUnavailable).then_some("5")
            );
        }
    }

    #[test]
    fn methods() {
        let a = auth();
        assert_eq!(
            a.check_request(&Method::GET, Some("user_id=a")).unwrap(),
            "a"
        );
        assert_eq!(
            a.check_request(&Method::HEAD, Some("user_id=a")).unwrap(),
            "a"
        );
        for m in [Method::POST, Method::PUT, Method::OPTIONS] {
            // The method is checked before the query.
            assert_eq!(
                a.check_request(&m, Some("user_id=%ZZ")).unwrap_err(),
                AuthRejection::MethodNotAllowed
            );
        }
    }

    #[test]
    fn session_outcomes() {
        let a = auth();
        let status = |s: SessionUser| a.authorize(requested(&a, "alice"), s).status();
        assert_eq!(status(SessionUser::LoggedIn("alice".into())), 200);
        assert_eq!(status(SessionUser::LoggedIn("Alice".into())), 401);
        assert_eq!(status(SessionUser::LoggedIn("alice ".into())), 401);
        assert_eq!(status(SessionUser::LoggedOut), 401);
        assert_eq!(status(SessionUser::Unavailable("down".into())), 503);
        for code in [StatusCode::UNAUTHORIZED, StatusCode::INTERNAL_SERVER_ERROR] {
            let res = a.extractor_rejected(
                requested(&a, "alice"),
                code,
                "test::Session",
                "layer missing",
            );
            assert_eq!(res.status(), 401);
            assert!(res.body().contains("could not be read"));
        }
    }

    #[test]
    fn hook_outputs_convert() {
        let io = || std::io::Error::other("down");
        assert_eq!(
            SessionUser::from(Ok::<_, std::io::Error>(Some("a".to_owned()))),
            SessionUser::LoggedIn("a".into())
        );
        assert_eq!(
            SessionUser::from(Ok::<Option<String>, _>(None).map_err(|()| io())),
            SessionUser::LoggedOut
        );
        assert_eq!(
            SessionUser::from(Err::<Option<String>, _>(io())),
            SessionUser::Unavailable("down".into())
        );
        assert_eq!(
            SessionUser::from(Some(user("u"))),
            SessionUser::LoggedIn("u".into())
        );
        assert_eq!(SessionUser::from(None::<&str>), SessionUser::LoggedOut);
    }

    #[test]
    fn builder_checks_path_and_ttl() {
        let instance = Instance::new("inst", "secret").unwrap();
        let b = || BeamsAuth::builder(&instance);
        assert_eq!(b().path("/beams").build().unwrap().path(), "/beams");
        for bad in ["beams", "/a?b", "/a#b", "/a b", ""] {
            assert!(
                matches!(b().path(bad).build(), Err(ConfigError::InvalidPath(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            b().token_ttl(std::time::Duration::ZERO).build(),
            Err(ConfigError::InvalidTokenTtl(_))
        ));
        assert_eq!(auth().path(), BeamsAuth::DEFAULT_PATH);
        assert!(!format!("{:?}", auth()).contains("secret"));
    }
}
