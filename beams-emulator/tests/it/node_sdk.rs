//! The official Node server SDK (`@pusher/push-notifications-server`, pinned in tests/js) against the
//! emulator: it must not be able to tell the difference.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;
use beams_emulator::{Emulator, Platform};
use serde_json::{Value, json};

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/js")
}

/// Run tests/js/emulator-sdk.mjs with `ops`; returns its per-operation results.
fn node(emu: &Emulator, secret: &str, ops: Value) -> Vec<Value> {
    let dir = js_dir();
    let sdk = dir.join("node_modules/@pusher/push-notifications-server/push-notifications.js");
    assert!(
        sdk.is_file(),
        "the official Node SDK is not installed in {}: run ./scripts/test.sh or `npm ci` in tests/js",
        dir.display()
    );
    let output = Command::new("node")
        .current_dir(&dir)
        .arg("emulator-sdk.mjs")
        .arg(ops.to_string())
        .env("BEAMS_EMULATOR_HOST", "127.0.0.1")
        .env("BEAMS_EMULATOR_PORT", emu.port().to_string())
        .env("BEAMS_INSTANCE_ID", emu.state().instance_id())
        .env("BEAMS_SECRET_KEY", secret)
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run `node` ({e}): install Node.js 20 and run ./scripts/test.sh or `npm ci` in tests/js")
        });
    assert!(
        output.status.success(),
        "node failed: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "node printed no JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_publishes_deletes_and_its_tokens_are_accepted() {
    let emu = start().await;
    let alice = emu.state().register_device(Platform::Web);
    emu.state().set_device_user(&alice.id, "alice").unwrap();
    let fan = emu.state().register_device(Platform::Fcm);
    assert!(emu.state().add_device_interest(&fan.id, "donuts"));
    let bob_device = emu.state().register_device(Platform::Apns);
    emu.state().set_device_user(&bob_device.id, "bob").unwrap();

    let secret = emu.state().secret_key().to_owned();
    let ops = json!([
        {"op": "publishToUsers", "users": ["alice"], "body": {"web": {"notification": {"title": "For Alice"}}}},
        {"op": "publishToInterests", "interests": ["donuts"], "body": {"fcm": {"notification": {"title": "Donuts"}}}},
        {"op": "deleteUser", "userId": "bob"},
        {"op": "publishToUsers", "users": ["alice"], "secretKey": "WRONG", "body": {"web": {"notification": {"title": "x"}}}},
        {"op": "publishToUsers", "users": ["a", "a"], "body": {"web": {}}},
        {"op": "generateToken", "userId": "carol"},
        {"op": "deleteUser", "userId": "dropped"},
    ]);
    // The last operation's connection is dropped.
    emu.state().inject_fault(
        beams_emulator::Fault::drop_connection()
            .path_prefix(format!("/user_api/v1/instances/{INSTANCE}/users/dropped")),
    );
    let emu_ref = &emu;
    let results = tokio::task::block_in_place(|| node(emu_ref, &secret, ops));
    assert_eq!(results.len(), 7, "{results:?}");

    // publishToUsers / publishToInterests resolve with the publish id.
    assert_eq!(results[0]["ok"], true, "{:?}", results[0]);
    let users_publish = results[0]["value"]["publishId"].as_str().unwrap();
    assert!(users_publish.starts_with("pubid-"));
    assert_eq!(results[1]["ok"], true, "{:?}", results[1]);
    let interests_publish = results[1]["value"]["publishId"].as_str().unwrap();

    let publishes = emu.state().publishes();
    assert_eq!(publishes.len(), 2);
    assert_eq!(publishes[0].publish_id, users_publish);
    assert_eq!(publishes[0].users(), Some(&["alice".to_owned()][..]));
    assert_eq!(
        publishes[0].header("x-pusher-library"),
        Some("pusher-push-notifications-node 1.2.7")
    );
    assert_eq!(publishes[0].header("accept"), Some("application/json"));
    assert_eq!(publishes[1].publish_id, interests_publish);
    assert_eq!(publishes[1].interests(), Some(&["donuts".to_owned()][..]));
    assert_eq!(
        publishes[1].path,
        format!("/publish_api/v1/instances/{INSTANCE}/publishes/interests")
    );
    assert_eq!(
        emu.state().deliveries(&alice.id)[0].payload["notification"]["title"],
        "For Alice"
    );
    assert_eq!(
        emu.state().deliveries(&fan.id)[0].publish_id,
        interests_publish
    );

    // deleteUser (on the SDK's `user_api` path) resolves and removes bob's devices.
    assert_eq!(results[2], json!({"ok": true, "value": null}));
    assert!(emu.state().device(&bob_device.id).is_none());

    // A wrong secret: the SDK's own rendering of Beams' 401.
    assert_eq!(
        results[3],
        json!({"ok": false, "error": "401 Unauthorized - Incorrect Secret Key"})
    );
    // A 422 renders the way users have seen it in the wild.
    assert_eq!(
        results[4],
        json!({"ok": false, "error": "422 Unprocessable Entity - `users`: array items must be unique"})
    );

    // A dropped connection is a network error to the SDK, not an HTTP answer.
    assert_eq!(results[6]["ok"], false);
    let message = results[6]["error"].as_str().unwrap();
    assert!(
        message.contains("socket hang up") || message.contains("ECONNRESET"),
        "{message}"
    );

    // generateToken's token (which carries `iat`) is accepted by the device API's set-user.
    let token = results[5]["value"]["token"].as_str().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let claims: Value = {
        use base64::Engine as _;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap()
    };
    assert!(
        claims.get("iat").is_some(),
        "Node tokens carry iat: {claims}"
    );
    let device = register(&emu, "web").await;
    let (status, body) = set_user(&emu, "web", &device, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        emu.state().device(&device).unwrap().user_id.as_deref(),
        Some("carol")
    );
}
