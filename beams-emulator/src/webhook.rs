//! Calling the configured webhooks with Beams' events, as Beams does: signed, with Beams'
//! headers and body, retried after 10, 30, 120 and 300 seconds (times the retry scale) with
//! the same request id and event id when an attempt gets no `2xx` within 3 seconds.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

use crate::model::{WebhookAttempt, WebhookTarget, now_ms};
use crate::state::{EmulatorState, PublishOutcome};

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
    for target in targets {
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
        runtime.spawn(deliver(state.clone(), target.clone(), event_type, body));
    }
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
/// the retries run out, or the emulator shuts down.
async fn deliver(
    state: EmulatorState,
    target: WebhookTarget,
    event_type: &'static str,
    body: Value,
) {
    let bytes = serde_json::to_vec(&body).expect("JSON serializes");
    let request_id = uuid::Uuid::new_v4().to_string();
    let event_id = body["metadata"]["event_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let signature = target.secret.as_ref().map(|secret| {
        let mut mac =
            Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
        mac.update(&bytes);
        hex::encode(mac.finalize().into_bytes())
    });
    let mut shutdown = state.shared.shutdown.subscribe();
    let scale = state.settings().webhook_retry_scale;
    for attempt in 1..=(RETRY_DELAYS.len() as u32 + 1) {
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
        state.record_webhook_attempt(
            WebhookAttempt {
                request_id: request_id.clone(),
                webhook_id: target.id.clone(),
                url: target.url.clone(),
                event_type: event_type.to_owned(),
                event_id: event_id.clone(),
                attempt,
                status,
                error,
                delivered,
                body: body.clone(),
                sent_at_ms,
            },
            bytes.len() + target.url.len() + 256,
        );
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
