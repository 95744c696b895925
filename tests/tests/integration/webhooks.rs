//! Emulator → app round trips through both adapters' webhook receivers: the emulator signs
//! and sends `v1.PublishToUsersAttempt`, the host's handler fails twice, the third attempt
//! succeeds, and every call carried the same event id (and request id).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use beams_core::webhook::{Webhook, WebhookEvent, WebhookReceiver};
use beams_emulator::{Emulator, Platform, WebhookTarget};
use serde_json::json;

const SECRET: &str = "round-trip-webhook-secret";

/// What the host's handler saw: each call's event id and request id.
type Seen = Arc<Mutex<Vec<(String, Option<String>, WebhookEvent)>>>;

/// A handler that records every call and fails the first two.
fn flaky_handler(seen: Seen) -> impl Fn(Webhook) -> std::future::Ready<Result<(), String>> + Clone {
    move |webhook: Webhook| {
        let mut seen = seen.lock().unwrap();
        seen.push((
            webhook.metadata.event_id.clone(),
            webhook.request_id.clone(),
            webhook.event,
        ));
        std::future::ready(if seen.len() <= 2 {
            Err(format!("the host's queue is full (call {})", seen.len()))
        } else {
            Ok(())
        })
    }
}

async fn emulator(url: &str) -> Emulator {
    Emulator::builder()
        .webhook(WebhookTarget::new(url).secret(SECRET))
        .webhook_retry_scale(0.001)
        .start()
        .await
        .unwrap()
}

/// Publishes to alice (one web device) and bob (none) and checks the round trip.
async fn round_trip(emu: &Emulator, seen: &Seen) {
    let state = emu.state();
    let device = state.register_device(Platform::Web);
    state.set_device_user(&device.id, "alice").unwrap();
    let response = reqwest::Client::new()
        .post(format!(
            "{}/publish_api/v1/instances/{}/publishes/users",
            emu.base_url(),
            state.instance_id()
        ))
        .bearer_auth(state.secret_key())
        .json(&json!({"users": ["alice", "bob"], "web": {"notification": {"title": "t"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let publish_id = response.json::<serde_json::Value>().await.unwrap()["publishId"]
        .as_str()
        .unwrap()
        .to_owned();

    for _ in 0..500 {
        if state.webhook_attempts().iter().any(|a| a.delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two failures, then the retry that succeeds");
    assert!(seen.iter().all(|(id, _, _)| *id == seen[0].0), "{seen:?}");
    assert!(
        seen.iter()
            .all(|(_, req, _)| req.is_some() && *req == seen[0].1),
        "{seen:?}"
    );
    let WebhookEvent::PublishToUsersAttempt(attempt) = &seen[2].2 else {
        panic!("{:?}", seen[2].2);
    };
    assert_eq!(attempt.publish_id, publish_id);
    assert_eq!(attempt.users_delivered_to_gateway, ["alice"]);
    assert_eq!(attempt.users_no_devices, ["bob"]);
    let statuses: Vec<Option<u16>> = state.webhook_attempts().iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
}

#[tokio::test]
async fn through_beams_axum() {
    let seen: Seen = Arc::default();
    let app: axum::Router = beams_axum::webhook_router(
        WebhookReceiver::new(SECRET).unwrap(),
        flaky_handler(seen.clone()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/pusher/beams-webhooks",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    round_trip(&emulator(&url).await, &seen).await;
}

#[tokio::test]
async fn through_beams_actix() {
    let seen: Seen = Arc::default();
    let handler = flaky_handler(seen.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/pusher/beams-webhooks",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new().service(beams_actix::webhook_resource(
                    WebhookReceiver::new(SECRET).unwrap(),
                    handler.clone(),
                ))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let _ = tx.send(server.handle());
            let _ = server.await;
        });
    });
    let handle = rx.await.unwrap();
    round_trip(&emulator(&url).await, &seen).await;
    handle.stop(false).await;
}
