//! Calling the configured webhooks with Beams' events, as Beams does: signed, with Beams'
//! headers and body, retried after 10, 30, 120 and 300 seconds (times the retry scale) with
//! the same request id and event id when an attempt gets no `2xx` within 3 seconds.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::Sha1;
use tokio::sync::Semaphore;

use crate::model::{WebhookAttempt, now_ms};
use crate::state::{EmulatorState, PublishOutcome, Settings};

/// Beams' waits before the retries of a webhook.
const RETRY_DELAYS: [Duration; 4] = [
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(300),
];
/// How long Beams waits for an answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// Sends `v1.PublishToUsersAttempt` for a publish to users.
pub(crate) fn publish_attempt(state: &EmulatorState, outcome: &PublishOutcome) {
    let Some(users) = &outcome.users else {
        return;
    };
    emit(
        state,
        "v1.PublishToUsersAttempt",
        json!({
            "instance_id": state.instance_id(),
            "publish_id": outcome.publish_id,
            "users_delivered_to_gateway": users.delivered,
            "users_no_devices": users.no_devices,
            "users_gateway_failed": [],
        }),
    );
}

/// Sends `v1.UserNotificationAcknowledgement` (a `delivery` report) or
/// `v1.UserNotificationOpen` (an `open` report) for a reporting event with a `userId`, and only
/// when its device exists, belongs to that user and was delivered that publish: the reporting
/// API takes events from anyone, so anything else would let a caller forge a user's signed
/// acknowledgement of a publish they never received.
pub(crate) fn reported(state: &EmulatorState, event: &serde_json::Map<String, Value>) {
    let event_type = match event.get("event").and_then(Value::as_str) {
        Some("delivery") => "v1.UserNotificationAcknowledgement",
        Some("open") => "v1.UserNotificationOpen",
        _ => return,
    };
    let (Some(publish_id), Some(device_id), Some(user_id)) = (
        event.get("publishId").and_then(Value::as_str),
        event.get("deviceId").and_then(Value::as_str),
        event
            .get("userId")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty()),
    ) else {
        return;
    };
    if !state.delivered_to_user(device_id, publish_id, user_id) {
        tracing::debug!(target: "beams_emulator", event_type, "reporting event for no delivery of that user's device: not sent");
        return;
    }
    emit(
        state,
        event_type,
        json!({"instance_id": state.instance_id(), "publish_id": publish_id, "user_id": user_id}),
    );
}

fn emit(state: &EmulatorState, event_type: &'static str, payload: Value) {
    let targets = &state.settings().webhooks;
    if targets.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(target: "beams_emulator", event_type, "no Tokio runtime: webhook not sent");
        return;
    };
    let event_id = uuid::Uuid::new_v4().to_string();
    for (index, target) in targets.iter().enumerate() {
        let body = json!({
            "payload": payload,
            "metadata": {
                "created_at": created_at(),
                "event_type": event_type,
                "event_id": event_id,
                "product": "beams",
            },
            "custom_data": target.custom_data,
        });
        let body = Bytes::from(serde_json::to_vec(&body).expect("JSON serializes"));
        let body_bytes = crate::limits::heap_bytes(body.len());
        let sending = deliver(state.clone(), index, event_type, body, event_id.clone());
        // What a pending event keeps: its body and its task (the future, its ids inside it,
        // and the task's header).
        let bytes = body_bytes + size_of_val(&sending) + TASK_OVERHEAD;
        let Some(ticket) = state.shared.webhooks.admit(bytes, state.settings()) else {
            continue;
        };
        runtime.spawn(async move {
            let _ticket = ticket;
            sending.await;
        });
    }
}

/// What a Tokio task and a pending event's ticket take besides the future itself, and the
/// two ids (`request_id`, `event_id`) each future allocates.
const TASK_OVERHEAD: usize = 256 + 2 * 48;

/// How often a warning about dropped webhook events is logged at most.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The webhook events pending (being sent or waiting for a retry) within
/// [`Limits`](crate::Limits)' bounds, and the outgoing requests allowed at once.
#[derive(Debug)]
pub(crate) struct WebhookQueue {
    tally: Arc<Mutex<Tally>>,
    /// One permit per request in flight.
    connections: Arc<Semaphore>,
    max_connections: usize,
}

#[derive(Debug, Default)]
struct Tally {
    pending: usize,
    bytes: usize,
    dropped: u64,
    /// Dropped since the last warning.
    unreported: u64,
    last_warning: Option<Instant>,
}

/// A pending event's share of the bounds, given back when its task ends (delivered, retries
/// run out, shut down, or aborted with the runtime).
pub(crate) struct Ticket {
    tally: Arc<Mutex<Tally>>,
    bytes: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut tally = lock(&self.tally);
        tally.pending -= 1;
        tally.bytes -= self.bytes;
    }
}

fn lock(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl WebhookQueue {
    pub(crate) fn new(limits: &crate::Limits) -> Self {
        let max_connections = limits.max_webhook_connections.max(1);
        Self {
            tally: Arc::default(),
            connections: Arc::new(Semaphore::new(max_connections)),
            max_connections,
        }
    }

    /// A place for one more pending event of about `bytes`, or `None` (counted, and logged at
    /// most once per [`WARN_EVERY`]) when it would pass a bound.
    fn admit(&self, bytes: usize, settings: &Settings) -> Option<Ticket> {
        let limits = &settings.limits;
        let mut tally = lock(&self.tally);
        if tally.pending < limits.max_pending_webhooks
            && tally.bytes + bytes <= limits.max_pending_webhook_bytes
        {
            tally.pending += 1;
            tally.bytes += bytes;
            return Some(Ticket {
                tally: Arc::clone(&self.tally),
                bytes,
            });
        }
        tally.dropped += 1;
        tally.unreported += 1;
        let now = Instant::now();
        if tally
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY)
        {
            tracing::warn!(
                target: "beams_emulator",
                dropped = tally.unreported,
                pending = tally.pending,
                pending_bytes = tally.bytes,
                max_pending = limits.max_pending_webhooks,
                max_pending_bytes = limits.max_pending_webhook_bytes,
                "webhook events dropped: too many pending (see GET /_emulator/webhooks/stats)"
            );
            tally.unreported = 0;
            tally.last_warning = Some(now);
        }
        None
    }

    pub(crate) fn stats(&self) -> WebhookStats {
        let tally = lock(&self.tally);
        WebhookStats {
            pending: tally.pending,
            pending_bytes: tally.bytes,
            sending: self.max_connections - self.connections.available_permits(),
            dropped: tally.dropped,
        }
    }

    pub(crate) fn reset_dropped(&self) {
        let mut tally = lock(&self.tally);
        tally.dropped = 0;
        tally.unreported = 0;
    }
}

/// The webhook events in progress and those dropped ([`EmulatorState::webhook_stats`],
/// `GET /_emulator/webhooks/stats`).
///
/// ```
/// use beams_emulator::Emulator;
///
/// let state = Emulator::builder().build_state()?;
/// let stats = state.webhook_stats();
/// assert_eq!((stats.pending, stats.dropped), (0, 0));
/// # Ok::<(), beams_emulator::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookStats {
    /// Events being sent or waiting for a retry
    /// ([`Limits::max_pending_webhooks`](crate::Limits::max_pending_webhooks)).
    pub pending: usize,
    /// About how much memory they hold
    /// ([`Limits::max_pending_webhook_bytes`](crate::Limits::max_pending_webhook_bytes)).
    pub pending_bytes: usize,
    /// Requests in flight now
    /// ([`Limits::max_webhook_connections`](crate::Limits::max_webhook_connections)).
    pub sending: usize,
    /// Events dropped, never sent, because a pending bound was reached (since the start or
    /// the last reset).
    pub dropped: u64,
}

/// The time as Beams writes `created_at`: `2019-03-11T10:42:16+0000`.
fn created_at() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Delivers one event to one target: attempts until one gets a `2xx` within 3 seconds, or
/// the retries run out, or the emulator shuts down. Each attempt waits for one of the
/// [`Limits::max_webhook_connections`](crate::Limits::max_webhook_connections) permits first.
async fn deliver(
    state: EmulatorState,
    target: usize,
    event_type: &'static str,
    bytes: Bytes,
    event_id: String,
) {
    let target = &state.settings().webhooks[target];
    let request_id = uuid::Uuid::new_v4().to_string();
    let signature = target.secret.as_ref().map(|secret| {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
        mac.update(&bytes);
        hex::encode(mac.finalize().into_bytes())
    });
    let mut shutdown = state.shared.shutdown.subscribe();
    let scale = state.settings().webhook_retry_scale;
    for attempt in 1..=(RETRY_DELAYS.len() as u32 + 1) {
        let connections = Arc::clone(&state.shared.webhooks.connections);
        let permit = tokio::select! {
            permit = connections.acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let mut request = state
            .shared
            .webhook_client
            .post(&target.url)
            .timeout(ANSWER_WITHIN)
            .header("content-type", "application/json")
            .header("user-agent", "pusher-webhooks")
            .header("webhook-event-type", event_type)
            .header("webhook-id-uuid", &target.id)
            .header("webhook-request-id-uuid", &request_id)
            .body(bytes.clone());
        if let Some(signature) = &signature {
            request = request.header("webhook-signature", signature);
        }
        let sent_at_ms = now_ms();
        let (status, error) = match request.send().await {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(e) if e.is_timeout() => (None, Some(format!("no answer within {ANSWER_WITHIN:?}"))),
            Err(e) => (None, Some(e.without_url().to_string())),
        };
        drop(permit);
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        // The URL is left out: it is the host's, and may carry a token of its own.
        tracing::info!(
            target: "beams_emulator",
            event_type,
            attempt,
            status,
            error = error.as_deref(),
            "webhook attempt"
        );
        let record = WebhookAttempt {
            request_id: request_id.clone(),
            webhook_id: target.id.clone(),
            url: target.url.clone(),
            event_type: event_type.to_owned(),
            event_id: event_id.clone(),
            attempt,
            status,
            error,
            delivered,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            sent_at_ms,
        };
        let size = attempt_bytes(&record);
        state.record_webhook_attempt(record, size);
        let Some(delay) = RETRY_DELAYS.get(attempt as usize - 1) else {
            return;
        };
        if delivered {
            return;
        }
        let wait = delay.mul_f64(scale);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// What a recorded attempt holds: its slot in the log (whose buffer may be twice as long as it
/// is full), its body as parsed JSON, and its strings.
fn attempt_bytes(attempt: &WebhookAttempt) -> usize {
    use crate::limits::{heap_bytes, value_bytes};
    2 * size_of::<(WebhookAttempt, usize)>() + value_bytes(&attempt.body) - size_of::<Value>()
        + [
            &attempt.request_id,
            &attempt.webhook_id,
            &attempt.url,
            &attempt.event_type,
            &attempt.event_id,
        ]
        .iter()
        .map(|s| heap_bytes(s.capacity()))
        .sum::<usize>()
        + attempt
            .error
            .as_ref()
            .map_or(0, |e| heap_bytes(e.capacity()))
}
