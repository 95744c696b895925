//! What a device receives for a publish: the platform payload with Beams' `pusher` metadata.

use serde_json::{Map, Value, json};

use crate::model::Platform;

/// Build the payload a device of `platform` receives for a publish.
pub(crate) fn platform_payload(
    platform: Platform,
    payload: &Map<String, Value>,
    instance_id: &str,
    publish_id: &str,
) -> Value {
    let non_empty_object =
        |v: Option<&Value>| v.and_then(Value::as_object).is_some_and(|o| !o.is_empty());
    let has_data = non_empty_object(payload.get("data"));
    let has_displayable_content = match platform {
        Platform::Web | Platform::Fcm => non_empty_object(payload.get("notification")),
        Platform::Apns => payload
            .get("aps")
            .and_then(Value::as_object)
            .and_then(|aps| aps.get("alert"))
            .is_some_and(|alert| !alert.is_null()),
    };
    let metadata = json!({
        "instanceId": instance_id,
        "publishId": publish_id,
        "hasDisplayableContent": has_displayable_content,
        "hasData": has_data,
    });
    match platform {
        Platform::Web => {
            let mut data = Map::new();
            data.insert("pusher".to_owned(), metadata);
            if let Some(Value::Object(customer)) = payload.get("data") {
                for (k, v) in customer {
                    if k != "pusher" {
                        data.insert(k.clone(), v.clone());
                    }
                }
            }
            let mut out = Map::new();
            if let Some(notification) = payload.get("notification") {
                out.insert("notification".to_owned(), notification.clone());
            }
            out.insert("data".to_owned(), Value::Object(data));
            Value::Object(out)
        }
        Platform::Fcm | Platform::Apns => {
            let mut out = payload.clone();
            let mut data = match out.remove("data") {
                Some(Value::Object(d)) => d,
                _ => Map::new(),
            };
            let pusher = if platform == Platform::Fcm {
                // FCM data values are strings; the Android SDK parses this one as JSON.
                Value::String(metadata.to_string())
            } else {
                metadata
            };
            data.insert("pusher".to_owned(), pusher);
            out.insert("data".to_owned(), Value::Object(data));
            Value::Object(out)
        }
    }
}
