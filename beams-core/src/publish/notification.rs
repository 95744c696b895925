//! The notification object: typed builders for web, FCM and APNs, with a raw-JSON escape hatch.

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use super::error::{Platform, ValidationError};
use super::validate;

/// The longest web `time_to_live` Beams accepts: 2 419 200 seconds (4 weeks).
pub const MAX_WEB_TIME_TO_LIVE: u32 = 2_419_200;

/// What to send: one payload per platform (at least one), and an optional webhook URL.
///
/// Publishing takes `&Notification`; the target list is added to the request body, never to
/// the notification, so one value can be published many times.
///
/// ```
/// use beams_core::publish::{ApnsPayload, Aps, FcmNotification, FcmPayload, Notification,
///     WebNotification, WebPayload};
/// use serde_json::json;
///
/// let notification = Notification::new()
///     .web(
///         WebPayload::new()
///             .notification(
///                 WebNotification::new("Order shipped", "Your order #42 is on its way")
///                     .deep_link("https://shop.example.com/orders/42"),
///             )
///             .data(json!({"order": 42})),
///     )
///     .fcm(FcmPayload::new().notification(FcmNotification::new("Order shipped", "On its way")))
///     .apns(ApnsPayload::new(Aps::new().alert("Order #42 shipped").badge(1)));
///
/// assert_eq!(
///     notification.to_json(),
///     json!({
///         "web": {
///             "notification": {
///                 "title": "Order shipped",
///                 "body": "Your order #42 is on its way",
///                 "deep_link": "https://shop.example.com/orders/42"
///             },
///             "data": {"order": 42}
///         },
///         "fcm": {"notification": {"title": "Order shipped", "body": "On its way"}},
///         "apns": {"aps": {"alert": "Order #42 shipped", "badge": 1}}
///     })
/// );
/// notification.validate()?;
/// # Ok::<(), beams_core::publish::ValidationError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Notification {
    #[serde(skip_serializing_if = "Option::is_none")]
    web: Option<Payload<WebPayload>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fcm: Option<Payload<FcmPayload>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apns: Option<Payload<ApnsPayload>>,
    #[serde(rename = "webhookUrl", skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Payload<T> {
    Typed(T),
    Raw(Value),
}

impl Notification {
    /// An empty notification; add at least one platform payload before publishing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the web payload.
    pub fn web(mut self, payload: WebPayload) -> Self {
        self.web = Some(Payload::Typed(payload));
        self
    }

    /// Sets the web payload as raw JSON (a JSON object, sent as it is).
    ///
    /// ```
    /// use beams_core::publish::Notification;
    /// use serde_json::json;
    ///
    /// let n = Notification::new().web_raw(json!({"notification": {"title": "Hi"}}));
    /// assert_eq!(n.to_json(), json!({"web": {"notification": {"title": "Hi"}}}));
    /// ```
    pub fn web_raw(mut self, payload: Value) -> Self {
        self.web = Some(Payload::Raw(payload));
        self
    }

    /// Sets the FCM payload.
    pub fn fcm(mut self, payload: FcmPayload) -> Self {
        self.fcm = Some(Payload::Typed(payload));
        self
    }

    /// Sets the FCM payload as raw JSON (a JSON object in the legacy FCM format).
    pub fn fcm_raw(mut self, payload: Value) -> Self {
        self.fcm = Some(Payload::Raw(payload));
        self
    }

    /// Sets the APNs payload.
    pub fn apns(mut self, payload: ApnsPayload) -> Self {
        self.apns = Some(Payload::Typed(payload));
        self
    }

    /// Sets the APNs payload as raw JSON (a JSON object, usually `{"aps": {…}, …}`).
    pub fn apns_raw(mut self, payload: Value) -> Self {
        self.apns = Some(Payload::Raw(payload));
        self
    }

    /// Sets the URL Beams calls back with the publish's delivery report (`webhookUrl`).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Whether any platform payload is set.
    pub fn has_platform(&self) -> bool {
        self.web.is_some() || self.fcm.is_some() || self.apns.is_some()
    }

    /// The notification as JSON (without `interests`/`users`).
    pub fn to_json(&self) -> Value {
        // A Notification holds only strings, integers, booleans and JSON values, which
        // always serialize.
        serde_json::to_value(self).expect("a Notification always serializes")
    }

    /// Checks the rules that do not depend on the targets: at least one platform, raw
    /// payloads and `data` are JSON objects, no `pusher` key in web data, web TTL ≤ 4 weeks.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !self.has_platform() {
            return Err(ValidationError::NoPlatform);
        }
        match &self.web {
            Some(Payload::Typed(web)) => {
                if let Some(ttl) = web.time_to_live
                    && ttl > MAX_WEB_TIME_TO_LIVE
                {
                    return Err(ValidationError::WebTimeToLiveTooLong(ttl.into()));
                }
                check_web_data(web.data.as_ref())?;
            }
            Some(Payload::Raw(raw)) => {
                let object = raw.as_object().ok_or(ValidationError::PayloadNotObject {
                    platform: Platform::Web,
                })?;
                if let Some(ttl) = object.get("time_to_live").and_then(Value::as_u64)
                    && ttl > u64::from(MAX_WEB_TIME_TO_LIVE)
                {
                    return Err(ValidationError::WebTimeToLiveTooLong(ttl));
                }
                check_web_data(object.get("data"))?;
            }
            None => {}
        }
        match &self.fcm {
            Some(Payload::Typed(fcm)) => check_data(Platform::Fcm, fcm.data.as_ref())?,
            Some(Payload::Raw(raw)) => check_raw(Platform::Fcm, raw)?,
            None => {}
        }
        match &self.apns {
            Some(Payload::Typed(apns)) => check_data(Platform::Apns, apns.data.as_ref())?,
            Some(Payload::Raw(raw)) => check_raw(Platform::Apns, raw)?,
            None => {}
        }
        Ok(())
    }

    /// Validates everything and returns the exact body [`BeamsClient`](super::BeamsClient)
    /// would POST to `…/publishes/interests`.
    ///
    /// ```
    /// use beams_core::publish::{Notification, ValidationError};
    /// use serde_json::json;
    ///
    /// let n = Notification::new().fcm_raw(json!({"notification": {"title": "Hi"}}));
    /// let body = n.interests_body(&["news"])?;
    /// assert_eq!(
    ///     serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
    ///     json!({"interests": ["news"], "fcm": {"notification": {"title": "Hi"}}})
    /// );
    /// assert!(matches!(
    ///     n.interests_body(&["a:b"]),
    ///     Err(ValidationError::InvalidInterestChar { index: 0, found: ':', .. })
    /// ));
    /// # Ok::<(), ValidationError>(())
    /// ```
    pub fn interests_body(&self, interests: &[&str]) -> Result<Vec<u8>, ValidationError> {
        validate::interests(interests)?;
        self.validate()?;
        self.body("interests", interests, validate::MAX_INTERESTS_BODY_BYTES)
    }

    /// Validates everything and returns the exact body [`BeamsClient`](super::BeamsClient)
    /// would POST to `…/publishes/users`.
    pub fn users_body(&self, users: &[&str]) -> Result<Vec<u8>, ValidationError> {
        validate::users(users)?;
        self.validate()?;
        self.body("users", users, validate::MAX_USERS_BODY_BYTES)
    }

    fn body(
        &self,
        key: &'static str,
        targets: &[&str],
        limit: usize,
    ) -> Result<Vec<u8>, ValidationError> {
        let mut out = Vec::with_capacity(256 + targets.len() * 24);
        let body = Body {
            notification: self,
            key,
            targets,
        };
        serde_json::to_writer(&mut out, &body).expect("a Notification always serializes");
        if out.len() > limit {
            return Err(ValidationError::BodyTooLarge {
                size: out.len(),
                limit,
            });
        }
        Ok(out)
    }
}

/// The request body: targets, then the notification's fields, without copying either.
struct Body<'a> {
    notification: &'a Notification,
    key: &'static str,
    targets: &'a [&'a str],
}

impl Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.notification;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(self.key, self.targets)?;
        if let Some(web) = &n.web {
            map.serialize_entry("web", web)?;
        }
        if let Some(fcm) = &n.fcm {
            map.serialize_entry("fcm", fcm)?;
        }
        if let Some(apns) = &n.apns {
            map.serialize_entry("apns", apns)?;
        }
        if let Some(url) = &n.webhook_url {
            map.serialize_entry("webhookUrl", url)?;
        }
        map.end()
    }
}

fn check_raw(platform: Platform, raw: &Value) -> Result<(), ValidationError> {
    let object = raw
        .as_object()
        .ok_or(ValidationError::PayloadNotObject { platform })?;
    check_data(platform, object.get("data"))
}

fn check_data(platform: Platform, data: Option<&Value>) -> Result<(), ValidationError> {
    match data {
        Some(data) if !data.is_object() => Err(ValidationError::DataNotObject { platform }),
        _ => Ok(()),
    }
}

fn check_web_data(data: Option<&Value>) -> Result<(), ValidationError> {
    check_data(Platform::Web, data)?;
    match data.and_then(Value::as_object) {
        Some(object) if object.contains_key("pusher") => Err(ValidationError::ReservedWebDataKey),
        _ => Ok(()),
    }
}

/// Sets an extra key in a flattened map, for fields without a typed setter.
fn put(extra: &mut Map<String, Value>, key: impl Into<String>, value: impl Into<Value>) {
    extra.insert(key.into(), value.into());
}

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
    time_to_live: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<WebNotification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
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
    pub fn time_to_live(mut self, seconds: u32) -> Self {
        self.time_to_live = Some(seconds);
        self
    }

    /// What the browser shows.
    pub fn notification(mut self, notification: WebNotification) -> Self {
        self.notification = Some(notification);
        self
    }

    /// Data for the page's handler: a JSON object without the reserved key `pusher`.
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Any other field, sent as it is. Don't repeat a field that has a setter.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}

/// The `notification` of a [`WebPayload`]: what the browser displays.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebNotification {
    title: String,
    body: String,
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
        Self {
            title: title.into(),
            body: body.into(),
            icon: None,
            deep_link: None,
            hide_notification_if_site_has_focus: None,
            extra: Map::new(),
        }
    }

    /// URL of the icon to show.
    pub fn icon(mut self, url: impl Into<String>) -> Self {
        self.icon = Some(url.into());
        self
    }

    /// URL opened when the notification is clicked.
    pub fn deep_link(mut self, url: impl Into<String>) -> Self {
        self.deep_link = Some(url.into());
        self
    }

    /// Don't show the notification while the site has focus (Beams' default: show it).
    pub fn hide_notification_if_site_has_focus(mut self, hide: bool) -> Self {
        self.hide_notification_if_site_has_focus = Some(hide);
        self
    }

    /// Any other field, sent as it is. Don't repeat a field that has a setter.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}

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
///     .data(json!({"order": 42}))
///     .time_to_live(600)
///     .collapse_key("orders")
///     .priority(FcmPriority::High);
/// assert_eq!(
///     serde_json::to_value(&fcm).unwrap(),
///     json!({
///         "notification": {"title": "Hello", "body": "Hello, world!", "sound": "default"},
///         "data": {"order": 42},
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
    data: Option<Value>,
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
    pub fn notification(mut self, notification: FcmNotification) -> Self {
        self.notification = Some(notification);
        self
    }

    /// Data for the app: a JSON object.
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// How long, in seconds, FCM keeps the message for an offline device (at most 4 weeks).
    pub fn time_to_live(mut self, seconds: u32) -> Self {
        self.time_to_live = Some(seconds);
        self
    }

    /// Messages with the same key replace each other while undelivered.
    pub fn collapse_key(mut self, key: impl Into<String>) -> Self {
        self.collapse_key = Some(key.into());
        self
    }

    /// Delivery priority.
    pub fn priority(mut self, priority: FcmPriority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Any other field, sent as it is. Don't repeat a field that has a setter.
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
    pub fn icon(mut self, icon: impl Into<String>) -> Self {
        self.icon = Some(icon.into());
        self
    }

    /// The sound to play (`default` or a resource name).
    pub fn sound(mut self, sound: impl Into<String>) -> Self {
        self.sound = Some(sound.into());
        self
    }

    /// Notifications with the same tag replace each other in the drawer.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Icon colour, `#rrggbb`.
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }

    /// The intent action started when the notification is tapped.
    pub fn click_action(mut self, action: impl Into<String>) -> Self {
        self.click_action = Some(action.into());
        self
    }

    /// The Android notification channel.
    pub fn android_channel_id(mut self, channel: impl Into<String>) -> Self {
        self.android_channel_id = Some(channel.into());
        self
    }

    /// Any other field, sent as it is. Don't repeat a field that has a setter.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
        self
    }
}

/// The `apns` payload: Apple's `aps` dictionary plus custom keys.
///
/// ```
/// use beams_core::publish::{ApnsAlert, ApnsPayload, Aps};
/// use serde_json::json;
///
/// let apns = ApnsPayload::new(
///     Aps::new()
///         .alert(ApnsAlert::new().title("Hello").body("Hello, world!"))
///         .sound("default")
///         .mutable_content(true),
/// )
/// .data(json!({"order": 42}));
/// assert_eq!(
///     serde_json::to_value(&apns).unwrap(),
///     json!({
///         "aps": {
///             "alert": {"title": "Hello", "body": "Hello, world!"},
///             "sound": "default",
///             "mutable-content": 1
///         },
///         "data": {"order": 42}
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApnsPayload {
    aps: Aps,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl ApnsPayload {
    /// A payload with its `aps` dictionary.
    pub fn new(aps: Aps) -> Self {
        Self {
            aps,
            data: None,
            extra: Map::new(),
        }
    }

    /// Data for the app (`data`): a JSON object.
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Any other top-level key, sent as it is. Don't use `aps` or `data`.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        put(&mut self.extra, key, value);
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
    pub fn alert(mut self, alert: impl Into<ApnsAlert>) -> Self {
        self.alert = Some(alert.into());
        self
    }

    /// The number shown on the app icon (0 clears it).
    pub fn badge(mut self, badge: u32) -> Self {
        self.badge = Some(badge);
        self
    }

    /// The sound file to play (`default` for the system sound).
    pub fn sound(mut self, sound: impl Into<String>) -> Self {
        self.sound = Some(sound.into());
        self
    }

    /// Groups notifications (`thread-id`).
    pub fn thread_id(mut self, id: impl Into<String>) -> Self {
        self.thread_id = Some(id.into());
        self
    }

    /// The notification category (actions).
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// A background update (`content-available: 1`).
    pub fn content_available(mut self, yes: bool) -> Self {
        self.content_available = yes.then_some(1);
        self
    }

    /// Lets a notification service extension modify the content (`mutable-content: 1`).
    pub fn mutable_content(mut self, yes: bool) -> Self {
        self.mutable_content = yes.then_some(1);
        self
    }

    /// Any other `aps` key, sent as it is (e.g. `interruption-level`).
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
    pub fn title(self, title: impl Into<String>) -> Self {
        self.field("title", title.into())
    }

    /// Sets the subtitle.
    pub fn subtitle(self, subtitle: impl Into<String>) -> Self {
        self.field("subtitle", subtitle.into())
    }

    /// Sets the body.
    pub fn body(self, body: impl Into<String>) -> Self {
        self.field("body", body.into())
    }

    /// Sets any key of the dictionary (e.g. `loc-key`). A text alert becomes a dictionary
    /// with its text as `body`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn web() -> Notification {
        Notification::new().web(WebPayload::new().notification(WebNotification::new("t", "b")))
    }

    #[test]
    fn body_adds_targets_without_mutating() {
        let n = web().webhook_url("https://example.com/hook");
        let before = n.clone();
        let body: Value =
            serde_json::from_slice(&n.users_body(&["alice", "bob"]).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "users": ["alice", "bob"],
                "web": {"notification": {"title": "t", "body": "b"}},
                "webhookUrl": "https://example.com/hook"
            })
        );
        assert_eq!(n, before);
        assert_eq!(n.to_json().get("users"), None);
    }

    #[test]
    fn platform_rules() {
        assert_eq!(
            Notification::new().validate(),
            Err(ValidationError::NoPlatform)
        );
        assert_eq!(
            Notification::new().webhook_url("x").interests_body(&["a"]),
            Err(ValidationError::NoPlatform)
        );
        let reserved = Notification::new().web(WebPayload::new().data(json!({"pusher": 1})));
        assert_eq!(
            reserved.validate(),
            Err(ValidationError::ReservedWebDataKey)
        );
        let reserved = Notification::new().web_raw(json!({"data": {"pusher": {}}}));
        assert_eq!(
            reserved.validate(),
            Err(ValidationError::ReservedWebDataKey)
        );
        assert_eq!(
            Notification::new()
                .fcm(FcmPayload::new().data(json!([1])))
                .validate(),
            Err(ValidationError::DataNotObject {
                platform: Platform::Fcm
            })
        );
        assert_eq!(
            Notification::new().apns_raw(json!("x")).validate(),
            Err(ValidationError::PayloadNotObject {
                platform: Platform::Apns
            })
        );
        assert_eq!(
            Notification::new()
                .web(WebPayload::new().time_to_live(MAX_WEB_TIME_TO_LIVE + 1))
                .validate(),
            Err(ValidationError::WebTimeToLiveTooLong(2_419_201))
        );
        assert!(
            Notification::new()
                .web(WebPayload::new().time_to_live(MAX_WEB_TIME_TO_LIVE))
                .validate()
                .is_ok()
        );
        assert!(
            Notification::new()
                .apns(ApnsPayload::new(Aps::new()))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn body_limits_are_measured_on_the_serialized_body() {
        // {"interests":["a"],"fcm":{"data":{"k":"…"}}} — find the largest value that fits.
        let overhead = Notification::new()
            .fcm(FcmPayload::new().data(json!({"k": ""})))
            .interests_body(&["a"])
            .unwrap()
            .len();
        let fill = |n| Notification::new().fcm(FcmPayload::new().data(json!({"k": "x".repeat(n)})));
        let fits = 10 * 1024 - overhead;
        assert_eq!(fill(fits).interests_body(&["a"]).unwrap().len(), 10 * 1024);
        assert_eq!(
            fill(fits + 1).interests_body(&["a"]),
            Err(ValidationError::BodyTooLarge {
                size: 10 * 1024 + 1,
                limit: 10 * 1024
            })
        );
        // The users limit is 200 KiB.
        assert!(fill(fits + 1).users_body(&["a"]).is_ok());
        assert!(matches!(
            fill(200 * 1024).users_body(&["a"]),
            Err(ValidationError::BodyTooLarge { limit: 204_800, .. })
        ));
    }

    #[test]
    fn apns_alert_forms() {
        let text = serde_json::to_value(Aps::new().alert("hi")).unwrap();
        assert_eq!(text, json!({"alert": "hi"}));
        let dict = ApnsAlert::from("hi").title("T");
        assert_eq!(
            serde_json::to_value(dict).unwrap(),
            json!({"body": "hi", "title": "T"})
        );
        let aps = Aps::new()
            .content_available(true)
            .thread_id("t")
            .category("c")
            .field("interruption-level", "passive");
        assert_eq!(
            serde_json::to_value(aps).unwrap(),
            json!({"thread-id": "t", "category": "c", "content-available": 1, "interruption-level": "passive"})
        );
    }
}
