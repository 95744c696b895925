//! The Beams Tokens both example apps issue, checked by other ecosystems' JWT libraries and
//! compared with the official server SDKs' tokens:
//!
//! - PyJWT (`jwt.decode`, `require: [exp, iss, sub]`) and Node's `jsonwebtoken` (`jwt.verify`)
//!   verify every token: HS256 with the secret's UTF-8 bytes, issuer, subject, expiry;
//! - both reject wrong secrets, tampered claims, other subjects and issuers, expired tokens
//!   (so the checks above are not vacuous);
//! - the claim set equals the official Python SDK's `generate_token` (same header, keys, iss,
//!   sub, exp within a minute) and the Go SDK's (`exp`, `iss`, `sub`); the Node SDK adds `iat`,
//!   which we leave out on purpose (a server clock ahead of Beams' would make fresh tokens "used before issued");
//! - the emulator's device API accepts them for set-user.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use beams_core::{Instance, TokenIssuer, UserId};
use beams_emulator::Platform;
use beams_tests::interop::AWKWARD_USER_IDS;
use beams_tests::interop::apps::{App, INSTANCE_ID, SECRET_KEY, demo_beams, issuer};
use beams_tests::interop::encode::uri_component;
use beams_tests::interop::jwt::{
    self, Expected, HEADER_B64, assert_beams_token, assert_verified_everywhere, claim_names,
    segment,
};
use beams_tests::interop::peers;
use serde_json::{Value, json};

/// The users of this file: the awkward ones plus the longest ids allowed (164 bytes).
fn users() -> Vec<String> {
    let mut users: Vec<String> = AWKWARD_USER_IDS.iter().map(|u| (*u).to_owned()).collect();
    users.push("x".repeat(164));
    users.push("é".repeat(82));
    users.push("😀".repeat(41));
    users
}

/// Logs `user` in on `app` and fetches a token with reqwest (pre-encoded query).
async fn token_from(app: &App, user: &str) -> String {
    let session = app.login(user).await;
    let url = format!("{}?user_id={}", app.auth_url(), uri_component(user));
    let response = session.client.get(&url).send().await.expect("GET auth");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, 200, "{} {user:?}: {body}", app.framework().name());
    let token = body["token"].as_str().expect("token").to_owned();
    assert_beams_token(&token, user, &issuer());
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_both_apps_verify_with_pyjwt_and_node_jsonwebtoken() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    let mut tokens = Vec::new();
    for app in &apps {
        for user in users() {
            tokens.push(Expected::new(token_from(app, &user).await, user));
        }
    }
    assert_verified_everywhere(SECRET_KEY, &issuer(), &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_verifiers_reject_bad_tokens() {
    let config = Instance::new(INSTANCE_ID, SECRET_KEY).unwrap();
    let ours = TokenIssuer::new(&config);
    let alice = UserId::new("alice").unwrap();
    let good = ours.issue(&alice).unwrap().into_string();

    let other_secret = TokenIssuer::new(&Instance::new(INSTANCE_ID, "another-secret").unwrap());
    let other_instance = TokenIssuer::new(&Instance::new("another-instance", SECRET_KEY).unwrap());
    let expired = ours
        .issue_at(&alice, SystemTime::now() - Duration::from_secs(25 * 3600))
        .unwrap();
    // The claims swapped for mallory's, the signature kept.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut claims = segment(&good, 1);
    claims["sub"] = json!("mallory");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");

    let cases = [
        (
            "control: the good token",
            Expected::new(&good, "alice"),
            true,
        ),
        (
            "another secret",
            Expected::new(other_secret.issue(&alice).unwrap().into_string(), "alice"),
            false,
        ),
        (
            "another instance (issuer)",
            Expected::new(other_instance.issue(&alice).unwrap().into_string(), "alice"),
            false,
        ),
        (
            "expired",
            Expected::new(expired.into_string(), "alice"),
            false,
        ),
        ("tampered claims", Expected::new(tampered, "mallory"), false),
        ("another subject", Expected::new(&good, "bob"), false),
    ];
    let tokens: Vec<Expected> = cases.iter().map(|(_, t, _)| t.clone()).collect();
    let node = jwt::verify_with_node(SECRET_KEY, &issuer(), &tokens).await;
    let python = jwt::verify_with_pyjwt(SECRET_KEY, &issuer(), &tokens).await;
    for (((what, _, ok), node), python) in cases.iter().zip(&node).zip(&python) {
        assert_eq!(node["ok"], *ok, "jsonwebtoken, {what}: {node}");
        assert_eq!(python["ok"], *ok, "PyJWT, {what}: {python}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_set_matches_the_official_python_sdk_and_node_adds_iat() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    let users = users();

    // The Python SDK's exp is only right when the host's local time is UTC (it feeds a naive
    // UTC datetime to time.mktime): TZ=UTC here, pinned for the child so a developer's
    // timezone cannot skew the comparison.
    let python = peers::python("interop_generate_token.py")
        .env("TZ", "UTC")
        .stdin_json(&json!({"instanceId": INSTANCE_ID, "secret": SECRET_KEY, "userIds": users}))
        .run_json_async()
        .await;
    let python_tokens: Vec<&str> = python["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(python_tokens.len(), users.len());

    let emu = beams.emulator().expect("emulator mode");
    let ops: Vec<Value> = users
        .iter()
        .map(|u| json!({"op": "generateToken", "userId": u}))
        .collect();
    let node = peers::node("emulator-sdk.mjs")
        .arg(Value::Array(ops).to_string())
        .env("BEAMS_EMULATOR_HOST", "127.0.0.1")
        .env("BEAMS_EMULATOR_PORT", emu.port().to_string())
        .env("BEAMS_INSTANCE_ID", INSTANCE_ID)
        .env("BEAMS_SECRET_KEY", SECRET_KEY)
        .run_json_async()
        .await;

    for app in &apps {
        for (i, user) in users.iter().enumerate() {
            let what = format!("{} {user:?}", app.framework().name());
            let ours = token_from(app, user).await;
            let theirs = python_tokens[i];

            // Same header, byte for byte: {"alg":"HS256","typ":"JWT"}.
            assert_eq!(
                theirs.split('.').next(),
                Some(HEADER_B64),
                "{what}: PyJWT header"
            );
            assert_eq!(segment(&ours, 0), segment(theirs, 0), "{what}");

            let (our_claims, py_claims) = (segment(&ours, 1), segment(theirs, 1));
            assert_eq!(claim_names(&our_claims), claim_names(&py_claims), "{what}");
            assert_eq!(claim_names(&our_claims), ["exp", "iss", "sub"], "{what}");
            assert_eq!(our_claims["iss"], py_claims["iss"], "{what}");
            assert_eq!(our_claims["sub"], py_claims["sub"], "{what}");
            let (our_exp, py_exp) = (
                our_claims["exp"].as_u64().expect("integer exp"),
                py_claims["exp"].as_u64().expect("integer exp"),
            );
            assert!(
                our_exp.abs_diff(py_exp) <= 60,
                "{what}: exp {our_exp} vs the Python SDK's {py_exp}"
            );

            // The Node SDK: the same claims plus iat (jsonwebtoken's default).
            let node_token = node[i]["value"]["token"].as_str().expect("Node token");
            let node_claims = segment(node_token, 1);
            assert_eq!(
                claim_names(&node_claims),
                ["exp", "iat", "iss", "sub"],
                "{what}"
            );
            assert_eq!(node_claims["iss"], our_claims["iss"], "{what}");
            assert_eq!(node_claims["sub"], our_claims["sub"], "{what}");
            assert_eq!(segment(node_token, 0), segment(&ours, 0), "{what}");
        }
    }
    // And the Python SDK's tokens pass the same checks as ours.
    let theirs: Vec<Expected> = users
        .iter()
        .zip(&python_tokens)
        .map(|(u, t)| Expected::new(*t, u.as_str()))
        .collect();
    assert_verified_everywhere(SECRET_KEY, &issuer(), &theirs).await;
    // With TZ=UTC its exp is its own clock + 24 h (off by the UTC offset otherwise).
    let python_now = python["now"].as_u64().expect("now");
    for token in &python_tokens {
        let exp = segment(token, 1)["exp"].as_u64().expect("integer exp");
        assert!(
            exp.abs_diff(python_now + jwt::TTL_SECS) <= 2,
            "Python SDK exp {exp}, generated at {python_now}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_device_api_accepts_our_tokens_for_set_user() {
    let beams = demo_beams().await;
    let apps = App::start_both(&beams).await;
    let emu = beams.emulator().expect("emulator mode");
    let client = reqwest::Client::new();
    for app in &apps {
        for user in users() {
            let token = token_from(app, &user).await;
            let device = emu.state().register_device(Platform::Web);
            let url = format!(
                "{}/device_api/v1/instances/{INSTANCE_ID}/devices/web/{}/user",
                emu.base_url(),
                device.id
            );
            let response = client
                .put(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("PUT user");
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, 200, "{} {user:?}: {body}", app.framework().name());
            assert_eq!(
                emu.state()
                    .device(&device.id)
                    .and_then(|d| d.user_id)
                    .as_deref(),
                Some(user.as_str())
            );
        }
    }
}
