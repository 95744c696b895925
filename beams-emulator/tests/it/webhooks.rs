//! The emulator as a webhook sender, against a capturing receiver on loopback: Beams' headers
//! and body, the signature (checked by Python's `hmac`, not by Rust code), the events computed
//! from its device state and from reported deliveries and opens, and the retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use beams_emulator::{Emulator, Limits, Platform, WebhookTarget};
use beams_test_support::independent::python_hmac;
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "emulator-webhook-secret";

/// One received request.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver that records every request and answers with the next status of `script`
/// (then 200), after `delay` for each scripted answer.
async fn receiver(script: Vec<(u16, Duration)>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let log = received.clone();
    let app = Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let script = script.clone();
            async move {
                log.lock().unwrap().push(Received { headers, body });
                let next = script.lock().unwrap().next();
                let (status, delay) = next.unwrap_or((200, Duration::ZERO));
                tokio::time::sleep(delay).await;
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn emulator(url: &str) -> Emulator {
    builder()
        .webhook(
            WebhookTarget::new(url)
                .secret(WEBHOOK_SECRET)
                .custom_data(json!({"team": "mobile"})),
        )
        .webhook_retry_scale(0.001)
        .start()
        .await
        .unwrap()
}

/// Waits until `received` holds `n` requests (at most 10 s).
async fn wait_for(received: &Arc<Mutex<Vec<Received>>>, n: usize) -> Vec<Received> {
    for _ in 0..1000 {
        let got = received.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} webhook requests arrived, {n} expected",
        received.lock().unwrap().len()
    );
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn publish_to_users(emu: &Emulator, users: &[&str]) -> String {
    let r = client()
        .post(publish_api(emu, "publishes/users"))
        .bearer_auth(SECRET)
        .json(&json!({"users": users, "web": {"notification": {"title": "t"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["publishId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_publish_to_users_is_reported_as_beams_reports_it() {
    let (url, received) = receiver(vec![]).await;
    let emu = emulator(&url).await;
    let state = emu.state();
    let alice = state.register_device(Platform::Web);
    state.set_device_user(&alice.id, "alice").unwrap();
    // carol has a device, but only an iOS one: the web-only publish reaches none of hers.
    let carol = state.register_device(Platform::Apns);
    state.set_device_user(&carol.id, "carol").unwrap();

    let publish_id = publish_to_users(&emu, &["alice", "bob", "carol"]).await;
    let got = wait_for(&received, 1).await;
    let request = &got[0];

    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "user-agent"), "pusher-webhooks");
    assert_eq!(
        header(request, "webhook-event-type"),
        "v1.PublishToUsersAttempt"
    );
    assert!(uuid_shaped(header(request, "webhook-id-uuid")));
    assert!(uuid_shaped(header(request, "webhook-request-id-uuid")));
    // The signature is the hex HMAC-SHA1 of the raw body, as Python computes it.
    assert_eq!(
        header(request, "webhook-signature"),
        python_hmac(WEBHOOK_SECRET, &request.body, false)
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body["payload"],
        json!({
            "instance_id": INSTANCE,
            "publish_id": publish_id,
            "users_delivered_to_gateway": ["alice"],
            "users_no_devices": ["bob", "carol"],
            "users_gateway_failed": [],
        })
    );
    assert_eq!(body["metadata"]["event_type"], "v1.PublishToUsersAttempt");
    assert_eq!(body["metadata"]["product"], "beams");
    assert!(uuid_shaped(body["metadata"]["event_id"].as_str().unwrap()));
    let created_at = body["metadata"]["created_at"].as_str().unwrap();
    assert_eq!(
        created_at.len(),
        "2019-03-11T10:42:16+0000".len(),
        "{created_at}"
    );
    assert!(created_at.ends_with("+0000"), "{created_at}");
    assert_eq!(body["custom_data"], json!({"team": "mobile"}));

    // A publish to interests is not reported.
    let r = client()
        .post(publish_api(&emu, "publishes/interests"))
        .bearer_auth(SECRET)
        .json(&json!({"interests": ["news"], "web": {"notification": {"title": "t"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(received.lock().unwrap().len(), 1);
    let attempts = state.webhook_attempts();
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].delivered);
    assert_eq!(attempts[0].status, Some(200));
}

fn uuid_shaped(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn reported_deliveries_and_opens_become_acknowledgements_and_opens() {
    let (url, received) = receiver(vec![]).await;
    let emu = emulator(&url).await;
    let device_of = |user: &str| {
        let device = emu.state().register_device(Platform::Web);
        emu.state().set_device_user(&device.id, user).unwrap();
        device.id
    };
    let (alice, bob) = (device_of("alice"), device_of("bob"));
    let publish_id = publish_to_users(&emu, &["alice"]).await;
    let events = format!(
        "{}/reporting_api/v2/instances/{INSTANCE}/events",
        emu.base_url()
    );
    let c = client();
    // The two genuine reports first: alice's device got the publish. Then what the reporting
    // API also accepts from anyone, and must not turn into a signed webhook: an event without
    // a user, an unknown device, bob's device (it got nothing), alice's device named as bob's,
    // and a publish id nobody sent.
    let genuine = [
        ("delivery", &alice, &publish_id, json!("alice")),
        ("open", &alice, &publish_id, json!("alice")),
    ];
    let made_up = "pubid-7".to_owned();
    let unknown = "web-1".to_owned();
    let forged = [
        ("open", &alice, &publish_id, Value::Null),
        ("delivery", &unknown, &publish_id, json!("alice")),
        ("delivery", &bob, &publish_id, json!("bob")),
        ("open", &alice, &publish_id, json!("bob")),
        ("delivery", &alice, &made_up, json!("alice")),
    ];
    for (event, device, publish, user) in genuine.iter().chain(&forged) {
        let r = c
            .post(&events)
            .json(
                &json!({"publishId": publish, "event": event, "deviceId": device,
                          "userId": user, "timestampSecs": 1_700_000_000}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // The publish's own attempt report, then the two acknowledgements.
    let got = wait_for(&received, 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        received.lock().unwrap().len(),
        3,
        "only a device that received the publish, as that user, is reported"
    );
    let mut types: Vec<String> = got
        .iter()
        .map(|r| header(r, "webhook-event-type").to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "v1.PublishToUsersAttempt",
            "v1.UserNotificationAcknowledgement",
            "v1.UserNotificationOpen"
        ]
    );
    for r in got
        .iter()
        .filter(|r| header(r, "webhook-event-type") != "v1.PublishToUsersAttempt")
    {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body["payload"],
            json!({"instance_id": INSTANCE, "publish_id": publish_id, "user_id": "alice"})
        );
        assert_eq!(
            header(r, "webhook-signature"),
            python_hmac(WEBHOOK_SECRET, &r.body, false)
        );
    }
}

#[tokio::test]
async fn failures_and_slow_answers_are_retried_with_the_same_ids() {
    // 500, then no answer within 3 s, then 503, then 200.
    let (url, received) = receiver(vec![
        (500, Duration::ZERO),
        (200, Duration::from_millis(3_500)),
        (503, Duration::ZERO),
    ])
    .await;
    let emu = emulator(&url).await;
    publish_to_users(&emu, &["nobody"]).await;
    let got = wait_for(&received, 4).await;
    let request_ids: Vec<&str> = got
        .iter()
        .map(|r| header(r, "webhook-request-id-uuid"))
        .collect();
    assert!(
        request_ids.iter().all(|id| *id == request_ids[0]),
        "{request_ids:?}"
    );
    let bodies: Vec<&Bytes> = got.iter().map(|r| &r.body).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same event, the same bytes"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let attempts = emu.state().webhook_attempts();
    let summary: Vec<(u32, Option<u16>, bool)> = attempts
        .iter()
        .map(|a| (a.attempt, a.status, a.delivered))
        .collect();
    assert_eq!(
        summary,
        [
            (1, Some(500), false),
            (2, None, false),
            (3, Some(503), false),
            (4, Some(200), true)
        ]
    );
    assert!(
        attempts[1].error.as_deref().unwrap().contains("3s"),
        "{:?}",
        attempts[1].error
    );
    assert!(attempts.iter().all(|a| a.event_id == attempts[0].event_id));
    // The attempts are visible over HTTP too (same origin: no Origin header).
    let listed: Value = client()
        .get(format!("{}/_emulator/webhooks", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert_eq!(listed[0]["requestId"], request_ids[0]);
}

#[tokio::test]
async fn retries_stop_after_four() {
    let (url, received) = receiver(vec![(500, Duration::ZERO); 10]).await;
    let emu = emulator(&url).await;
    publish_to_users(&emu, &["nobody"]).await;
    wait_for(&received, 5).await;
    // 10, 30, 120 and 300 ms of scaled waits have all passed well before this.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        received.lock().unwrap().len(),
        5,
        "the first attempt and four retries"
    );
    assert_eq!(emu.state().webhook_attempts().len(), 5);
}

/// A webhook target that accepts connections and never answers. Returns its URL and the
/// connections open now and at most at once (a connection ends when the emulator closes it).
async fn silent_target() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (open_, peak_) = (open.clone(), peak.clone());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let now = open_.fetch_add(1, Ordering::SeqCst) + 1;
            peak_.fetch_max(now, Ordering::SeqCst);
            let open = open_.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                // Read (and ignore) the request until the emulator closes the connection.
                while socket.readable().await.is_ok() {
                    match socket.try_read(&mut buf) {
                        Ok(0) => break,
                        Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => break,
                        _ => {}
                    }
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (url, open, peak)
}

async fn bounded_emulator(url: &str, limits: Limits) -> Emulator {
    builder()
        .webhook(WebhookTarget::new(url))
        .webhook_retry_scale(0.001)
        .limits(limits)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn outgoing_webhook_connections_stay_within_the_bound() {
    let (url, open, peak) = silent_target().await;
    let mut limits = Limits::default();
    limits.max_webhook_connections = 4;
    let emu = bounded_emulator(&url, limits).await;
    for _ in 0..60 {
        publish_to_users(&emu, &["nobody"]).await;
    }
    // Every event is pending; four are being sent, to a target that holds them for 3 s.
    for _ in 0..200 {
        if open.load(Ordering::SeqCst) >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        peak.load(Ordering::SeqCst),
        4,
        "one outgoing connection per request in flight, at most four"
    );
    let stats = emu.state().webhook_stats();
    assert_eq!((stats.pending, stats.sending, stats.dropped), (60, 4, 0));
}

#[tokio::test]
async fn pending_webhook_events_are_bounded_and_the_overflow_is_counted() {
    let (url, _open, _peak) = silent_target().await;
    let mut limits = Limits::default();
    limits.max_pending_webhooks = 10;
    limits.max_webhook_connections = 2;
    let emu = bounded_emulator(&url, limits).await;
    for _ in 0..30 {
        publish_to_users(&emu, &["nobody"]).await;
    }
    let stats = emu.state().webhook_stats();
    assert_eq!((stats.pending, stats.dropped), (10, 20));
    // Where the attempts are listed, over HTTP.
    let listed = fetch_json(client().get(inspect(&emu, "webhooks/stats"))).await;
    assert_eq!(listed["pending"], 10);
    assert_eq!(listed["dropped"], 20);
    assert!(listed["pendingBytes"].as_u64().unwrap() > 0, "{listed}");

    // By bytes: a pending event holds its body and its task, well over 1 KiB, so a 16 KiB
    // budget holds only a few of them, whatever the count allows.
    let mut limits = Limits::default();
    limits.max_pending_webhook_bytes = 16 << 10;
    let emu = bounded_emulator(&url, limits).await;
    let users: Vec<String> = (0..40).map(|i| format!("user-{i:04}")).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    for _ in 0..30 {
        publish_to_users(&emu, &users).await;
    }
    let stats = emu.state().webhook_stats();
    assert!(stats.pending_bytes <= 16 << 10, "{stats:?}");
    assert!(
        (1..16).contains(&stats.pending),
        "each event counts over 1 KiB: {stats:?}"
    );
    assert_eq!(stats.dropped, 30 - stats.pending as u64, "{stats:?}");
    // A reset forgets the count of dropped events, not the pending ones.
    emu.state().reset();
    let after = emu.state().webhook_stats();
    assert_eq!((after.pending, after.dropped), (stats.pending, 0));
}
