//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use beams_emulator::Emulator;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
pub const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

pub async fn start() -> Emulator {
    Emulator::builder()
        .instance_id(INSTANCE)
        .secret_key(SECRET)
        .start()
        .await
        .expect("emulator starts")
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
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
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
        emu.instance_id()
    )
}

pub fn publish_api(emu: &Emulator, rest: &str) -> String {
    format!(
        "{}/publish_api/v1/instances/{}/{rest}",
        emu.base_url(),
        emu.instance_id()
    )
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

/// Assert a Beams error body.
pub fn assert_error(body: &Value, error: &str, description: &str) {
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(body["description"], description, "body: {body}");
}
