//! The device API (`/device_api/v1/instances/{id}/…`) and the reporting API.

use std::collections::BTreeSet;

use axum::extract::Request;
use beams_core::Platform;
use http::{Method, StatusCode, header};
use serde_json::{Value, json};

use super::publish::is_interest_char;
use super::{
    ApiError, HandlerResult, allow, check_instance, decode_segment, empty, error, json_response,
    not_found, parse_object, read_body, require_json_content_type,
};
use crate::jwt;
use crate::limits::{
    DEVICE_BODY_LIMIT, MAX_METADATA_BYTES, MAX_TOKEN_BYTES, REGISTRATION_BODY_LIMIT,
    REPORTING_BODY_LIMIT,
};
use crate::model::now_secs;
use crate::state::{
    DevicesFull, EmulatorState, InterestError, MAX_INTERESTS_PER_DEVICE, Registration, SetUserError,
};

/// Default and maximum page size of `GET …/interests`.
const MAX_PAGE: usize = 100;
/// The most `knownPreviousClientIds` looked at.
const MAX_PREVIOUS_IDS: usize = 16;

fn too_large(limit: usize) -> impl FnOnce() -> ApiError {
    move || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body too large: the limit is {limit} bytes"),
        )
    }
}

fn full(what: &str, limit: usize) -> ApiError {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "The emulator holds its maximum of {limit} {what}: delete some or reset it \
             (POST /_emulator/reset)"
        ),
    )
}

fn device_not_found() -> ApiError {
    error(StatusCode::NOT_FOUND, "Device not found")
}

fn platform(raw: &str) -> HandlerResult<Platform> {
    raw.parse().map_err(|_| {
        error(
            StatusCode::NOT_FOUND,
            format!("Unknown platform `{raw}`: expected web, fcm or apns"),
        )
    })
}

fn device_id(raw: &str) -> HandlerResult<String> {
    match decode_segment(raw) {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(error(StatusCode::BAD_REQUEST, "Invalid device id.")),
    }
}

fn interest_error(state: &EmulatorState) -> impl FnOnce(InterestError) -> ApiError + '_ {
    move |e| match e {
        InterestError::DeviceNotFound => device_not_found(),
        InterestError::TooMany => error(
            StatusCode::BAD_REQUEST,
            format!("Too many interests: a device may have at most {MAX_INTERESTS_PER_DEVICE}"),
        ),
        InterestError::Full => full(
            "interest subscriptions",
            state.settings().limits.max_subscriptions,
        ),
    }
}

fn check_interest(name: &str) -> HandlerResult<()> {
    if name.is_empty() || name.len() > 164 || !name.chars().all(is_interest_char) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "Invalid interest name {name:?}: interests are 1-164 characters of ASCII \
                 letters, digits and _-=@,.;"
            ),
        ));
    }
    Ok(())
}

async fn json_body(
    request: Request,
    limit: usize,
) -> HandlerResult<serde_json::Map<String, Value>> {
    require_json_content_type(request.headers())?;
    let bytes = read_body(request.into_body(), limit, too_large(limit)).await?;
    parse_object(&bytes)
}

/// The `token` field: a non-empty string of at most [`MAX_TOKEN_BYTES`].
fn token_field(body: &mut serde_json::Map<String, Value>) -> HandlerResult<String> {
    match body.remove("token") {
        Some(Value::String(token)) if !token.is_empty() && token.len() <= MAX_TOKEN_BYTES => {
            Ok(token)
        }
        Some(Value::String(token)) if !token.is_empty() => Err(error(
            StatusCode::BAD_REQUEST,
            format!("`token` may be at most {MAX_TOKEN_BYTES} bytes"),
        )),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "`token` is required and must be a non-empty string",
        )),
    }
}

/// A metadata object of at most [`MAX_METADATA_BYTES`] serialized.
fn metadata_value(metadata: Value) -> HandlerResult<Value> {
    if !metadata.is_object() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "`metadata` must be an object",
        ));
    }
    if metadata.to_string().len() > MAX_METADATA_BYTES {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("`metadata` may be at most {MAX_METADATA_BYTES} bytes of JSON"),
        ));
    }
    Ok(metadata)
}

pub(super) async fn route(
    state: &EmulatorState,
    request: Request,
    instance: &str,
    rest: &[&str],
) -> HandlerResult {
    let method = request.method().clone();
    match rest {
        ["web-vapid-public-key"] => {
            allow(&method, &[Method::GET])?;
            check_instance(state, instance)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"vapidPublicKey": state.vapid_public_key()}),
            ))
        }
        ["devices", p] => {
            allow(&method, &[Method::POST])?;
            check_instance(state, instance)?;
            let platform = platform(p)?;
            register(state, request, platform).await
        }
        ["devices", p, d] => {
            allow(&method, &[Method::GET, Method::DELETE])?;
            check_instance(state, instance)?;
            let platform = platform(p)?;
            let id = device_id(d)?;
            if method == Method::DELETE {
                // 2xx even for unknown devices: the Android SDK retries anything else forever.
                state.delete_device(&id, platform);
                return Ok(empty(StatusCode::OK));
            }
            let device = state
                .device_on(&id, platform)
                .ok_or_else(device_not_found)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"id": device.id, "userId": device.user_id, "metadata": device.metadata}),
            ))
        }
        ["devices", p, d, "user"] => {
            allow(&method, &[Method::PUT])?;
            check_instance(state, instance)?;
            let platform = platform(p)?;
            let id = device_id(d)?;
            set_user(state, &request, platform, &id)
        }
        ["devices", p, d, "interests"] => {
            allow(&method, &[Method::GET, Method::PUT])?;
            check_instance(state, instance)?;
            let platform = platform(p)?;
            let id = device_id(d)?;
            if method == Method::GET {
                list_interests(state, &request, platform, &id)
            } else {
                replace_interests(state, request, platform, &id).await
            }
        }
        ["devices", p, d, "interests", interest] => {
            allow(&method, &[Method::POST, Method::DELETE])?;
            check_instance(state, instance)?;
            let platform = platform(p)?;
            let id = device_id(d)?;
            let Some(interest) = decode_segment(interest) else {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "Interest name must be valid UTF-8",
                ));
            };
            check_interest(&interest)?;
            let result = if method == Method::POST {
                state.add_interest(&id, Some(platform), &interest)
            } else {
                state.remove_interest(&id, platform, &interest)
            };
            result.map_err(interest_error(state))?;
            Ok(empty(StatusCode::OK))
        }
        ["devices", p, d, "metadata"] => {
            allow(&method, &[Method::PUT])?;
            check_instance(state, instance)?;
            let platform = platform(p)?;
            let id = device_id(d)?;
            let metadata = json_body(request, MAX_METADATA_BYTES).await?;
            let metadata = metadata_value(Value::Object(metadata))?;
            if state.update_device(&id, platform, |device| {
                device.metadata = metadata;
            }) {
                Ok(empty(StatusCode::OK))
            } else {
                Err(device_not_found())
            }
        }
        ["devices", "fcm", d, "token"] => {
            allow(&method, &[Method::PUT])?;
            check_instance(state, instance)?;
            let id = device_id(d)?;
            let mut body = json_body(request, REGISTRATION_BODY_LIMIT).await?;
            let token = token_field(&mut body)?;
            if state.update_device(&id, Platform::Fcm, |device| device.token = Some(token)) {
                Ok(empty(StatusCode::OK))
            } else {
                Err(device_not_found())
            }
        }
        _ => Err(not_found(request.uri().path())),
    }
}

async fn register(state: &EmulatorState, request: Request, platform: Platform) -> HandlerResult {
    let mut body = json_body(request, REGISTRATION_BODY_LIMIT).await?;
    let token = token_field(&mut body)?;
    let metadata = metadata_value(body.remove("metadata").unwrap_or_else(|| json!({})))?;
    // Only the Android SDK sends previous ids; a web device never inherits anything.
    let known_previous_ids = match (platform, body.remove("knownPreviousClientIds")) {
        (Platform::Fcm | Platform::Apns, Some(Value::Array(ids))) => ids
            .into_iter()
            .filter_map(|id| match id {
                Value::String(id) => Some(id),
                _ => None,
            })
            .take(MAX_PREVIOUS_IDS)
            .collect(),
        _ => Vec::new(),
    };
    let registration = Registration {
        token,
        metadata,
        known_previous_ids,
    };
    let (device, initial) = state
        .register(platform, registration, true)
        .map_err(|DevicesFull| full("devices", state.settings().limits.max_devices))?;
    let response = match platform {
        Platform::Fcm | Platform::Apns => json!({"id": device.id, "initialInterestSet": initial}),
        _ => json!({"id": device.id}),
    };
    Ok(json_response(StatusCode::OK, &response))
}

fn set_user(
    state: &EmulatorState,
    request: &Request,
    platform: Platform,
    id: &str,
) -> HandlerResult {
    let settings = state.settings();
    let reject = |r: jwt::TokenRejection| error(r.status, r.description);
    let token = jwt::bearer(request.headers().get(header::AUTHORIZATION)).map_err(reject)?;
    let user_id = jwt::verify(
        token,
        settings.secret.0.as_bytes(),
        &settings.instance_id,
        now_secs(),
        settings.jwt_leeway_secs,
    )
    .map_err(reject)?;
    match state.set_user(id, Some(platform), &user_id) {
        Ok(()) => Ok(empty(StatusCode::OK)),
        Err(SetUserError::DeviceNotFound) => Err(device_not_found()),
        Err(SetUserError::AlreadyAssociated) => Err(error(
            StatusCode::BAD_REQUEST,
            "A User Id is already associated with this device.",
        )),
        Err(SetUserError::TooManyDevices) => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "User already has reached the maximum of 100 devices",
        )),
    }
}

fn query_param(request: &Request, name: &str) -> Option<String> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| decode_segment(v).unwrap_or_default())
    })
}

fn list_interests(
    state: &EmulatorState,
    request: &Request,
    platform: Platform,
    id: &str,
) -> HandlerResult {
    let limit = match query_param(request, "limit").filter(|v| !v.is_empty()) {
        None => MAX_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "`limit` must be a positive integer",
                ));
            }
        },
    };
    let start = match query_param(request, "cursor").filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| error(StatusCode::BAD_REQUEST, "`cursor` is not a valid cursor"))?,
    };
    let device = state.device_on(id, platform).ok_or_else(device_not_found)?;
    let page: Vec<&String> = device.interests.iter().skip(start).take(limit).collect();
    let end = start.saturating_add(page.len());
    let metadata = if end < device.interests.len() {
        json!({"nextCursor": end.to_string()})
    } else {
        json!({})
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"interests": page, "responseMetadata": metadata}),
    ))
}

async fn replace_interests(
    state: &EmulatorState,
    request: Request,
    platform: Platform,
    id: &str,
) -> HandlerResult {
    let body = json_body(request, DEVICE_BODY_LIMIT).await?;
    let Some(Value::Array(items)) = body.get("interests") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "`interests` is required and must be an array",
        ));
    };
    let mut interests = BTreeSet::new();
    for item in items {
        let Value::String(name) = item else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "`interests` must contain only strings",
            ));
        };
        check_interest(name)?;
        interests.insert(name.clone());
    }
    state
        .replace_interests(id, platform, interests)
        .map_err(interest_error(state))?;
    Ok(empty(StatusCode::OK))
}

/// `POST /reporting_api/v2/instances/{id}/events`: Beams' checks (a JSON content type, the
/// fields `event`, `publishId`, `deviceId` and `timestampSecs`), then 200.
pub(super) async fn report(
    state: &EmulatorState,
    request: Request,
    instance: &str,
) -> HandlerResult {
    allow(request.method(), &[Method::POST])?;
    check_instance(state, instance)?;
    require_json_content_type(request.headers())?;
    let bytes = read_body(
        request.into_body(),
        REPORTING_BODY_LIMIT,
        too_large(REPORTING_BODY_LIMIT),
    )
    .await?;
    let body = parse_object(&bytes)?;
    for (field, valid) in [
        (
            "event",
            body.get("event")
                .is_some_and(|e| matches!(e.as_str(), Some("delivery" | "open"))),
        ),
        (
            "publishId",
            body.get("publishId").is_some_and(Value::is_string),
        ),
        (
            "deviceId",
            body.get("deviceId").is_some_and(Value::is_string),
        ),
        (
            "timestampSecs",
            body.get("timestampSecs").is_some_and(Value::is_number),
        ),
    ] {
        if !valid {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "`{field}` is required{}",
                    match field {
                        "event" => " and must be \"delivery\" or \"open\"",
                        "timestampSecs" => " and must be a number",
                        _ => " and must be a string",
                    }
                ),
            ));
        }
    }
    crate::webhook::reported(state, &body);
    state.record_event(Value::Object(body));
    Ok(empty(StatusCode::OK))
}
