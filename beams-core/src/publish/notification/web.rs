//! The `web` payload: Beams' web push format.

use serde::Serialize;
use serde_json::{Map, Value};

use super::put;

/// The `web` payload (Beams' web push format).
///
/// ```
/// use beams_core::publish::{WebNotification, WebPayload};
/// use serde_json::json;
///
/// let web = WebPayload::new()
///     .time_to_live(3600)
///     .notification(
///         WebNotification::new("Hello", "Hello, world!")
///             .icon("https://example.com/icon.png")
///             .hide_notification_if_site_has_focus(true),
///     );
/// assert_eq!(
///     serde_json::to_value(&web).unwrap(),
///     json!({
///         "time_to_live": 3600,
///         "notification": {
///             "title": "Hello",
///             "body": "Hello, world!",
///             "icon": "https://example.com/icon.png",
///             "hide_notification_if_site_has_focus": true
///         }
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WebPayload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) time_to_live: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<WebNotification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl WebPayload {
    /// An empty web payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long, in seconds, the push service keeps the notification for an offline browser
    /// (Beams' default and maximum: 2 419 200, 4 weeks).
    #[must_use]
    pub fn time_to_live(mut self, seconds: u32) -> Self {
        self.time_to_live = Some(seconds);
        self
    }

    /// What the browser shows.
    #[must_use]
    pub fn notification(mut self, notification: WebNotification) -> Self {
        self.notification = Some(notification);
        self
    }

    /// Data for the page's handler: a JSON object without the reserved key `pusher`.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Any other key of the `web` payload, sent as it is (don't repeat one that has a setter).
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}

/// The `notification` of a [`WebPayload`]: what the browser displays. Every field is optional
/// in Beams' web format; [`new`](Self::new) sets the usual two, [`default`](Self::default)
/// none.
///
/// ```
/// use beams_core::publish::WebNotification;
/// use serde_json::json;
///
/// let only_a_title = WebNotification::default().title("Back in stock");
/// assert_eq!(serde_json::to_value(&only_a_title).unwrap(), json!({"title": "Back in stock"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WebNotification {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deep_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hide_notification_if_site_has_focus: Option<bool>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl WebNotification {
    /// A notification with a title and a body.
    pub fn new(title: impl Into<String>, body: impl Into<String>) -> Self {
        Self::default().title(title).body(body)
    }

    /// The title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The text under the title.
    #[must_use]
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// URL of the icon to show.
    #[must_use]
    pub fn icon(mut self, url: impl Into<String>) -> Self {
        self.icon = Some(url.into());
        self
    }

    /// URL opened when the notification is clicked.
    #[must_use]
    pub fn deep_link(mut self, url: impl Into<String>) -> Self {
        self.deep_link = Some(url.into());
        self
    }

    /// Don't show the notification while the site has focus (Beams' default: show it).
    #[must_use]
    pub fn hide_notification_if_site_has_focus(mut self, hide: bool) -> Self {
        self.hide_notification_if_site_has_focus = Some(hide);
        self
    }

    /// Any other key of the web `notification` object, sent as it is (not one with a setter).
    #[must_use]
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}
