//! The `fcm` payload: the legacy FCM HTTP format Beams uses.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{put, put_data};

/// Priority of an FCM message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FcmPriority {
    /// `normal` (FCM's default for data messages).
    Normal,
    /// `high`: delivered immediately, may wake the device.
    High,
}

/// The `fcm` payload, in the legacy FCM HTTP format Beams uses.
///
/// ```
/// use beams_core::publish::{FcmNotification, FcmPayload, FcmPriority};
/// use serde_json::json;
///
/// let fcm = FcmPayload::new()
///     .notification(FcmNotification::new("Hello", "Hello, world!").sound("default"))
///     .data(json!({"order": "42"}))
///     .time_to_live(600)
///     .collapse_key("orders")
///     .priority(FcmPriority::High);
/// assert_eq!(
///     serde_json::to_value(&fcm).unwrap(),
///     json!({
///         "notification": {"title": "Hello", "body": "Hello, world!", "sound": "default"},
///         "data": {"order": "42"},
///         "time_to_live": 600,
///         "collapse_key": "orders",
///         "priority": "high"
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FcmPayload {
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<FcmNotification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_to_live: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collapse_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<FcmPriority>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl FcmPayload {
    /// An empty FCM payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the device displays.
    #[must_use]
    pub fn notification(mut self, notification: FcmNotification) -> Self {
        self.notification = Some(notification);
        self
    }

    /// Data for the app: a JSON object whose values are **strings**. Beams delivers through
    /// FCM's HTTP v1 API, which takes nothing else in `data`, so a number, boolean, array or
    /// object there fails [`Notification::validate`](super::Notification::validate)
    /// (`ValidationError::FcmDataNotString`): encode it (as JSON text, say) first, or use
    /// [`data_field`](Self::data_field).
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// One string entry of `data` (the object is created if needed).
    ///
    /// ```
    /// use beams_core::publish::FcmPayload;
    /// use serde_json::json;
    ///
    /// let fcm = FcmPayload::new().data_field("order", 42.to_string()).data_field("screen", "orders");
    /// assert_eq!(
    ///     serde_json::to_value(&fcm).unwrap(),
    ///     json!({"data": {"order": "42", "screen": "orders"}})
    /// );
    /// ```
    #[must_use]
    pub fn data_field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        put_data(&mut self.data, key, value.into());
        self
    }

    /// How long, in seconds, FCM keeps the message for an offline device (at most 4 weeks).
    #[must_use]
    pub fn time_to_live(mut self, seconds: u32) -> Self {
        self.time_to_live = Some(seconds);
        self
    }

    /// Messages with the same key replace each other while undelivered.
    #[must_use]
    pub fn collapse_key(mut self, key: impl Into<String>) -> Self {
        self.collapse_key = Some(key.into());
        self
    }

    /// Delivery priority.
    #[must_use]
    pub fn priority(mut self, priority: FcmPriority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Any other key of the `fcm` payload, sent as it is (don't repeat one that has a setter).
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}

/// The `notification` of an [`FcmPayload`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FcmNotification {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    click_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    android_channel_id: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl FcmNotification {
    /// A notification with a title and a body.
    pub fn new(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            body: Some(body.into()),
            ..Self::default()
        }
    }

    /// The drawable resource name of the icon.
    #[must_use]
    pub fn icon(mut self, icon: impl Into<String>) -> Self {
        self.icon = Some(icon.into());
        self
    }

    /// The sound to play (`default` or a resource name).
    #[must_use]
    pub fn sound(mut self, sound: impl Into<String>) -> Self {
        self.sound = Some(sound.into());
        self
    }

    /// Notifications with the same tag replace each other in the drawer.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Icon colour, `#rrggbb`.
    #[must_use]
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }

    /// The intent action started when the notification is tapped.
    #[must_use]
    pub fn click_action(mut self, action: impl Into<String>) -> Self {
        self.click_action = Some(action.into());
        self
    }

    /// The Android notification channel.
    #[must_use]
    pub fn android_channel_id(mut self, channel: impl Into<String>) -> Self {
        self.android_channel_id = Some(channel.into());
        self
    }

    /// Any other key of FCM's `notification` object, sent as it is (not one with a setter).
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}
