//! The inspection API under `/_emulator/` (no authentication).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, broadcast, watch};

use super::publish::MAX_NAME_LEN;
use super::{
    HandlerResult, allow, decode_segment, empty, error, json_response, not_found, read_body,
};
use crate::jwt;
use crate::model::{Fault, KeptDelivery, now_secs};
use crate::state::EmulatorState;

const FAULTS_BODY_LIMIT: usize = 64 * 1024;

fn segment(raw: &str) -> HandlerResult<String> {
    decode_segment(raw)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "Path segment is not valid UTF-8"))
}

pub(super) async fn route(state: &EmulatorState, request: Request, rest: &[&str]) -> HandlerResult {
    let method = request.method().clone();
    match rest {
        [] | ["" | "info"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "instanceId": state.instance_id(),
                    "vapidPublicKey": state.vapid_public_key(),
                }),
            ))
        }
        ["publishes"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.publishes()))
        }
        ["deliveries"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.all_deliveries()))
        }
        ["events"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.reported_events()))
        }
        ["webhooks"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.webhook_attempts()))
        }
        ["webhooks", "stats"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.webhook_stats()))
        }
        ["devices"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.devices()))
        }
        ["devices", id] => {
            allow(&method, &[Method::GET])?;
            let id = segment(id)?;
            match state.device(&id) {
                Some(device) => Ok(json_response(StatusCode::OK, &device)),
                None => Err(error(StatusCode::NOT_FOUND, "Device not found")),
            }
        }
        ["devices", id, "deliveries"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(
                StatusCode::OK,
                &state.deliveries(&segment(id)?),
            ))
        }
        ["devices", id, "stream"] => {
            allow(&method, &[Method::GET])?;
            let id = segment(id)?;
            stream(state, &request, id)
        }
        ["users", id, "deliveries"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(
                StatusCode::OK,
                &state.user_deliveries(&segment(id)?),
            ))
        }
        ["users", id, "token"] => {
            allow(&method, &[Method::GET])?;
            if !state.settings().issue_tokens {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    "Token issuing is off: start the emulator with --issue-tokens \
                     (EmulatorBuilder::issue_tokens)",
                ));
            }
            let id = segment(id)?;
            if id.is_empty() || id.len() > MAX_NAME_LEN {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "User id must be between 1-164 bytes long",
                ));
            }
            let settings = state.settings();
            let token = jwt::issue(&id, &settings.secret.0, &settings.instance_id, now_secs());
            let mut response = json_response(StatusCode::OK, &json!({ "token": token }));
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        ["users", id, "devices"] => {
            allow(&method, &[Method::GET])?;
            Ok(json_response(
                StatusCode::OK,
                &state.user_devices(&segment(id)?),
            ))
        }
        ["reset"] => {
            allow(&method, &[Method::POST])?;
            state.reset();
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ["faults"] => {
            allow(&method, &[Method::GET, Method::POST, Method::DELETE])?;
            if method == Method::GET {
                return Ok(json_response(StatusCode::OK, &state.pending_faults()));
            }
            if method == Method::DELETE {
                state.clear_faults();
                return Ok(empty(StatusCode::NO_CONTENT));
            }
            let bytes = read_body(request.into_body(), FAULTS_BODY_LIMIT, || {
                error(StatusCode::PAYLOAD_TOO_LARGE, "Fault body too large")
            })
            .await?;
            let faults = parse_faults(&bytes)?;
            for fault in faults {
                state.inject_fault(fault);
            }
            Ok(json_response(StatusCode::OK, &state.pending_faults()))
        }
        _ => Err(not_found(request.uri().path())),
    }
}

/// A fault object or an array of them.
fn parse_faults(bytes: &[u8]) -> HandlerResult<Vec<Fault>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("Request body is not valid JSON: {e}"),
        )
    })?;
    let list = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut faults = Vec::with_capacity(list.len());
    for item in list {
        let fault: Fault = serde_json::from_value(item)
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("Invalid fault: {e}")))?;
        if fault.count == 0 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Invalid fault: `count` must be at least 1",
            ));
        }
        if let Some(status) = fault.status
            && !(100..=599).contains(&status)
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Invalid fault: `status` must be between 100 and 599",
            ));
        }
        if let Some(retry_after) = &fault.retry_after
            && HeaderValue::from_str(retry_after).is_err()
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Invalid fault: `retryAfter` is not a valid header value",
            ));
        }
        if fault.latency_ms > 600_000 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Invalid fault: `latencyMs` may be at most 600000 (10 minutes)",
            ));
        }
        if fault.status.is_none() && !fault.drop && fault.latency_ms == 0 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Invalid fault: give at least one of `status`, `latencyMs` or `drop`",
            ));
        }
        faults.push(fault);
    }
    Ok(faults)
}

/// The longest device id a delivery stream is opened for.
const MAX_STREAM_DEVICE_ID: usize = 256;

struct StreamState {
    state: EmulatorState,
    device_id: String,
    backlog: VecDeque<Arc<KeptDelivery>>,
    last_id: u64,
    receiver: broadcast::Receiver<Arc<KeptDelivery>>,
    shutdown: watch::Receiver<bool>,
    greeted: bool,
    /// Held while the stream is open.
    _slot: OwnedSemaphorePermit,
}

fn delivery_event(delivery: &KeptDelivery) -> Event {
    let event = Event::default()
        .event("delivery")
        .id(delivery.id.to_string());
    event
        .json_data(delivery)
        .unwrap_or_else(|_| Event::default().comment("unserializable delivery"))
}

/// `GET /_emulator/devices/{id}/stream`: one `delivery` event per delivery to the device, from now
/// on (or after `Last-Event-ID` when an `EventSource` reconnects), with keep-alive comments.
fn stream(state: &EmulatorState, request: &Request, device_id: String) -> HandlerResult<Response> {
    // No device id is this long (they are `{platform}-{uuid}`); a stream stays open for
    // hours, so what it keeps is bounded.
    if device_id.len() > MAX_STREAM_DEVICE_ID {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("A device id is at most {MAX_STREAM_DEVICE_ID} bytes."),
        ));
    }
    let Ok(slot) = Arc::clone(&state.shared.streams).try_acquire_owned() else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many delivery streams are open; try again later.",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("5")));
    };
    // Subscribe before reading the backlog so nothing falls between the two.
    let receiver = state.subscribe_device(&device_id);
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (backlog, last_id) = match last_event_id {
        Some(last) => (state.deliveries_after(&device_id, last).into(), last),
        None => (VecDeque::new(), state.last_delivery_id()),
    };
    let initial = StreamState {
        state: state.clone(),
        device_id,
        backlog,
        last_id,
        receiver,
        shutdown: state.shared.shutdown.subscribe(),
        greeted: false,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(initial, |mut s| async move {
        if !s.greeted {
            s.greeted = true;
            // Lets a client know the subscription is live.
            return Some((
                Ok::<_, Infallible>(Event::default().comment("connected")),
                s,
            ));
        }
        loop {
            if let Some(delivery) = s.backlog.pop_front() {
                if delivery.id > s.last_id {
                    s.last_id = delivery.id;
                    return Some((Ok(delivery_event(&delivery)), s));
                }
                continue;
            }
            if *s.shutdown.borrow() {
                return None;
            }
            tokio::select! {
                received = s.receiver.recv() => match received {
                    // The device's own feed: only its deliveries come here.
                    Ok(delivery) => {
                        if delivery.id > s.last_id {
                            s.last_id = delivery.id;
                            return Some((Ok(delivery_event(&delivery)), s));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        s.backlog = s.state.deliveries_after(&s.device_id, s.last_id).into();
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                changed = s.shutdown.changed() => {
                    if changed.is_err() || *s.shutdown.borrow() {
                        return None;
                    }
                }
            }
        }
    });
    let keep_alive = KeepAlive::new().interval(state.settings().sse_keep_alive);
    let mut response = Sse::new(events).keep_alive(keep_alive).into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    Ok(response)
}
