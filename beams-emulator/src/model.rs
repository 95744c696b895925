//! The typed records the emulator keeps: devices, publishes, deliveries, reporting events and
//! injected faults.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use beams_core::Platform;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A device registered with the emulator's device API (or through
/// [`EmulatorState::register_device`](crate::EmulatorState::register_device)).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    /// The device id, `{platform}-{uuid}` (for example `web-6f1c…`).
    pub id: String,
    /// The device's platform.
    pub platform: Platform,
    /// The push token the client registered with (for web: base64 of the browser's
    /// `PushSubscription` JSON). The emulator never contacts a push gateway with it.
    pub token: Option<String>,
    /// The user associated through `PUT …/user`, if any.
    pub user_id: Option<String>,
    /// The metadata object sent at registration or through `PUT …/metadata`.
    pub metadata: Value,
    /// The device's interests, sorted.
    pub interests: Vec<String>,
}

/// What a publish targeted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PublishTarget {
    /// A publish to interests (`/publishes` or `/publishes/interests`).
    Interests(Vec<String>),
    /// A publish to users (`/publishes/users`).
    Users(Vec<String>),
}

/// A publish the emulator accepted (`200 {"publishId": …}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordedPublish {
    /// The id returned to the publisher, `pubid-{uuid}`.
    pub publish_id: String,
    /// The interests or users targeted.
    #[serde(flatten)]
    pub target: PublishTarget,
    /// The request body as received (including `interests`/`users`).
    pub body: Value,
    /// The request path, as received.
    pub path: String,
    /// The request headers, names lower-cased; repeated headers are joined with `", "`. The value of
    /// `authorization` is redacted to `Bearer [redacted]`.
    pub headers: std::collections::BTreeMap<String, String>,
    /// When the publish was received, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// The ids of the devices the publish was delivered to, in delivery order.
    pub delivered_to: Vec<String>,
}

impl RecordedPublish {
    /// The interests targeted, if this was a publish to interests.
    pub fn interests(&self) -> Option<&[String]> {
        match &self.target {
            PublishTarget::Interests(i) => Some(i),
            PublishTarget::Users(_) => None,
        }
    }

    /// The users targeted, if this was a publish to users.
    pub fn users(&self) -> Option<&[String]> {
        match &self.target {
            PublishTarget::Users(u) => Some(u),
            PublishTarget::Interests(_) => None,
        }
    }

    /// A header as received (lower-case `name`), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// One publish delivered to one device: what the push gateway would have handed the device.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Delivery {
    /// A sequence number, unique within the emulator's lifetime (not reset by `reset`); also the
    /// `id:` of the server-sent event carrying it.
    pub id: u64,
    /// The publish this delivery belongs to.
    pub publish_id: String,
    /// The receiving device.
    pub device_id: String,
    /// The receiving device's platform.
    pub platform: Platform,
    /// The user the device belonged to at delivery time, if any.
    pub user_id: Option<String>,
    /// The platform payload the device receives.
    ///
    /// - web: `{"notification": …, "data": {"pusher": {"instanceId", "publishId",
    ///   "hasDisplayableContent", "hasData"}, …customer data}}` — what the web SDK's service worker
    ///   reads;
    /// - fcm: the publish's `fcm` object with `data.pusher` set to a JSON *string* of the same
    ///   metadata (FCM data values are strings);
    /// - apns: the publish's `apns` object with `data.pusher` set to the metadata object.
    pub payload: Value,
    /// When the delivery was made, in milliseconds since the Unix epoch.
    pub delivered_at_ms: u64,
}

/// A delivery as the emulator keeps it: the payload, the same for every device of a platform,
/// and the publish id are shared by all the deliveries of a publish rather than copied into
/// each. Serializes as [`Delivery`] does.
#[derive(Debug)]
pub(crate) struct KeptDelivery {
    pub(crate) id: u64,
    pub(crate) publish_id: std::sync::Arc<str>,
    pub(crate) device_id: String,
    pub(crate) platform: Platform,
    pub(crate) user_id: Option<String>,
    pub(crate) payload: std::sync::Arc<Value>,
    pub(crate) delivered_at_ms: u64,
}

impl KeptDelivery {
    /// The public, owned form (the payload copied).
    pub(crate) fn to_delivery(&self) -> Delivery {
        Delivery {
            id: self.id,
            publish_id: self.publish_id.to_string(),
            device_id: self.device_id.clone(),
            platform: self.platform,
            user_id: self.user_id.clone(),
            payload: Value::clone(&self.payload),
            delivered_at_ms: self.delivered_at_ms,
        }
    }
}

impl Serialize for KeptDelivery {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct View<'a> {
            id: u64,
            publish_id: &'a str,
            device_id: &'a str,
            platform: Platform,
            user_id: Option<&'a str>,
            payload: &'a Value,
            delivered_at_ms: u64,
        }
        View {
            id: self.id,
            publish_id: &self.publish_id,
            device_id: &self.device_id,
            platform: self.platform,
            user_id: self.user_id.as_deref(),
            payload: &self.payload,
            delivered_at_ms: self.delivered_at_ms,
        }
        .serialize(serializer)
    }
}

/// A reporting event (`POST /reporting_api/v2/instances/{id}/events`) as received.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReportedEvent {
    /// The body as received (JSON, or a JSON string holding the raw text if it was not JSON).
    pub body: Value,
    /// When it was received, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
}

/// A fault to inject into the next matching requests.
///
/// Faults never apply to the inspection API (`/_emulator/…`) or to CORS preflight requests. Queued
/// faults are matched in order; each matching request consumes one use of the first fault that
/// matches it. The effects, applied in this order:
///
/// 1. `latency_ms`: the request waits this long first;
/// 2. `drop`: the connection is closed without a response (the client sees a connection error);
/// 3. `status`: the request is answered with that status, a Beams-shaped error body and, if set,
///    `Retry-After`, instead of being processed.
///
/// A fault with only a latency delays the request and then processes it normally.
///
/// Over HTTP (`POST /_emulator/faults`) a fault is the JSON
/// `{"count":1,"status":429,"retryAfter":"2","latencyMs":0,"drop":false,"pathPrefix":"/publish_api"}`
/// (every field optional; `count` defaults to 1).
///
/// ```
/// use beams_emulator::Fault;
/// use std::time::Duration;
///
/// let rate_limited = Fault::status(429).retry_after("2").times(3).path_prefix("/publish_api");
/// let slow = Fault::latency(Duration::from_millis(200));
/// let reset = Fault::drop_connection().method("POST");
/// # let _ = (rate_limited, slow, reset);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Fault {
    /// How many matching requests this fault applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Answer with this status code instead of processing the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The `Retry-After` header value to send with `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// The `description` of the error body sent with `status` (a default sentence otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Latency to add before the request is handled, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop: bool,
    /// Only requests whose path starts with this prefix match (all requests otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Only requests with this method match (any method otherwise); compared case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

fn one() -> u32 {
    1
}

impl Default for Fault {
    fn default() -> Self {
        Self {
            count: 1,
            status: None,
            retry_after: None,
            description: None,
            latency_ms: 0,
            drop: false,
            path_prefix: None,
            method: None,
        }
    }
}

impl Fault {
    /// Answer the next matching request with `status` and a Beams-shaped error body.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Add `latency` before the next matching request is handled.
    pub fn latency(latency: Duration) -> Self {
        Self {
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            ..Self::default()
        }
    }

    /// Close the next matching request's connection without a response.
    pub fn drop_connection() -> Self {
        Self {
            drop: true,
            ..Self::default()
        }
    }

    /// Apply to the next `count` matching requests instead of one.
    #[must_use]
    pub fn times(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Send this `Retry-After` value with the status.
    #[must_use]
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Use this `description` in the error body.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Also add `latency` before the request is handled.
    #[must_use]
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Only match requests whose path starts with `prefix` (for example `/publish_api`).
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Only match requests with this HTTP method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.count > 0
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A webhook the emulator calls with Beams' events, as a webhook configured in the Beams
/// dashboard would be: a URL, an optional secret (the `Webhook-Signature` is then the hex
/// HMAC-SHA1 of the body) and custom data (sent as `custom_data`).
///
/// ```
/// use beams_emulator::WebhookTarget;
///
/// let target = WebhookTarget::new("http://127.0.0.1:3000/pusher/beams-webhooks")
///     .secret("my-webhook-secret")
///     .custom_data(serde_json::json!({"env": "dev"}));
/// assert!(!format!("{target:?}").contains("my-webhook-secret"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct WebhookTarget {
    /// Where the events are POSTed (plain `http://`).
    pub(crate) url: String,
    /// The signing secret, if any.
    pub(crate) secret: Option<String>,
    /// Sent as `custom_data` (`{}` by default).
    pub(crate) custom_data: Value,
    /// Sent as `Webhook-ID-UUID`: which configured webhook this is (generated).
    pub(crate) id: String,
}

impl WebhookTarget {
    /// A webhook to `url`, without a secret or custom data.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: None,
            custom_data: Value::Object(serde_json::Map::new()),
            id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Signs the events with `secret`.
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Sends `data` as `custom_data`.
    #[must_use]
    pub fn custom_data(mut self, data: Value) -> Self {
        self.custom_data = data;
        self
    }

    /// Where the events are POSTed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `Webhook-ID-UUID` this target's requests carry (generated by [`new`](Self::new)).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("custom_data", &self.custom_data)
            .field("id", &self.id)
            .finish()
    }
}

/// One attempt at delivering a webhook, as the emulator recorded it
/// (`GET /_emulator/webhooks`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookAttempt {
    /// `Webhook-Request-ID-UUID`: the same for every attempt at one event.
    pub request_id: String,
    /// `Webhook-ID-UUID`: the target's id.
    pub webhook_id: String,
    /// The target's URL.
    pub url: String,
    /// `v1.PublishToUsersAttempt`, `v1.UserNotificationAcknowledgement` or `v1.UserNotificationOpen`.
    pub event_type: String,
    /// The event's id (`metadata.event_id`), the same on every attempt.
    pub event_id: String,
    /// 1 for the first attempt, up to 5.
    pub attempt: u32,
    /// The answer's status, if one came within 3 seconds.
    pub status: Option<u16>,
    /// Why there was no usable answer (connection refused, timed out after 3 s, …).
    pub error: Option<String>,
    /// Whether this attempt succeeded (a `2xx` within 3 seconds).
    pub delivered: bool,
    /// The body sent (the same bytes on every attempt).
    pub body: Value,
    /// When the attempt was made, in milliseconds since the Unix epoch.
    pub sent_at_ms: u64,
}
