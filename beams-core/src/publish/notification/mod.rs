//! The notification object: typed builders for web, FCM and APNs, with a raw-JSON escape hatch.

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

mod apns;
mod fcm;
mod web;

pub use apns::{ApnsAlert, ApnsPayload, ApnsPriority, Aps};
pub use fcm::{FcmNotification, FcmPayload, FcmPriority};
pub use web::{WebNotification, WebPayload};

use super::error::ValidationError;
use super::validate;
use crate::Platform;

/// The longest web `time_to_live` Beams accepts: 2 419 200 seconds (4 weeks).
pub const MAX_WEB_TIME_TO_LIVE: u32 = 2_419_200;

/// What to send: one payload per platform (at least one), and an optional (deprecated)
/// webhook URL.
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
    #[must_use]
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
    #[must_use]
    pub fn web_raw(mut self, payload: Value) -> Self {
        self.web = Some(Payload::Raw(payload));
        self
    }

    /// Sets the FCM payload.
    #[must_use]
    pub fn fcm(mut self, payload: FcmPayload) -> Self {
        self.fcm = Some(Payload::Typed(payload));
        self
    }

    /// Sets the FCM payload as raw JSON (a JSON object in the legacy FCM format).
    #[must_use]
    pub fn fcm_raw(mut self, payload: Value) -> Self {
        self.fcm = Some(Payload::Raw(payload));
        self
    }

    /// Sets the APNs payload.
    #[must_use]
    pub fn apns(mut self, payload: ApnsPayload) -> Self {
        self.apns = Some(Payload::Typed(payload));
        self
    }

    /// Sets the APNs payload as raw JSON (a JSON object, usually `{"aps": {…}, …}`).
    #[must_use]
    pub fn apns_raw(mut self, payload: Value) -> Self {
        self.apns = Some(Payload::Raw(payload));
        self
    }

    /// Sets the publish's `webhookUrl`: **deprecated by Beams**, documented for publishes to
    /// interests only, and **unsigned** (Beams' docs suggest basic-auth credentials in the
    /// URL). Beams posts `{publishId, status: "STARTED", requestBody}` and later the counts of
    /// successful and failed publishes per platform. For reports on publishes to users —
    /// which users had no devices, acknowledgements, opens — configure a webhook of your
    /// instance in the Beams dashboard instead and receive it with the `webhook` feature's
    /// `WebhookReceiver`, which verifies its signature.
    #[must_use]
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// A notification read back from [`to_json`](Self::to_json) (each platform payload kept
    /// as raw JSON, which serializes to the same body). `None` for anything else.
    #[cfg(feature = "outbox")]
    pub(crate) fn from_stored(value: Value) -> Option<Self> {
        let Value::Object(mut object) = value else {
            return None;
        };
        let mut notification = Self::new();
        notification.web = object.remove("web").map(Payload::Raw);
        notification.fcm = object.remove("fcm").map(Payload::Raw);
        notification.apns = object.remove("apns").map(Payload::Raw);
        notification.webhook_url = match object.remove("webhookUrl") {
            Some(Value::String(url)) => Some(url),
            Some(_) => return None,
            None => None,
        };
        (object.is_empty() && notification.has_platform()).then_some(notification)
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
    /// payloads and `data` are JSON objects, FCM `data` values are strings, no `pusher` key in
    /// web data, web TTL ≤ 4 weeks.
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
            Some(Payload::Typed(fcm)) => check_fcm_data(fcm.data.as_ref())?,
            Some(Payload::Raw(raw)) => {
                check_raw(Platform::Fcm, raw)?;
                check_fcm_data(raw.get("data"))?;
            }
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

/// FCM's HTTP v1 API, which Beams delivers through, takes only string values in `data`.
fn check_fcm_data(data: Option<&Value>) -> Result<(), ValidationError> {
    check_data(Platform::Fcm, data)?;
    let not_string = data
        .and_then(Value::as_object)
        .and_then(|object| object.iter().find(|(_, v)| !v.is_string()));
    match not_string {
        Some((key, _)) => Err(ValidationError::FcmDataNotString { key: key.clone() }),
        None => Ok(()),
    }
}

fn check_web_data(data: Option<&Value>) -> Result<(), ValidationError> {
    check_data(Platform::Web, data)?;
    match data.and_then(Value::as_object) {
        Some(object) if object.contains_key("pusher") => Err(ValidationError::ReservedWebDataKey),
        _ => Ok(()),
    }
}

/// Sets one entry of a payload's `data`, creating the object if needed; a `data` that is not
/// an object is left as it is (validation refuses it).
fn put_data(data: &mut Option<Value>, key: impl Into<String>, value: impl Into<Value>) {
    if let Value::Object(data) = data.get_or_insert_with(|| Value::Object(Map::new())) {
        put(data, key, value);
    }
}

/// Sets an extra key in a flattened map, for fields without a typed setter.
fn put(extra: &mut Map<String, Value>, key: impl Into<String>, value: impl Into<Value>) {
    extra.insert(key.into(), value.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn web() -> Notification {
        Notification::new().web(WebPayload::new().notification(WebNotification::new("t", "b")))
    }

    /// Beams' "Web format" (publish payloads reference, and the Node server SDK's
    /// `WebNotification` type) makes every notification field optional: a title alone, or no
    /// notification at all with only data, is a valid publish.
    #[test]
    fn web_notification_fields_are_all_optional() {
        let title_only = Notification::new()
            .web(WebPayload::new().notification(WebNotification::default().title("Back in stock")));
        title_only.validate().unwrap();
        assert_eq!(
            title_only.to_json(),
            json!({"web": {"notification": {"title": "Back in stock"}}})
        );
        let body_only = Notification::new()
            .web(WebPayload::new().notification(WebNotification::default().body("b")));
        assert_eq!(
            body_only.to_json(),
            json!({"web": {"notification": {"body": "b"}}})
        );
        let data_only = Notification::new().web(WebPayload::new().data(json!({"k": "v"})));
        data_only.validate().unwrap();
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
        // FCM's HTTP v1 API (which Beams delivers through) takes only string values in
        // `data` (Firebase's "Build app server send requests" page: data is a map of strings).
        assert_eq!(
            Notification::new()
                .fcm(FcmPayload::new().data(json!({"ok": "1", "order": 42})))
                .validate(),
            Err(ValidationError::FcmDataNotString {
                key: "order".to_owned()
            })
        );
        assert_eq!(
            Notification::new()
                .fcm_raw(json!({"data": {"nested": {"a": "b"}}}))
                .validate(),
            Err(ValidationError::FcmDataNotString {
                key: "nested".to_owned()
            })
        );
        assert!(
            Notification::new()
                .fcm(FcmPayload::new().data_field("order", "42"))
                .validate()
                .is_ok()
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
