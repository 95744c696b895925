//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use beams_emulator::{Emulator, EmulatorBuilder};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
pub const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

/// A builder for the emulator of [`INSTANCE`] and [`SECRET`].
pub fn builder() -> EmulatorBuilder {
    Emulator::builder().instance_id(INSTANCE).secret_key(SECRET)
}

pub async fn start() -> Emulator {
    builder().start().await.expect("emulator starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn issuer() -> String {
    format!("https://{INSTANCE}.pushnotifications.pusher.com")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An HS256 JWT over `claims`, signed with `secret`'s bytes.
pub fn sign(claims: &Value, secret: &str) -> String {
    let claims = serde_json::to_vec(claims).unwrap();
    sign_parts(
        br#"{"alg":"HS256","typ":"JWT"}"#,
        &claims,
        secret.as_bytes(),
    )
}

/// A JWT of these raw header and claims bytes, with an HMAC-SHA256 signature by `secret`.
pub fn sign_parts(header: &[u8], claims: &[u8], secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(header);
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

/// A valid Beams Token for `user`.
pub fn token(user: &str) -> String {
    sign(
        &json!({"sub": user, "iss": issuer(), "exp": now() + 3600}),
        SECRET,
    )
}

pub fn device_api(emu: &Emulator, rest: &str) -> String {
    format!(
        "{}/device_api/v1/instances/{}/{rest}",
        emu.base_url(),
        emu.state().instance_id()
    )
}

pub fn publish_api(emu: &Emulator, rest: &str) -> String {
    format!(
        "{}/publish_api/v1/instances/{}/{rest}",
        emu.base_url(),
        emu.state().instance_id()
    )
}

/// The inspection API's `/_emulator/{rest}`.
pub fn inspect(emu: &Emulator, rest: &str) -> String {
    format!("{}/_emulator/{rest}", emu.base_url())
}

/// Sends `request` and parses its JSON answer, whatever the status.
pub async fn fetch_json(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// `POST url` of a raw `body` with this content type, and the secret key `secret` if given.
pub async fn post_raw(
    c: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = c.post(url).header("content-type", content_type).body(body);
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    request.send().await.unwrap()
}

/// Register a device over HTTP; returns its id.
pub async fn register(emu: &Emulator, platform: &str) -> String {
    let response = client()
        .post(device_api(emu, &format!("devices/{platform}")))
        .json(&json!({"token": "dG9rZW4=", "metadata": {"sdkVersion": "test"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// `PUT …/user` with this `Authorization` value (none if `None`).
pub async fn set_user(
    emu: &Emulator,
    platform: &str,
    device: &str,
    authorization: Option<&str>,
) -> (u16, Value) {
    let mut request = client().put(device_api(
        emu,
        &format!("devices/{platform}/{device}/user"),
    ));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body expected, got {text:?}"))
    };
    (status, body)
}

/// `PUT …/user` with a valid Beams Token for `user`.
pub async fn set_user_as(emu: &Emulator, platform: &str, device: &str, user: &str) -> (u16, Value) {
    set_user(
        emu,
        platform,
        device,
        Some(&format!("Bearer {}", token(user))),
    )
    .await
}

/// Assert a response's status and Beams `error`; returns its JSON body.
pub async fn expect_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    let got = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "body: {body}");
    assert_eq!(body["error"], error, "body: {body}");
    body
}

/// Assert a Beams error body.
pub fn assert_error(body: &Value, error: &str, description: &str) {
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(body["description"], description, "body: {body}");
}
