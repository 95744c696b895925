//! The publish API and the customer API (delete user).

use std::collections::BTreeMap;

use axum::extract::Request;
use http::header::{self, HeaderMap};
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{
    ApiError, HandlerResult, allow, check_instance, decode_segment, empty, error, json_response,
    not_found, parse_object, read_body, require_json_content_type, type_name,
};
use crate::model::PublishTarget;
use crate::state::{EmulatorState, RateCheck};

/// Body cap of a publish to interests (Beams' documented 10 KiB).
pub(crate) const INTERESTS_BODY_LIMIT: usize = 10 * 1024;
/// Body cap of a publish to users (Beams' documented 200 KiB).
pub(crate) const USERS_BODY_LIMIT: usize = 200 * 1024;
const MAX_INTERESTS: usize = 100;
const MAX_USERS: usize = 1000;
pub(crate) const MAX_NAME_LEN: usize = 164;
/// The pattern Beams quotes in its 422 answers.
pub(crate) const INTEREST_PATTERN: &str = r"^[a-zA-Z0-9_\-=@,.;]+$";

pub(crate) fn is_interest_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-=@,.;".contains(c)
}

fn unprocessable(description: impl Into<String>) -> ApiError {
    error(StatusCode::UNPROCESSABLE_ENTITY, description)
}

fn rate_limit(state: &EmulatorState) -> HandlerResult<()> {
    match state.check_rate() {
        (RateCheck::Allowed, _) => Ok(()),
        (RateCheck::Limited, limit) => Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("max {limit} RPS"),
        )
        .with_header(header::RETRY_AFTER, http::HeaderValue::from_static("1"))),
    }
}

/// `Authorization: Bearer <secret>`: 400 when absent (as documented), 401 when wrong.
fn check_secret(state: &EmulatorState, headers: &HeaderMap) -> HandlerResult<()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Missing Authorization header",
        ));
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let expected = state.secret_key().as_bytes();
    let ok = given.is_some_and(|given| {
        let given = given.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if ok {
        Ok(())
    } else {
        Err(error(StatusCode::UNAUTHORIZED, "Incorrect Secret Key"))
    }
}

fn recorded_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = if name == header::AUTHORIZATION {
            "Bearer [redacted]".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        out.entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Interests,
    Users,
}

impl Kind {
    /// What a publish of this kind targets: `interests` or `users` (its body's key too).
    fn as_str(self) -> &'static str {
        match self {
            Self::Interests => "interests",
            Self::Users => "users",
        }
    }
}

pub(super) async fn publish(
    state: &EmulatorState,
    request: Request,
    instance: &str,
    rest: &[&str],
) -> HandlerResult {
    let kind = match rest {
        ["publishes"] | ["publishes", "interests"] => Kind::Interests,
        ["publishes", "users"] => Kind::Users,
        _ => return Err(not_found(request.uri().path())),
    };
    allow(request.method(), &[Method::POST])?;
    check_instance(state, instance)?;
    let (parts, body) = request.into_parts();
    // Authenticate first: callers without the secret must not use up the budget.
    check_secret(state, &parts.headers)?;
    rate_limit(state)?;
    require_json_content_type(&parts.headers)?;
    let limit = match kind {
        Kind::Interests => INTERESTS_BODY_LIMIT,
        Kind::Users => USERS_BODY_LIMIT,
    };
    let bytes = read_body(body, limit, || {
        error(
            StatusCode::BAD_REQUEST,
            format!(
                "Request body too large: a publish to {} may be at most {} bytes",
                kind.as_str(),
                limit
            ),
        )
    })
    .await?;
    let object = parse_object(&bytes)?;
    let target = validate(kind, &object)?;
    let targets = match &target {
        PublishTarget::Interests(list) | PublishTarget::Users(list) => list.len(),
    };
    let outcome = state.record_publish(
        target,
        Value::Object(object),
        parts.uri.path().to_owned(),
        recorded_headers(&parts.headers),
    );
    // Counts only: user ids, interests and payloads stay out of the log.
    tracing::info!(
        target: "beams_emulator",
        publish_id = %outcome.publish_id,
        kind = kind.as_str(),
        targets,
        devices = outcome.devices,
        "publish"
    );
    crate::webhook::publish_attempt(state, &outcome);
    Ok(json_response(
        StatusCode::OK,
        &json!({"publishId": outcome.publish_id}),
    ))
}

/// Validate a publish body the way Beams' JSON schema does; the texts follow its answers
/// ("`interests.0`: Does not match pattern '…'", "`users`: array items must be unique").
fn validate(kind: Kind, body: &Map<String, Value>) -> HandlerResult<PublishTarget> {
    let key = kind.as_str();
    let max = match kind {
        Kind::Interests => MAX_INTERESTS,
        Kind::Users => MAX_USERS,
    };
    let Some(list) = body.get(key) else {
        return Err(unprocessable(format!("`(root)`: {key} is required")));
    };
    let Value::Array(items) = list else {
        return Err(unprocessable(format!(
            "`{key}`: Invalid type. Expected: array, given: {}",
            type_name(list)
        )));
    };
    if items.is_empty() {
        return Err(unprocessable(format!(
            "`{key}`: Array must have at least 1 items"
        )));
    }
    if items.len() > max {
        return Err(unprocessable(format!(
            "`{key}`: Array must have at most {max} items"
        )));
    }
    let mut names = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(name) = item else {
            return Err(unprocessable(format!(
                "`{key}.{i}`: Invalid type. Expected: string, given: {}",
                type_name(item)
            )));
        };
        if name.is_empty() {
            return Err(unprocessable(format!(
                "`{key}.{i}`: String length must be greater than or equal to 1"
            )));
        }
        // Interests are ASCII by pattern; user ids are limited in UTF-8 bytes (the documented
        // "UTF-8 strings of at most 164 bytes").
        let too_long = match kind {
            Kind::Interests => name.chars().count() > MAX_NAME_LEN,
            Kind::Users => name.len() > MAX_NAME_LEN,
        };
        if too_long {
            return Err(unprocessable(format!(
                "`{key}.{i}`: String length must be less than or equal to {MAX_NAME_LEN}"
            )));
        }
        if kind == Kind::Interests && !name.chars().all(is_interest_char) {
            return Err(unprocessable(format!(
                "`{key}.{i}`: Does not match pattern '{INTEREST_PATTERN}'"
            )));
        }
        names.push(name.clone());
    }
    if kind == Kind::Users {
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        if !names.iter().all(|n| seen.insert(n)) {
            return Err(unprocessable("`users`: array items must be unique"));
        }
    }

    let mut any_platform = false;
    for platform in ["apns", "fcm", "web"] {
        match body.get(platform) {
            None | Some(Value::Null) => {}
            Some(Value::Object(_)) => any_platform = true,
            Some(other) => {
                return Err(unprocessable(format!(
                    "`{platform}`: Invalid type. Expected: object, given: {}",
                    type_name(other)
                )));
            }
        }
    }
    if !any_platform {
        return Err(unprocessable(
            "`(root)`: a publish must contain at least one of `apns`, `fcm` or `web`",
        ));
    }
    if let Some(data) = body.get("web").and_then(|web| web.get("data")) {
        match data {
            Value::Null => {}
            Value::Object(map) if map.contains_key("pusher") => {
                return Err(unprocessable(
                    "`web.data`: must not contain the key `pusher`, which is reserved for Beams",
                ));
            }
            Value::Object(_) => {}
            other => {
                return Err(unprocessable(format!(
                    "`web.data`: Invalid type. Expected: object, given: {}",
                    type_name(other)
                )));
            }
        }
    }
    if let Some(url) = body.get("webhookUrl")
        && !url.is_string()
        && !url.is_null()
    {
        return Err(unprocessable(format!(
            "`webhookUrl`: Invalid type. Expected: string, given: {}",
            type_name(url)
        )));
    }
    Ok(match kind {
        Kind::Interests => PublishTarget::Interests(names),
        Kind::Users => PublishTarget::Users(names),
    })
}

/// `DELETE /{customer_api|user_api}/v1/instances/{id}/users/{user id}`.
pub(super) async fn customer(
    state: &EmulatorState,
    request: Request,
    api: &str,
    instance: &str,
    rest: &[&str],
) -> HandlerResult {
    let ["users", user] = rest else {
        return Err(not_found(request.uri().path()));
    };
    allow(request.method(), &[Method::DELETE])?;
    check_instance(state, instance)?;
    check_secret(state, request.headers())?;
    rate_limit(state)?;
    let Some(user_id) = decode_segment(user) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "User id must be valid UTF-8 (after percent-decoding)",
        ));
    };
    if user_id.is_empty() || user_id.len() > MAX_NAME_LEN {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "User id must be between 1-164 bytes long",
        ));
    }
    let removed = state.delete_user(&user_id);
    tracing::debug!(target: "beams_emulator", api, removed, "user deleted");
    Ok(empty(StatusCode::OK))
}
