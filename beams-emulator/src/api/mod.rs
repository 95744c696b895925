//! The HTTP surface: one fallback handler that routes by hand, so every answer — unknown routes,
//! wrong methods, bad bodies — is Beams-shaped JSON rather than axum's plain-text rejections.

mod device;
mod inspect;
mod publish;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::conn::ConnInfo;
use crate::state::EmulatorState;

/// A handler result whose error is a Beams error answer.
type HandlerResult<T = Response> = Result<T, ApiError>;

/// A Beams error answer: `{"error":"<reason phrase>","description":"<sentence>"}` plus headers.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    description: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        // A struct keeps Beams' field order: error, then description.
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
            description: &'a str,
        }
        let mut response = json_response(
            self.status,
            &Body {
                error: reason,
                description: &self.description,
            },
        );
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// The emulator's HTTP API as an axum [`Router`], to serve from your own app (the state from
/// [`EmulatorBuilder::build_state`](crate::EmulatorBuilder::build_state)). It serves every endpoint; the
/// paths are absolute (`/publish_api/…`, `/_emulator/…`), so merge it or use it as a fallback
/// rather than nesting it under a prefix.
///
/// Without the emulator's own server, an injected "drop" fault cannot close the socket before
/// the response head; it then aborts the response body instead.
///
/// ```
/// use beams_emulator::{Emulator, Platform};
///
/// let state = Emulator::builder().instance_id("my-instance").build_state()?;
/// let device = state.register_device(Platform::Web);
/// state.set_device_user(&device.id, "alice")?;
/// assert_eq!(state.user_devices("alice").len(), 1);
/// let app: axum::Router = beams_emulator::router(state); // serve it where you like
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn router(state: EmulatorState) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// A Beams error answer.
pub(crate) fn error(status: StatusCode, description: impl Into<String>) -> ApiError {
    ApiError {
        status,
        description: description.into(),
        headers: Vec::new(),
    }
}

pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            json!({"error": "Internal Server Error", "description": format!("Could not serialize the response: {e}")})
                .to_string(),
        )
            .into_response(),
    }
}

/// A 2xx answer with an empty body, as Beams gives for updates.
fn empty(status: StatusCode) -> Response {
    status.into_response()
}

fn not_found(path: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        format!("Route not found: {path} is not a Beams (or beams-emulator) endpoint"),
    )
}

/// Check the method against those a route allows; 405 with `Allow` otherwise.
fn allow(method: &Method, allowed: &[Method]) -> HandlerResult<()> {
    if allowed.contains(method) {
        return Ok(());
    }
    let list = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut rejection = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on this route (allowed: {list})"),
    );
    if let Ok(value) = HeaderValue::from_str(&list) {
        rejection = rejection.with_header(header::ALLOW, value);
    }
    Err(rejection)
}

/// Percent-decode a path segment to UTF-8.
fn decode_segment(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// 404 unless the path's instance id is ours.
fn check_instance(state: &EmulatorState, raw: &str) -> HandlerResult<()> {
    match decode_segment(raw) {
        Some(id) if id == state.instance_id() => Ok(()),
        Some(id) => Err(error(
            StatusCode::NOT_FOUND,
            format!("Instance not found: {id}"),
        )),
        None => Err(error(StatusCode::NOT_FOUND, "Instance not found")),
    }
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn require_json_content_type(headers: &HeaderMap) -> HandlerResult<()> {
    if is_json_content_type(headers) {
        Ok(())
    } else {
        Err(error(
            StatusCode::BAD_REQUEST,
            "Invalid content type: expected `Content-Type: application/json`",
        ))
    }
}

/// How long a request body may take to arrive, whole: a client that sends its body a byte at a
/// time is answered `408` and its connection closed, instead of holding it.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Read a body of at most `limit` bytes; `too_large` answers bigger ones.
async fn read_body(
    body: Body,
    limit: usize,
    too_large: impl FnOnce() -> ApiError,
) -> HandlerResult<Bytes> {
    let Ok(read) = tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await
    else {
        return Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "The request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        ));
    };
    match read {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let inner = e.into_inner();
            let over =
                std::iter::successors(Some(&*inner as &dyn std::error::Error), |e| e.source())
                    .any(|e| e.is::<http_body_util::LengthLimitError>());
            if over {
                Err(too_large())
            } else {
                Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("Could not read the request body: {inner}"),
                ))
            }
        }
    }
}

/// Parse a body that must be a JSON object.
fn parse_object(bytes: &[u8]) -> HandlerResult<serde_json::Map<String, Value>> {
    if bytes.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Request body is empty: expected a JSON object",
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "Request body must be a JSON object",
        )),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("Request body is not valid JSON: {e}"),
        )),
    }
}

/// The JSON type name, as JSON-schema validators report it.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The device and reporting APIs: browser pages on any origin call them, as Beams' own.
fn is_open_path(path: &str) -> bool {
    path.starts_with("/device_api/") || path.starts_with("/reporting_api/")
}

fn is_inspection_path(path: &str) -> bool {
    path == "/_emulator" || path.starts_with("/_emulator/")
}

/// Which origin may read an answer.
enum Cors {
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
fn cors_for(state: &EmulatorState, path: &str, headers: &HeaderMap) -> Result<Cors, ApiError> {
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

fn add_cors(headers: &mut HeaderMap, cors: &Cors) {
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

fn preflight(request_headers: &HeaderMap) -> Response {
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

/// Close the request's connection without an answer.
///
/// Served by the emulator's own server, the connection's socket is closed (with `SO_LINGER` 0, so a
/// reset) before anything is written. Embedded in another server, the best available is a response
/// whose body fails at once, which makes hyper abort the connection.
fn drop_connection(extensions: &http::Extensions) -> Response {
    if let Some(ConnectInfo(info)) = extensions.get::<ConnectInfo<ConnInfo>>() {
        info.kill();
        // Never written: the connection is dead by the time hyper tries.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "beams-emulator: injected connection drop",
        ))
    });
    Response::new(Body::from_stream(stream))
}

fn fault_response(status: u16, fault: &crate::Fault) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let description = fault.description.clone().unwrap_or_else(|| {
        if status == StatusCode::TOO_MANY_REQUESTS {
            "max 100 RPS".to_owned()
        } else {
            "Fault injected by beams-emulator".to_owned()
        }
    });
    let mut rejection = error(status, description);
    if let Some(retry_after) = &fault.retry_after
        && let Ok(value) = HeaderValue::from_str(retry_after)
    {
        rejection = rejection.with_header(header::RETRY_AFTER, value);
    }
    rejection.into_response()
}

async fn dispatch(State(state): State<EmulatorState>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let response = match cors_for(&state, &path, request.headers()) {
        Err(forbidden) => forbidden.into_response(),
        Ok(Cors::None) => handle(state, request, &path).await,
        Ok(cors) => {
            let mut response = if method == Method::OPTIONS {
                preflight(request.headers())
            } else {
                handle(state, request, &path).await
            };
            add_cors(response.headers_mut(), &cors);
            response
        }
    };
    tracing::debug!(
        target: "beams_emulator",
        %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

async fn handle(state: EmulatorState, request: Request, path: &str) -> Response {
    if !is_inspection_path(path)
        && let Some(fault) = state.take_fault(request.method().as_str(), path)
    {
        tracing::debug!(target: "beams_emulator", ?fault, path, "applying injected fault");
        if fault.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
        }
        if fault.drop {
            return drop_connection(request.extensions());
        }
        if let Some(status) = fault.status {
            return fault_response(status, &fault);
        }
    }

    let raw = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = raw.split('/').collect();
    let result = match segments.as_slice() {
        ["publish_api", "v1", "instances", instance, rest @ ..] => {
            publish::publish(&state, request, instance, rest).await
        }
        [
            api @ ("customer_api" | "user_api"),
            "v1",
            "instances",
            instance,
            rest @ ..,
        ] => publish::customer(&state, request, api, instance, rest).await,
        ["device_api", "v1", "instances", instance, rest @ ..] => {
            device::route(&state, request, instance, rest).await
        }
        ["reporting_api", "v2", "instances", instance, "events"] => {
            device::report(&state, request, instance).await
        }
        ["_emulator", rest @ ..] => inspect::route(&state, request, rest).await,
        _ => Err(not_found(path)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}
