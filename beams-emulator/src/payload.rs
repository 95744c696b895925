//! What a device receives for a publish: the platform payload with Beams' `pusher` metadata.

use serde_json::{Map, Value, json};

use beams_core::Platform;

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
        Platform::Apns => payload
            .get("aps")
            .and_then(Value::as_object)
            .and_then(|aps| aps.get("alert"))
            .is_some_and(|alert| !alert.is_null()),
        _ => non_empty_object(payload.get("notification")),
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
        Platform::Fcm => {
            let mut out = payload.clone();
            let mut data = match out.remove("data") {
                Some(Value::Object(d)) => d,
                _ => Map::new(),
            };
            // FCM data values are strings; the Android SDK parses this one as JSON.
            data.insert("pusher".to_owned(), Value::String(metadata.to_string()));
            out.insert("data".to_owned(), Value::Object(data));
            Value::Object(out)
        }
        Platform::Apns => apns_device_payload(payload, metadata),
        // A platform added to Beams after this emulator: its object as published.
        _ => Value::Object(payload.clone()),
    }
}

/// What an iOS device receives: only `aps` and `data` (custom keys beside them, and the
/// `collapse_id`, `expiration` and `priority` that Beams turns into APNs headers, are not
/// pushed), with `"content-available": 1` added to `aps` for delivery tracking unless
/// `pusher.disable_delivery_tracking` is true.
fn apns_device_payload(payload: &Map<String, Value>, metadata: Value) -> Value {
    let mut aps = match payload.get("aps") {
        Some(Value::Object(aps)) => aps.clone(),
        _ => Map::new(),
    };
    let tracking_disabled = payload
        .get("pusher")
        .and_then(|p| p.get("disable_delivery_tracking"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !tracking_disabled {
        aps.insert("content-available".to_owned(), Value::from(1));
    }
    let mut data = match payload.get("data") {
        Some(Value::Object(d)) => d.clone(),
        _ => Map::new(),
    };
    data.insert("pusher".to_owned(), metadata);
    json!({"aps": aps, "data": data})
}
