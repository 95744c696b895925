//! The one place the route's responses are built.

use std::sync::LazyLock;

use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, HeaderName, Response, StatusCode};

use crate::{TokenError, TokenIssuer, UserId};

static NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");

/// The headers of every response of the route, built once: cloning the finished map copies
/// two small tables, where building it would allocate and hash three names per response.
/// Room for a fourth header (`Allow` on a 405, `Retry-After` on a 503).
static HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(NOSNIFF.clone(), HeaderValue::from_static("nosniff"));
    headers
});

/// A JSON response with the route's headers.
pub(super) fn json(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = HEADERS.clone();
    response
}

/// `{"error":"<reason phrase>","description":"<sentence>"}`; `description` is one of our own
/// sentences, which need no JSON escaping.
pub(super) fn error_body(status: StatusCode, description: &str) -> String {
    let error = status.canonical_reason().unwrap_or("Error");
    let mut body = String::with_capacity(29 + error.len() + description.len());
    body.push_str("{\"error\":\"");
    body.push_str(error);
    body.push_str("\",\"description\":\"");
    body.push_str(description);
    body.push_str("\"}");
    body
}

pub(super) fn set_allow_get(response: &mut Response<String>) {
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET"));
}

pub(super) fn set_retry_after(response: &mut Response<String>, seconds: u32) {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
}

/// `200 {"token":"<jwt>"}` for `user`, expiring after the issuer's TTL. The token is written
/// straight into the body (the same bytes [`TokenIssuer::issue`] returns, without a copy).
pub(super) fn token(issuer: &TokenIssuer, user: &UserId) -> Result<Response<String>, TokenError> {
    let exp = issuer.expiry_at(std::time::SystemTime::now())?;
    let mut body = Vec::with_capacity(issuer.token_len_hint(user) + 12);
    body.extend_from_slice(b"{\"token\":\"");
    issuer.write_token(user, exp, &mut body);
    body.extend_from_slice(b"\"}");
    let body = String::from_utf8(body).expect("the body is ASCII");
    Ok(json(StatusCode::OK, body))
}
