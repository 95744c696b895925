//! The typed webhook: the envelope Beams sends and the events it carries.

use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::WebhookRejection;

/// A verified webhook request: the event, its metadata, the webhook's custom data and the
/// request's identifying headers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Webhook {
    /// What happened.
    pub event: WebhookEvent,
    /// The envelope's `metadata`.
    pub metadata: WebhookMetadata,
    /// The `custom_data` configured for this webhook in the dashboard (`{}` when none).
    pub custom_data: Value,
    /// `Webhook-ID-UUID`: which configured webhook sent it.
    pub webhook_id: Option<String>,
    /// `Webhook-Request-ID-UUID`: this request; the same on each retry of it.
    pub request_id: Option<String>,
}

/// The envelope's `metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WebhookMetadata {
    /// The event's id, the same on every retry: de-duplicate on it.
    pub event_id: String,
    /// The event type, e.g. `v1.PublishToUsersAttempt`.
    pub event_type: String,
    /// When the event happened, as Beams wrote it (e.g. `2019-03-11T10:42:16+0000`).
    #[serde(default)]
    pub created_at: String,
    /// `beams`.
    #[serde(default)]
    pub product: String,
}

/// What a webhook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `v1.PublishToUsersAttempt`: the outcome of a publish to users.
    PublishToUsersAttempt(PublishToUsersAttempt),
    /// `v1.UserNotificationAcknowledgement`: a device of the user received the notification.
    UserNotificationAcknowledgement(UserNotification),
    /// `v1.UserNotificationOpen`: the user opened the notification.
    UserNotificationOpen(UserNotification),
    /// An event type this version does not know: acknowledged, and handed over as it came.
    Other {
        /// Its type.
        event_type: String,
        /// Its `payload`.
        payload: Value,
    },
}

/// The payload of `v1.PublishToUsersAttempt`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PublishToUsersAttempt {
    /// The instance.
    pub instance_id: String,
    /// The publish, as returned by `publish_to_users`.
    pub publish_id: String,
    /// Users for whom the push gateway accepted the notification for at least one device.
    pub users_delivered_to_gateway: Vec<String>,
    /// Users without any device: nothing could be sent to them.
    pub users_no_devices: Vec<String>,
    /// Users for whom the gateway failed (transient failures).
    pub users_gateway_failed: Vec<String>,
}

/// The payload of `v1.UserNotificationAcknowledgement` and `v1.UserNotificationOpen`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UserNotification {
    /// The instance.
    pub instance_id: String,
    /// The publish the notification came from.
    pub publish_id: String,
    /// The user.
    pub user_id: String,
}

#[derive(Deserialize)]
struct Envelope {
    payload: serde_json::Map<String, Value>,
    metadata: WebhookMetadata,
    #[serde(default = "empty_object")]
    custom_data: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Parses a signed body into a [`Webhook`].
pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Webhook, WebhookRejection> {
    let not_a_webhook = |e: serde_json::Error| WebhookRejection::NotAWebhook(e.to_string());
    let envelope: Envelope = serde_json::from_slice(body).map_err(not_a_webhook)?;
    let payload = Value::Object(envelope.payload);
    let event = match envelope.metadata.event_type.as_str() {
        "v1.PublishToUsersAttempt" => WebhookEvent::PublishToUsersAttempt(
            serde_json::from_value(payload).map_err(not_a_webhook)?,
        ),
        "v1.UserNotificationAcknowledgement" => WebhookEvent::UserNotificationAcknowledgement(
            serde_json::from_value(payload).map_err(not_a_webhook)?,
        ),
        "v1.UserNotificationOpen" => WebhookEvent::UserNotificationOpen(
            serde_json::from_value(payload).map_err(not_a_webhook)?,
        ),
        other => WebhookEvent::Other {
            event_type: other.to_owned(),
            payload,
        },
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Webhook {
        event,
        metadata: envelope.metadata,
        custom_data: envelope.custom_data,
        webhook_id: header("webhook-id-uuid"),
        request_id: header("webhook-request-id-uuid"),
    })
}
