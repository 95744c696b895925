//! Our publish client and the official Node server SDK (`@pusher/push-notifications-server`
//! 1.2.7, driven by tests/js/emulator-sdk.mjs, the script of beams-emulator's own Node test)
//! send the same logical request for the same input: publishToInterests, publishToUsers and
//! deleteUser, compared as the emulator received them.
//!
//! The emulator's state is served here behind a middleware that records every request
//! (method, path, all headers unredacted, body bytes, answer status) before the emulator's
//! own handler runs; the emulator's own publish records are checked too.
//!
//! Differences, stated and asserted:
//! - `X-Pusher-Library` names the library (`beams-rs <version>` vs
//!   `pusher-push-notifications-node 1.2.7`);
//! - Node's `http` agent keeps connections alive and says so (`Connection: keep-alive`);
//!   hyper sends no `Connection` header for HTTP/1.1 keep-alive (it is the default);
//! - deleteUser: the Node SDK still calls the old `/user_api/v1/…` path; we call the
//!   documented `/customer_api/v1/…`. The rest of the path (the percent-encoded user id) is
//!   identical.
//!
//! Everything else — method, path, `Authorization`, `Accept`, `Content-Type`,
//! `Content-Length`, `Host` and the JSON body — is the same.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use beams_core::Instance;
use beams_core::publish::{
    ApnsAlert, ApnsPayload, ApnsPriority, Aps, BeamsClient, FcmNotification, FcmPayload,
    FcmPriority, Notification, Publisher, WebNotification, WebPayload,
};
use beams_emulator::{Emulator, EmulatorState, Platform};
use beams_tests::interop::AWKWARD_USER_IDS;
use beams_tests::interop::apps::{INSTANCE_ID, SECRET_KEY};
use beams_tests::interop::encode::uri_component;
use beams_tests::interop::peers;
use serde_json::{Value, json};

const NODE_LIBRARY: &str = "pusher-push-notifications-node 1.2.7";

/// One request as it reached the emulator.
#[derive(Debug, Clone)]
struct Captured {
    method: String,
    path: String,
    /// Lower-case names; repeated headers joined with ", ".
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    status: u16,
}

impl Captured {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The emulator's state served on `127.0.0.1:0` behind a recording middleware.
struct Capturing {
    state: EmulatorState,
    port: u16,
    log: Arc<Mutex<Vec<Captured>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Capturing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Capturing {
    async fn start() -> Self {
        let state = Emulator::builder()
            .instance_id(INSTANCE_ID)
            .secret_key(SECRET_KEY)
            .build_state()
            .expect("emulator state");
        let log: Arc<Mutex<Vec<Captured>>> = Arc::default();
        let recorder = log.clone();
        let router = beams_emulator::router(state.clone()).layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let log = recorder.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20)
                        .await
                        .expect("a readable body");
                    let mut headers: BTreeMap<String, String> = BTreeMap::new();
                    for (name, value) in &parts.headers {
                        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                        headers
                            .entry(name.as_str().to_owned())
                            .and_modify(|v| {
                                v.push_str(", ");
                                v.push_str(&value);
                            })
                            .or_insert(value);
                    }
                    let mut captured = Captured {
                        method: parts.method.to_string(),
                        path: parts.uri.to_string(),
                        headers,
                        body: body.to_vec(),
                        status: 0,
                    };
                    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
                    captured.status = response.status().as_u16();
                    log.lock().unwrap().push(captured);
                    response
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            state,
            port,
            log,
            task,
        }
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self) -> BeamsClient {
        let config = Instance::builder(INSTANCE_ID, SECRET_KEY)
            .endpoint(self.base_url())
            .build()
            .expect("config");
        BeamsClient::new(&config).expect("client")
    }

    /// Runs the Node SDK's operations (tests/js/emulator-sdk.mjs) against this server.
    async fn node(&self, ops: Value) -> Vec<Value> {
        let out = peers::node("emulator-sdk.mjs")
            .arg(ops.to_string())
            .env("BEAMS_EMULATOR_HOST", "127.0.0.1")
            .env("BEAMS_EMULATOR_PORT", self.port.to_string())
            .env("BEAMS_INSTANCE_ID", INSTANCE_ID)
            .env("BEAMS_SECRET_KEY", SECRET_KEY)
            .run_json_async()
            .await;
        out.as_array().expect("results").clone()
    }

    /// Takes the requests recorded so far.
    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// Asserts the requests are the same apart from the stated differences; returns nothing on
/// success. `path_of` maps each path before comparing (deleteUser's API name).
fn assert_same_request(ours: &Captured, node: &Captured, path_of: impl Fn(&str) -> String) {
    assert_eq!(ours.status, 200, "ours was refused: {ours:?}");
    assert_eq!(node.status, 200, "Node's was refused: {node:?}");
    assert_eq!(ours.method, node.method);
    assert_eq!(path_of(&ours.path), path_of(&node.path), "paths");

    let mut ours_headers = ours.headers.clone();
    let mut node_headers = node.headers.clone();
    assert_eq!(
        ours_headers.remove("x-pusher-library").as_deref(),
        Some(concat!("beams-rs ", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        node_headers.remove("x-pusher-library").as_deref(),
        Some(NODE_LIBRARY)
    );
    assert_eq!(
        ours_headers.get("connection"),
        None,
        "ours: {ours_headers:?}"
    );
    assert_eq!(
        node_headers.remove("connection").as_deref(),
        Some("keep-alive"),
        "Node: {node_headers:?}"
    );
    assert_eq!(
        ours_headers, node_headers,
        "headers other than the library name"
    );
    assert_eq!(
        ours_headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(
        ours_headers.get("accept").map(String::as_str),
        Some("application/json")
    );

    if ours.body.is_empty() || node.body.is_empty() {
        assert_eq!(ours.body, node.body, "bodies");
    } else {
        assert_eq!(ours.json(), node.json(), "JSON bodies");
    }
}

/// A notification for every platform with every typed field, and the same input written as
/// the JSON a Node SDK user passes (the documented publish format).
fn full_notification() -> (Notification, Value) {
    let ours = Notification::new()
        .web(
            WebPayload::new()
                .time_to_live(3600)
                .notification(
                    WebNotification::new("Donuts 🍩", "Fresh \"glazed\" & <hot>")
                        .icon("https://example.com/icon.png")
                        .deep_link("https://example.com/donuts?flavour=glazed")
                        .hide_notification_if_site_has_focus(true),
                )
                .data(json!({"flavour": "glazed", "count": 12, "nested": {"ok": true}})),
        )
        .fcm(
            FcmPayload::new()
                .notification(
                    FcmNotification::new("Donuts", "Fresh")
                        .sound("default")
                        .icon("ic_donut"),
                )
                .data(json!({"flavour": "glazed"}))
                .time_to_live(600)
                .collapse_key("donuts")
                .priority(FcmPriority::High),
        )
        .apns(
            ApnsPayload::new(
                Aps::new()
                    .alert(ApnsAlert::new().title("Donuts").body("Fresh"))
                    .badge(3)
                    .sound("default")
                    .thread_id("donuts")
                    .mutable_content(true),
            )
            .data(json!({"flavour": "glazed"}))
            .collapse_id("donuts")
            .expiration(4_102_444_800)
            .priority(ApnsPriority::High)
            .disable_delivery_tracking(true),
        )
        .webhook_url("https://example.com/beams-webhook");
    let node = json!({
        "web": {
            "time_to_live": 3600,
            "notification": {
                "title": "Donuts 🍩",
                "body": "Fresh \"glazed\" & <hot>",
                "icon": "https://example.com/icon.png",
                "deep_link": "https://example.com/donuts?flavour=glazed",
                "hide_notification_if_site_has_focus": true
            },
            "data": {"flavour": "glazed", "count": 12, "nested": {"ok": true}}
        },
        "fcm": {
            "notification": {"title": "Donuts", "body": "Fresh", "sound": "default", "icon": "ic_donut"},
            "data": {"flavour": "glazed"},
            "time_to_live": 600,
            "collapse_key": "donuts",
            "priority": "high"
        },
        "apns": {
            "aps": {
                "alert": {"title": "Donuts", "body": "Fresh"},
                "badge": 3,
                "sound": "default",
                "thread-id": "donuts",
                "mutable-content": 1
            },
            "data": {"flavour": "glazed"},
            // The Node SDK's ApnsPayload type (index.d.ts) carries these beside aps and data.
            "collapse_id": "donuts",
            "expiration": 4_102_444_800_u64,
            "priority": 10,
            "pusher": {"disable_delivery_tracking": true}
        },
        "webhookUrl": "https://example.com/beams-webhook"
    });
    (ours, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_to_interests_is_the_same_request_as_the_node_sdks() {
    let emu = Capturing::start().await;
    let interests = ["donuts", "hell-o_world=@,.;", "A1"];
    let (notification, node_body) = full_notification();

    let ours = emu
        .client()
        .publish_to_interests(&interests, &notification)
        .await
        .expect("our publish");
    let node = emu
        .node(json!([{"op": "publishToInterests", "interests": interests, "body": node_body}]))
        .await;
    assert_eq!(node[0]["ok"], true, "{node:?}");

    let captured = emu.take();
    assert_eq!(captured.len(), 2, "{captured:?}");
    let path = format!("/publish_api/v1/instances/{INSTANCE_ID}/publishes/interests");
    assert_eq!(captured[0].path, path);
    assert_same_request(&captured[0], &captured[1], str::to_owned);
    let mut expected = node_body.clone();
    expected["interests"] = json!(interests);
    assert_eq!(captured[0].json(), expected);

    // The emulator's own records agree.
    let records = emu.state.publishes();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].publish_id, ours.publish_id());
    assert_eq!(records[1].publish_id, node[0]["value"]["publishId"]);
    assert_eq!(records[0].body, records[1].body);
    assert_eq!(records[0].target, records[1].target);
    assert_eq!(records[0].path, records[1].path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_to_users_is_the_same_request_as_the_node_sdks() {
    let emu = Capturing::start().await;
    let (notification, node_body) = full_notification();
    let users = AWKWARD_USER_IDS;

    let ours = emu
        .client()
        .publish_to_users(users, &notification)
        .await
        .expect("our publish");
    let node = emu
        .node(json!([{"op": "publishToUsers", "users": users, "body": node_body}]))
        .await;
    assert_eq!(node[0]["ok"], true, "{node:?}");

    let captured = emu.take();
    assert_eq!(captured.len(), 2, "{captured:?}");
    let path = format!("/publish_api/v1/instances/{INSTANCE_ID}/publishes/users");
    assert_eq!(captured[0].path, path);
    assert_same_request(&captured[0], &captured[1], str::to_owned);
    let mut expected = node_body.clone();
    expected["users"] = json!(users);
    assert_eq!(captured[0].json(), expected);

    let records = emu.state.publishes();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].publish_id, ours.publish_id());
    assert_eq!(records[0].body, records[1].body);
    let user_list: Vec<String> = users.iter().map(|u| (*u).to_owned()).collect();
    assert_eq!(records[0].users(), Some(&user_list[..]));
    assert_eq!(records[0].target, records[1].target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_user_is_the_same_request_as_the_node_sdks_but_on_customer_api() {
    let emu = Capturing::start().await;
    let users = [
        "john doe",
        "a/b",
        "john+test@example.com",
        "Zoë 日本語 😀",
        "semi;colon,comma/slash?q#frag",
        "100% sure",
        "(parens)!~*'",
    ];
    let give_devices = || -> Vec<String> {
        users
            .iter()
            .map(|user| {
                let device = emu.state.register_device(Platform::Web);
                emu.state
                    .set_device_user(&device.id, user)
                    .expect("set user");
                device.id
            })
            .collect()
    };

    let ours_devices = give_devices();
    let client = emu.client();
    for user in users {
        client.delete_user(user).await.expect("our delete");
    }
    for device in &ours_devices {
        assert!(emu.state.device(device).is_none(), "ours left {device}");
    }
    let node_devices = give_devices();
    let ops: Vec<Value> = users
        .iter()
        .map(|u| json!({"op": "deleteUser", "userId": u}))
        .collect();
    let node = emu.node(Value::Array(ops)).await;
    for (user, result) in users.iter().zip(&node) {
        assert_eq!(*result, json!({"ok": true, "value": null}), "Node {user:?}");
    }
    for device in &node_devices {
        assert!(emu.state.device(device).is_none(), "Node left {device}");
    }

    let captured = emu.take();
    assert_eq!(captured.len(), 2 * users.len(), "{captured:?}");
    let (ours, theirs) = captured.split_at(users.len());
    let api_neutral = |path: &str| {
        path.strip_prefix("/customer_api/")
            .or_else(|| path.strip_prefix("/user_api/"))
            .unwrap_or_else(|| panic!("unexpected path {path}"))
            .to_owned()
    };
    for ((user, ours), theirs) in users.iter().zip(ours).zip(theirs) {
        let encoded = uri_component(user);
        assert_eq!(
            ours.path,
            format!("/customer_api/v1/instances/{INSTANCE_ID}/users/{encoded}"),
            "ours, {user:?}"
        );
        assert_eq!(
            theirs.path,
            format!("/user_api/v1/instances/{INSTANCE_ID}/users/{encoded}"),
            "Node, {user:?}"
        );
        assert_eq!(ours.method, "DELETE");
        assert_same_request(ours, theirs, api_neutral);
        assert!(!ours.headers.contains_key("content-type"), "{ours:?}");
    }
}
