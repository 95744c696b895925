//! The webhook receiver: every outcome once, exact counts; verified events by type; and each
//! mount (beams-axum, beams-actix, the tower layer) counts a request exactly once.

use std::convert::Infallible;

use beams_core::tower::BeamsWebhookLayer;
use beams_core::webhook::{Webhook, WebhookReceiver};
use hmac::{Hmac, Mac};
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};
use sha1::Sha1;
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::{USER, block_on};
use beams_test_support::metrics::{Recorded, expect, recorded};

const SECRET: &str = "metrics-webhook-secret";
const PATH: &str = "/pusher/beams-webhooks";
const LIMIT: usize = 2048;
const REQUESTS: &str = "beams_webhook_requests_total";
const EVENTS: &str = "beams_webhook_events_total";

pub(super) fn receiver() -> WebhookReceiver {
    WebhookReceiver::builder(SECRET)
        .body_limit(LIMIT)
        .build()
        .unwrap()
}

/// The hex HMAC-SHA1 of `body` with the webhook's secret, as Beams signs.
pub(super) fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A webhook body of `event_type` with `payload`.
pub(super) fn envelope(event_type: &str, event_id: &str, payload: Value) -> String {
    json!({
        "payload": payload,
        "metadata": {
            "event_type": event_type,
            "event_id": event_id,
            "created_at": "2019-03-11T10:42:16+0000",
            "product": "beams",
        },
        "custom_data": {},
    })
    .to_string()
}

/// One event of each type, each naming the distinctive user and a distinctive publish id.
pub(super) fn events() -> [String; 4] {
    let publish_id = "pubid-zz-distinctive-1";
    let notification = json!({"instance_id": "i", "publish_id": publish_id, "user_id": USER});
    [
        envelope(
            "v1.PublishToUsersAttempt",
            "ev-zz-attempt",
            json!({
                "instance_id": "i",
                "publish_id": publish_id,
                "users_delivered_to_gateway": [USER],
                "users_no_devices": [],
                "users_gateway_failed": [],
            }),
        ),
        envelope(
            "v1.UserNotificationAcknowledgement",
            "ev-zz-ack",
            notification.clone(),
        ),
        envelope("v1.UserNotificationOpen", "ev-zz-open", notification),
        envelope("v9.SomethingNew", "ev-zz-other", json!({"user_id": USER})),
    ]
}

/// The host's handler: takes every event but `ev-fail`.
pub(super) async fn handler(webhook: Webhook) -> Result<(), String> {
    if webhook.metadata.event_id == "ev-fail" {
        Err("the host's queue is full".to_owned())
    } else {
        Ok(())
    }
}

pub(super) fn signed(body: String) -> Request<String> {
    Request::post(PATH)
        .header("webhook-signature", sign(&body))
        .body(body)
        .unwrap()
}

#[test]
fn each_outcome_is_counted_once() {
    let receiver = receiver();
    let big = "x".repeat(LIMIT + 1);
    let failing = envelope(
        "v1.UserNotificationOpen",
        "ev-fail",
        json!({"instance_id": "i", "publish_id": "pubid-1", "user_id": USER}),
    );
    let mut requests: Vec<(Request<String>, StatusCode)> = events()
        .into_iter()
        .map(|body| (signed(body), StatusCode::OK))
        .collect();
    requests.extend([
        (signed(failing), StatusCode::INTERNAL_SERVER_ERROR),
        // No signature; a wrong one.
        (
            Request::post(PATH).body(events()[0].clone()).unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Request::post(PATH)
                .header("webhook-signature", sign("another body"))
                .body(events()[0].clone())
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        // Signed, but not a webhook.
        (
            signed(r#"{"hello":"world"}"#.to_owned()),
            StatusCode::BAD_REQUEST,
        ),
        // Too large by its declared length, then by what was read.
        (
            Request::post(PATH)
                .header("content-length", big.len())
                .body(big.clone())
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Request::post(PATH).body(big).unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Request::get(PATH).body(String::new()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ]);
    let ((), rec) = recorded(|| {
        block_on(async {
            for (req, status) in requests {
                let res = receiver.receive_request(req, &handler).await;
                assert_eq!(res.status(), status, "{}", res.body());
            }
        });
        // What an adapter answers when the body broke off while it was read.
        assert_eq!(receiver.answer_unreadable().status(), 400);
        // Verifying alone counts nothing.
        assert!(receiver.verify(&http::HeaderMap::new(), b"{}").is_err());
    });
    assert_eq!(
        rec.counters(REQUESTS),
        expect(&[
            ("outcome=accepted", 4),
            ("outcome=bad_request", 2),
            ("outcome=bad_signature", 2),
            ("outcome=handler_error", 1),
            ("outcome=method_not_allowed", 1),
            ("outcome=too_large", 2),
        ])
    );
    assert_eq!(
        rec.counters(EVENTS),
        expect(&[
            ("event=other", 1),
            ("event=publish_to_users_attempt", 1),
            ("event=user_notification_acknowledgement", 1),
            ("event=user_notification_open", 2),
        ])
    );
}

/// Accepted, unsigned, too large, wrong method: the same four counts through any mount.
fn assert_four(rec: &Recorded) {
    assert_eq!(
        rec.counters(REQUESTS),
        expect(&[
            ("outcome=accepted", 1),
            ("outcome=bad_signature", 1),
            ("outcome=method_not_allowed", 1),
            ("outcome=too_large", 1),
        ])
    );
    assert_eq!(
        rec.counters(EVENTS),
        expect(&[("event=publish_to_users_attempt", 1)])
    );
}

/// The four requests of [`assert_four`], as `http` requests.
fn four() -> [(Request<String>, StatusCode); 4] {
    let big = "x".repeat(LIMIT + 1);
    [
        (signed(events()[0].clone()), StatusCode::OK),
        (
            Request::post(PATH).body(events()[0].clone()).unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Request::post(PATH)
                .header("content-length", big.len())
                .body(big)
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Request::get(PATH).body(String::new()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ]
}

#[test]
fn beams_axum_counts_each_request_once() {
    let app: axum::Router = beams_axum::webhook_router(receiver(), handler);
    let ((), rec) = recorded(|| {
        block_on(async {
            for (req, status) in four() {
                let res = app.clone().oneshot(req.map(axum::body::Body::from)).await;
                assert_eq!(res.unwrap().status(), status);
            }
        })
    });
    assert_four(&rec);
}

#[test]
fn the_tower_layer_counts_each_request_once() {
    let app = ServiceBuilder::new()
        .layer(BeamsWebhookLayer::new(receiver(), handler))
        .service(service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::from("app")))
        }));
    let ((), rec) = recorded(|| {
        block_on(async {
            for (req, status) in four() {
                let res = app.clone().oneshot(req).await.unwrap();
                assert_eq!(res.status(), status);
            }
            // Another path: forwarded, not counted.
            let other = Request::post("/other").body(String::new()).unwrap();
            assert_eq!(app.clone().oneshot(other).await.unwrap().status(), 200);
        })
    });
    assert_four(&rec);
}

#[test]
fn beams_actix_counts_each_request_once() {
    use actix_web::test as actix_test;

    let ((), rec) = recorded(|| {
        // actix-web's test runtime runs on this thread.
        actix_web::rt::System::new().block_on(async {
            let app = actix_test::init_service(
                actix_web::App::new().service(beams_actix::webhook_resource(receiver(), handler)),
            )
            .await;
            for (req, status) in four() {
                let (parts, body) = req.into_parts();
                let mut actix_req = actix_test::TestRequest::default()
                    .method(
                        actix_web::http::Method::from_bytes(parts.method.as_str().as_bytes())
                            .unwrap(),
                    )
                    .uri(&parts.uri.to_string());
                for (name, value) in &parts.headers {
                    if name != http::header::CONTENT_LENGTH {
                        actix_req = actix_req.insert_header((name.as_str(), value.as_bytes()));
                    }
                }
                let res =
                    actix_test::call_service(&app, actix_req.set_payload(body).to_request()).await;
                assert_eq!(res.status().as_u16(), status.as_u16());
            }
        })
    });
    assert_four(&rec);
}
