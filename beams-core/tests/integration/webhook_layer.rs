//! The webhook receiver as a tower layer. The signature below was computed with Python's
//! `hmac` module (`hmac.new(b"webhook-secret", BODY, hashlib.sha1).hexdigest()`).
#![cfg(all(feature = "tower", feature = "webhook"))]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use beams_core::tower::BeamsWebhookLayer;
use beams_core::webhook::{Webhook, WebhookEvent, WebhookReceiver};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};

const BODY: &str = r#"{"payload":{"instance_id":"inst","publish_id":"pubid-1","user_id":"alice"},"metadata":{"created_at":"2019-03-11T10:42:16+0000","event_type":"v1.UserNotificationOpen","event_id":"ev-1","product":"beams"},"custom_data":{"team":"mobile"}}"#;
const SIGNATURE: &str = "69c01ea9afa2a8604c85dd266812d4efedbf300d";

#[tokio::test]
async fn the_layer_verifies_hands_over_and_forwards_the_rest() {
    let seen: Arc<Mutex<Vec<Webhook>>> = Arc::default();
    let log = seen.clone();
    let inner = service_fn(|req: Request<Full<bytes::Bytes>>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(bytes::Bytes::from(format!(
            "inner {}",
            req.uri().path()
        )))))
    });
    let svc = BeamsWebhookLayer::new(
        WebhookReceiver::builder("webhook-secret")
            .body_limit(4096)
            .build()
            .unwrap(),
        move |webhook: Webhook| {
            log.lock().unwrap().push(webhook);
            async {}
        },
    )
    .layer(inner);
    let call = |method: &str, path: &str, signature: Option<&str>, body: String| {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(s) = signature {
            req = req.header("webhook-signature", s);
        }
        let svc = svc.clone();
        async move {
            let res = svc
                .oneshot(req.body(Full::new(bytes::Bytes::from(body))).unwrap())
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };

    let (status, body) = call(
        "POST",
        "/pusher/beams-webhooks",
        Some(SIGNATURE),
        BODY.into(),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let seen_now = seen.lock().unwrap().clone();
    assert_eq!(seen_now.len(), 1);
    assert!(
        matches!(&seen_now[0].event, WebhookEvent::UserNotificationOpen(n) if n.user_id == "alice")
    );

    assert_eq!(
        call("POST", "/pusher/beams-webhooks", None, BODY.into())
            .await
            .0,
        401
    );
    assert_eq!(
        call(
            "POST",
            "/pusher/beams-webhooks",
            Some(SIGNATURE),
            format!("{BODY} ")
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call("GET", "/pusher/beams-webhooks", None, String::new())
            .await
            .0,
        405
    );
    assert_eq!(
        call(
            "POST",
            "/pusher/beams-webhooks",
            Some(SIGNATURE),
            "x".repeat(5000)
        )
        .await
        .0,
        413
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "refused requests never reach the handler"
    );
    let (status, body) = call("POST", "/elsewhere", None, String::new()).await;
    assert_eq!((status, body.as_str()), (200, "inner /elsewhere"));
}
