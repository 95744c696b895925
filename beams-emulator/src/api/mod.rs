//! The HTTP surface: one fallback handler that routes by hand, so every answer — unknown routes,
//! wrong methods, bad bodies — is Beams-shaped JSON rather than axum's plain-text rejections.

mod cors;
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
use crate::model::Fault;
use crate::state::EmulatorState;
use cors::{Cors, add_cors, cors_for, is_inspection_path, preflight};

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

fn fault_response(status: u16, fault: &Fault) -> Response {
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
