//! The actix-web app's machinery: where actix-session keeps its sessions (bounded in memory, or
//! Redis with timeouts), the cross-site refusal, the request deadline, and [`ApiError`] as an
//! actix-web response.

mod sessions;

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

pub use self::sessions::{
    AppStore, MemorySessionStore, REDIS_TIMEOUT, SESSION_COOKIE, Sessions, session_key_from_env,
};
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

/// Middleware that answers `408` when a request, its body included, has not been handled
/// within `limit`: actix-web bounds only the request head, so a client sending its body a byte
/// at a time would otherwise hold its connection for as long as it likes. Wrap the app with
/// `from_fn(move |req, next| deadline(limit, req, next))`.
pub async fn deadline(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // On time-out the request is gone with the dropped future (and cannot be cloned before
    // routing), so the answer goes back as an error, which actix turns into the response.
    match actix_web::rt::time::timeout(limit, next.call(request)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => Err(ApiError::timed_out().into()),
    }
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
        StatusCode::from_u16(self.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = json_no_store(self.status_code(), &self.body());
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(secs),
            );
        }
        response
    }
}
