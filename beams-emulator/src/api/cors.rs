//! Who may call what from a browser: CORS for the open device and reporting APIs, and the
//! origin check (DNS rebinding included) that keeps web pages off the inspection API.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

use super::{ApiError, error};
use crate::state::EmulatorState;

/// The device and reporting APIs: browser pages on any origin call them, as Beams' own.
fn is_open_path(path: &str) -> bool {
    path.starts_with("/device_api/") || path.starts_with("/reporting_api/")
}

pub(super) fn is_inspection_path(path: &str) -> bool {
    path == "/_emulator" || path.starts_with("/_emulator/")
}

/// Which origin may read an answer.
pub(super) enum Cors {
    /// Any (`Access-Control-Allow-Origin: *`): the open APIs.
    Any,
    /// This one, allowed by configuration: the inspection API.
    Origin(HeaderValue),
    /// No CORS headers: same-origin and non-browser callers only.
    None,
}

/// Who may call `path`: the inspection API shows every notification, user id and push token
/// and can inject faults or reset the emulator, so a browser may only call it from an allowed
/// origin (or the emulator's own); anything else is a `403` before the request is handled
/// (a cross-site form or `text/plain` POST needs no preflight, so hiding the answer alone
/// would not stop it).
///
/// "The emulator's own" origin counts only under a name DNS cannot rebind (an IP address or
/// `localhost`): a page on `http://attacker.example:4000` whose name is made to resolve to
/// 127.0.0.1 is same-origin in the browser's eyes, but not here. Any other name is allowed
/// with `--inspection-origin`.
pub(super) fn cors_for(
    state: &EmulatorState,
    path: &str,
    headers: &HeaderMap,
) -> Result<Cors, ApiError> {
    if is_open_path(path) {
        return Ok(Cors::Any);
    }
    if !is_inspection_path(path) {
        return Ok(Cors::None);
    }
    let allowed = &state.settings().inspection_origins;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let own_origin = host.as_deref().map(|host| format!("http://{host}"));
    let own_is_safe = host.as_deref().is_some_and(cannot_be_rebound)
        || own_origin.as_ref().is_some_and(|own| allowed.contains(own));
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Browsers send no Origin on a same-origin GET, but do send Sec-Fetch-Site; other
        // clients (curl, tests) send neither.
        return match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
            None | Some(b"none") => Ok(Cors::None),
            Some(b"same-origin") if own_is_safe => Ok(Cors::None),
            Some(_) => Err(forbidden_origin("(not sent)")),
        };
    };
    let text = origin.to_str().unwrap_or("").to_ascii_lowercase();
    let own = own_is_safe && own_origin.as_deref() == Some(text.as_str());
    if own || allowed.contains(&text) {
        Ok(Cors::Origin(origin.clone()))
    } else {
        Err(forbidden_origin(&text))
    }
}

/// Whether `host` (a Host header) names its server by an IP address or `localhost`, which
/// no DNS answer can point elsewhere.
fn cannot_be_rebound(host: &str) -> bool {
    if host.starts_with('[') {
        // An IPv6 literal, with or without a port.
        return true;
    }
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name == "localhost" || name.parse::<std::net::Ipv4Addr>().is_ok()
}

fn forbidden_origin(origin: &str) -> ApiError {
    error(
        StatusCode::FORBIDDEN,
        format!(
            "Origin {origin:?} may not use the inspection API; allow it with \
             --inspection-origin (EmulatorBuilder::inspection_origin)"
        ),
    )
}

pub(super) fn add_cors(headers: &mut HeaderMap, cors: &Cors) {
    let origin = match cors {
        Cors::Any => HeaderValue::from_static("*"),
        Cors::Origin(origin) => {
            headers.insert(header::VARY, HeaderValue::from_static("Origin"));
            origin.clone()
        }
        Cors::None => return,
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
}

pub(super) fn preflight(request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    // `*` would not cover `Authorization`, so echo what the browser asks for.
    let requested = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_static("Authorization, Content-Type, X-Pusher-Library")
        });
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}
