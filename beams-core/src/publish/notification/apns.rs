//! The `apns` payload: Apple's `aps` dictionary, the app's `data`, and the APNs headers Beams
//! takes in the payload.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{put, put_data};

/// Priority of an APNs notification (the `apns-priority` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApnsPriority {
    /// `5`: delivered when it suits the device's power use (required for background-only
    /// notifications).
    Normal,
    /// `10`: delivered immediately (APNs' default for alerts).
    High,
}

impl Serialize for ApnsPriority {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(match self {
            Self::Normal => 5,
            Self::High => 10,
        })
    }
}

/// The `apns` payload.
///
/// Beams pushes only `aps` and `data` to the device: app data goes in `data`
/// ([`data`](Self::data), [`data_field`](Self::data_field)), never beside `aps`. `collapse_id`,
/// `expiration` and `priority` become APNs request headers. Beams adds
/// `"content-available": 1` to `aps` to track delivery (the iOS SDK's acknowledgements)
/// unless [`disable_delivery_tracking`](Self::disable_delivery_tracking) is set.
///
/// ```
/// use beams_core::publish::{ApnsAlert, ApnsPayload, ApnsPriority, Aps};
/// use serde_json::json;
///
/// let apns = ApnsPayload::new(
///     Aps::new()
///         .alert(ApnsAlert::new().title("Hello").body("Hello, world!"))
///         .sound("default")
///         .mutable_content(true),
/// )
/// .data(json!({"order": 42}))
/// .data_field("screen", "orders")
/// .collapse_id("order-42")
/// .expiration(1_700_000_000)
/// .priority(ApnsPriority::High)
/// .disable_delivery_tracking(true);
/// assert_eq!(
///     serde_json::to_value(&apns).unwrap(),
///     json!({
///         "aps": {
///             "alert": {"title": "Hello", "body": "Hello, world!"},
///             "sound": "default",
///             "mutable-content": 1
///         },
///         "data": {"order": 42, "screen": "orders"},
///         "collapse_id": "order-42",
///         "expiration": 1_700_000_000,
///         "priority": 10,
///         "pusher": {"disable_delivery_tracking": true}
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApnsPayload {
    aps: Aps,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collapse_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<ApnsPriority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pusher: Option<PusherOptions>,
}

/// Beams' own options in the `apns` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct PusherOptions {
    disable_delivery_tracking: bool,
}

impl ApnsPayload {
    /// A payload with its `aps` dictionary.
    pub fn new(aps: Aps) -> Self {
        Self {
            aps,
            ..Self::default()
        }
    }

    /// Data for the app (`data`): a JSON object, delivered beside `aps`.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// One entry of the app's `data` (the object is created if needed). Keys outside `data`
    /// and `aps` are not delivered by Beams, so this is where custom values go.
    ///
    /// If [`data`](Self::data) was set to something other than an object, the notification
    /// fails validation anyway, and this leaves it as it is.
    #[must_use]
    pub fn data_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put_data(&mut self.data, key, value);
        self
    }

    /// The `apns-collapse-id` header: notifications with the same id replace each other on
    /// the device (at most 64 bytes, per Apple).
    #[must_use]
    pub fn collapse_id(mut self, id: impl Into<String>) -> Self {
        self.collapse_id = Some(id.into());
        self
    }

    /// The `apns-expiration` header: the Unix time (seconds) after which APNs stops trying
    /// to deliver; `0` means deliver once or not at all.
    #[must_use]
    pub fn expiration(mut self, unix_seconds: u64) -> Self {
        self.expiration = Some(unix_seconds);
        self
    }

    /// The `apns-priority` header.
    #[must_use]
    pub fn priority(mut self, priority: ApnsPriority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Whether Beams should leave `aps` as it is instead of adding `"content-available": 1`,
    /// which wakes the app to acknowledge delivery (and so drives delivery reports).
    #[must_use]
    pub fn disable_delivery_tracking(mut self, disable: bool) -> Self {
        self.pusher = Some(PusherOptions {
            disable_delivery_tracking: disable,
        });
        self
    }
}

/// Apple's `aps` dictionary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Aps {
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<ApnsAlert>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<String>,
    #[serde(rename = "thread-id", skip_serializing_if = "Option::is_none")]
    thread_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(rename = "content-available", skip_serializing_if = "Option::is_none")]
    content_available: Option<u8>,
    #[serde(rename = "mutable-content", skip_serializing_if = "Option::is_none")]
    mutable_content: Option<u8>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl Aps {
    /// An empty `aps` dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The alert: a string, or an [`ApnsAlert`] dictionary.
    #[must_use]
    pub fn alert(mut self, alert: impl Into<ApnsAlert>) -> Self {
        self.alert = Some(alert.into());
        self
    }

    /// The number shown on the app icon (0 clears it).
    #[must_use]
    pub fn badge(mut self, badge: u32) -> Self {
        self.badge = Some(badge);
        self
    }

    /// The sound file to play (`default` for the system sound).
    #[must_use]
    pub fn sound(mut self, sound: impl Into<String>) -> Self {
        self.sound = Some(sound.into());
        self
    }

    /// Groups notifications (`thread-id`).
    #[must_use]
    pub fn thread_id(mut self, id: impl Into<String>) -> Self {
        self.thread_id = Some(id.into());
        self
    }

    /// The notification category (actions).
    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// A background update (`content-available: 1`).
    #[must_use]
    pub fn content_available(mut self, yes: bool) -> Self {
        self.content_available = yes.then_some(1);
        self
    }

    /// Lets a notification service extension modify the content (`mutable-content: 1`).
    #[must_use]
    pub fn mutable_content(mut self, yes: bool) -> Self {
        self.mutable_content = yes.then_some(1);
        self
    }

    /// Any other `aps` key, sent as it is (e.g. `interruption-level`).
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}

/// An APNs alert: plain text or a dictionary (`title`, `subtitle`, `body`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ApnsAlert {
    /// A plain string alert.
    Text(String),
    /// An alert dictionary.
    Dict(Map<String, Value>),
}

impl ApnsAlert {
    /// An empty alert dictionary; add `title`, `body`, ….
    pub fn new() -> Self {
        Self::Dict(Map::new())
    }

    /// Sets the title.
    #[must_use]
    pub fn title(self, title: impl Into<String>) -> Self {
        self.field("title", title.into())
    }

    /// Sets the subtitle.
    #[must_use]
    pub fn subtitle(self, subtitle: impl Into<String>) -> Self {
        self.field("subtitle", subtitle.into())
    }

    /// Sets the body.
    #[must_use]
    pub fn body(self, body: impl Into<String>) -> Self {
        self.field("body", body.into())
    }

    /// Sets any key of the dictionary (e.g. `loc-key`). A text alert becomes a dictionary
    /// with its text as `body`.
    #[must_use]
    pub fn field(self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let mut map = match self {
            Self::Dict(map) => map,
            Self::Text(text) => {
                let mut map = Map::new();
                map.insert("body".into(), text.into());
                map
            }
        };
        put(&mut map, key, value);
        Self::Dict(map)
    }
}

impl Default for ApnsAlert {
    fn default() -> Self {
        Self::new()
    }
}

impl From<&str> for ApnsAlert {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for ApnsAlert {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}
