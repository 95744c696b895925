//! Property tests of the emulator's token verification and JSON handling, through its router
//! (`EmulatorState::router` with `tower::ServiceExt::oneshot`; the verifier is private).
//!
//! - Tokens issued by beams-core for any instance, secret, user and TTL are accepted by
//!   `PUT …/devices/web/{id}/user`, and the device then belongs to exactly that user.
//! - Any `Authorization` value, any hand-made JWT (any claims, signed with the right key or
//!   not) and any request body are answered without a 5xx, in Beams' error shape.
//!
//! `cargo test -p beams-emulator --test it proptest_jwt`

use std::time::Duration;

use crate::common::{now, sign_parts};
use axum::body::Body;
use beams_core::{BeamsAuth, Instance, UserId};
use beams_emulator::{Emulator, EmulatorState, Platform};
use http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 256 cases (a second or so); `PROPTEST_CASES=N` for longer runs. Failures print the
/// minimal input; nothing is written into the source tree.
fn config() -> ProptestConfig {
    let defaults = ProptestConfig::default();
    ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            defaults.cases
        } else {
            256
        },
        failure_persistence: None,
        ..defaults
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn state(instance: &str, secret: &str) -> EmulatorState {
    Emulator::builder()
        .instance_id(instance)
        .secret_key(secret)
        .build_state()
        .unwrap()
}

/// Sends one request through the router: status and body.
async fn call(state: &EmulatorState, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = beams_emulator::router(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

/// Every answer is below 500 and, when it is an error, Beams-shaped JSON.
fn check_answer(status: StatusCode, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        !status.is_server_error(),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    if !status.is_success() {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("{status}: not JSON ({e})")))?;
        prop_assert!(
            v["error"].is_string() && v["description"].is_string(),
            "{v}"
        );
    }
    Ok(())
}

fn set_user_request(
    state: &EmulatorState,
    device: &str,
    authorization: Option<&[u8]>,
) -> Request<Body> {
    let mut request = Request::put(format!(
        "/device_api/v1/instances/{}/devices/web/{device}/user",
        state.instance_id()
    ));
    if let Some(value) = authorization {
        request = request.header(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    request.body(Body::empty()).unwrap()
}

fn user_id() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 1..60).prop_map(|chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > 164 {
                break;
            }
            s.push(c);
        }
        s
    })
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "sub",
                    "iss",
                    "exp",
                    "iat",
                    "nbf",
                    "users",
                    "interests",
                    "web",
                    "fcm",
                    "apns",
                    "token",
                    "metadata",
                    "x"
                ])
                .prop_map(String::from),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Claims that look like a Beams Token's, with each field possibly of the wrong type or value.
fn claims(instance: String) -> impl Strategy<Value = Value> {
    let now = now();
    let number = prop_oneof![
        (-100_000i64..100_000).prop_map(move |d| json!(now + d)),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        json_value(),
    ];
    let iss = prop_oneof![
        Just(json!(format!(
            "https://{instance}.pushnotifications.pusher.com"
        ))),
        Just(json!("")),
        json_value(),
    ];
    (
        prop::option::of(prop_oneof![
            user_id().prop_map(Value::from),
            ".{0,200}".prop_map(Value::from),
            json_value()
        ]),
        prop::option::of(iss),
        prop::option::of(number.clone()),
        prop::option::of(number.clone()),
        prop::option::of(number),
    )
        .prop_map(|(sub, iss, exp, iat, nbf)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("sub", sub),
                ("iss", iss),
                ("exp", exp),
                ("iat", iat),
                ("nbf", nbf),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(config())]

    /// beams-core's tokens are accepted by the emulator, for the user they name.
    #[test]
    fn beams_core_tokens_are_accepted(
        instance in "[A-Za-z0-9-]{1,40}",
        secret in "[!-~]{1,80}",
        user in user_id(),
        ttl in 1u64..=86_400,
    ) {
        let rt = runtime();
        let state = state(&instance, &secret);
        let device = state.register_device(Platform::Web);
        let config = Instance::new(instance.as_str(), secret.as_str()).unwrap();
        let token = BeamsAuth::builder(&config).token_ttl(Duration::from_secs(ttl)).build().unwrap().issuer().issue(&UserId::new(user.as_str()).unwrap()).unwrap();
        let auth = format!("Bearer {}", token.as_str());
        let (status, body) = rt.block_on(call(&state, set_user_request(&state, &device.id, Some(auth.as_bytes()))));
        prop_assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        prop_assert_eq!(state.device(&device.id).unwrap().user_id, Some(user.clone()));
        prop_assert_eq!(state.user_devices(&user).len(), 1);

        // The same token under another instance's emulator: refused (403 issuer).
        let other = state_with_suffix(&instance, &secret);
        let device = other.register_device(Platform::Web);
        let (status, body) = rt.block_on(call(&other, set_user_request(&other, &device.id, Some(auth.as_bytes()))));
        prop_assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));
    }

    /// Any `Authorization` header value: a 4xx in Beams' shape, never a 5xx; the device keeps
    /// no user.
    #[test]
    fn arbitrary_authorization_is_refused(
        value in prop_oneof![
            prop::collection::vec(prop_oneof![32u8..127, 128u8..=255, Just(b'\t')], 0..200),
            "(Bearer|bearer|BEARER|Basic)? ?[A-Za-z0-9_.=+/-]{0,120}".prop_map(String::into_bytes),
            "Bearer [A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,50}".prop_map(String::into_bytes),
        ],
        present in any::<bool>(),
    ) {
        let rt = runtime();
        let state = state("inst", "SECRET");
        let device = state.register_device(Platform::Web);
        let header = present.then_some(value.as_slice());
        let (status, body) = rt.block_on(call(&state, set_user_request(&state, &device.id, header)));
        check_answer(status, &body)?;
        prop_assert!(status.is_client_error(), "{status}");
        prop_assert!(state.device(&device.id).unwrap().user_id.is_none());
    }

    /// Hand-made JWTs with any header and claims, signed with the right secret or not: never
    /// a 5xx; accepted only with HS256, the right key, a string `sub` of 1–164 bytes, the
    /// right `iss` and an `exp`.
    #[test]
    fn arbitrary_jwts_never_5xx(
        claims in claims("inst".to_owned()),
        header in prop_oneof![
            3 => Just(json!({"alg": "HS256", "typ": "JWT"})),
            1 => Just(json!({"alg": "none"})),
            1 => Just(json!({"alg": "HS512", "typ": "JWT"})),
            1 => json_value(),
        ],
        right_key in any::<bool>(),
        raw_claims in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    ) {
        let rt = runtime();
        let state = state("inst", "SECRET");
        let device = state.register_device(Platform::Web);
        let key: &[u8] = if right_key { b"SECRET" } else { b"OTHER" };
        let claims_bytes = raw_claims.unwrap_or_else(|| serde_json::to_vec(&claims).unwrap());
        let token = sign_parts(&serde_json::to_vec(&header).unwrap(), &claims_bytes, key);
        let auth = format!("Bearer {token}");
        let (status, body) = rt.block_on(call(&state, set_user_request(&state, &device.id, Some(auth.as_bytes()))));
        check_answer(status, &body)?;
        if status == StatusCode::OK {
            prop_assert!(right_key);
            prop_assert_eq!(&header["alg"], "HS256");
            let sub = claims["sub"].as_str().unwrap();
            prop_assert!((1..=164).contains(&sub.len()));
            prop_assert_eq!(claims["iss"].as_str(), Some("https://inst.pushnotifications.pusher.com"));
            prop_assert!(claims["exp"].is_number());
            prop_assert_eq!(state.device(&device.id).unwrap().user_id, Some(sub.to_owned()));
        } else {
            prop_assert!(state.device(&device.id).unwrap().user_id.is_none());
        }
    }

    /// Any body (JSON of any shape, or bytes) to the publish and device APIs: never a 5xx.
    #[test]
    fn arbitrary_bodies_never_5xx(
        path in prop::sample::select(vec![
            "/publish_api/v1/instances/inst/publishes",
            "/publish_api/v1/instances/inst/publishes/interests",
            "/publish_api/v1/instances/inst/publishes/users",
            "/device_api/v1/instances/inst/devices/web",
            "/device_api/v1/instances/inst/devices/fcm",
            "/reporting_api/v2/instances/inst/events",
        ]),
        body in prop_oneof![
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..256),
            (prop::collection::vec(user_id(), 0..4), json_value()).prop_map(|(users, web)| {
                serde_json::to_vec(&json!({"users": users, "web": web})).unwrap()
            }),
        ],
        content_type in prop::sample::select(vec!["application/json", "application/json; charset=utf-8", "text/plain", ""]),
        authorized in any::<bool>(),
    ) {
        let rt = runtime();
        let state = state("inst", "SECRET");
        let mut request = Request::post(path);
        if !content_type.is_empty() {
            request = request.header(http::header::CONTENT_TYPE, content_type);
        }
        if authorized {
            request = request.header(http::header::AUTHORIZATION, "Bearer SECRET");
        }
        let (status, answer) = rt.block_on(call(&state, request.body(Body::from(body)).unwrap()));
        check_answer(status, &answer)?;
        if status.is_success() && path.contains("publishes") {
            let v: Value = serde_json::from_slice(&answer).unwrap();
            prop_assert!(v["publishId"].is_string());
            prop_assert_eq!(state.publishes().len(), 1);
        } else if path.contains("publishes") {
            prop_assert!(state.publishes().is_empty());
        }
    }
}

/// An emulator whose instance id differs from `instance`.
fn state_with_suffix(instance: &str, secret: &str) -> EmulatorState {
    state(&format!("{instance}-other"), secret)
}
