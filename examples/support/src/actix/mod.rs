//! The actix-web app's machinery: where actix-session keeps its sessions (bounded in memory, or
//! Redis with timeouts), the cross-site refusal, the request deadline, and [`ApiError`] as an
//! actix-web response.

mod sessions;
mod watchdog;

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

pub use self::sessions::{
    AppStore, MemorySessionStore, REDIS_TIMEOUT, SESSION_COOKIE, Sessions, session_key_from_env,
};
pub use self::watchdog::{GRACE, watch_connections};
use crate::api::{ApiError, is_cross_site};

/// Middleware (`from_fn(refuse_cross_site)`) that refuses a state-changing request from
/// another site with a `403` (see [`is_cross_site`]).
pub async fn refuse_cross_site(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes());
    if is_cross_site(header("sec-fetch-site"), header("origin"), header("host")) {
        return Ok(request.into_response(ApiError::cross_site().error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// Middleware wrapped around the session middleware
/// (`.wrap(sessions.middleware()).wrap(from_fn(session_unavailable))`): when the session store
/// fails, actix-session fails the request with its own empty `500`, before any handler runs
/// (loading the session) or after it (saving it, or deleting it on logout, whose answer is then
/// lost). This answers those as the app's other store failures: the JSON `503` with
/// `Retry-After` of [`ApiError::session`]. A logout answered so is not done (the cookie is
/// kept, to retry with), though a delete already sent to a frozen Redis may still be applied
/// when it thaws.
pub async fn session_unavailable(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match next.call(request).await {
        Ok(response) => Ok(response.map_into_boxed_body()),
        Err(error) if is_session_store_failure(&error) => Err(ApiError::session(&error).into()),
        Err(error) => Err(error),
    }
}

/// Whether `error` is actix-session's own `500` for a failed store call: the store's error
/// (`anyhow::Error`, `SaveError` or `UpdateError`) inside an `InternalError`.
fn is_session_store_failure(error: &actix_web::Error) -> bool {
    use actix_session::storage::{SaveError, UpdateError};
    error.as_error::<InternalError<anyhow::Error>>().is_some()
        || error.as_error::<InternalError<SaveError>>().is_some()
        || error.as_error::<InternalError<UpdateError>>().is_some()
}

/// Middleware that answers `408` when a request, its body included, has not been handled
/// within `limit`: actix-web bounds only the request head, so a client sending its body a byte
/// at a time would otherwise hold its connection for as long as it likes. Wrap the app with
/// `from_fn(move |req, next| deadline(limit, req, next))`. A chunked body that the app leaves
/// unread, actix-http goes on reading after the answer: serve the app with
/// `HttpServer::on_connect(watch_connections(limit))` too, which this middleware arms.
pub async fn deadline(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    watchdog::request_started(&request);
    // On time-out the request is gone with the dropped future (and cannot be cloned before
    // routing), so the answer goes back as an error, which actix turns into the response.
    match actix_web::rt::time::timeout(limit, next.call(request)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => Err(ApiError::timed_out().into()),
    }
}

/// The status the shared code decided (`http` 1), as actix-web's (`http` 0.2) type.
pub fn actix_status(status: http::StatusCode) -> StatusCode {
    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// JSON with `status` that no cache keeps.
pub fn json_no_store(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body)
}

/// A form that could not be read: `413` when too large, else `400`, saying `what` to send.
pub fn form_error(error: &actix_web::Error, what: &str) -> ApiError {
    ApiError::form(error.as_response_error().status_code().as_u16(), what)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        actix_status(self.status)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = json_no_store(self.status_code(), &self.body());
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
