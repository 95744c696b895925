//! No label value ever holds a user id (or an interest, a publish id, an event id): a
//! distinctive user goes through the route, the client and the receiver, and every label of
//! every key recorded is one of the fixed values.

use std::time::Duration;

use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, Notification, Publisher, RetryPolicy, WebNotification, WebPayload,
};
use beams_core::tower::BeamsAuthLayer;
use beams_emulator::{Emulator, Fault, Platform};
use beams_test_support::conformance::{self as test_util, TEST_USER_HEADER};
use http::{Request, Response};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::webhook::{events, handler, receiver, signed};
use super::{USER, block_on};
use beams_test_support::metrics::recorded;

/// Every label key and the values it may take.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "outcome",
        &[
            // auth
            "issued",
            "bad_request",
            "unauthorized",
            "unavailable",
            "method_not_allowed",
            // publish
            "ok",
            "rate_limited",
            "client_error",
            "server_error",
            "network",
            // webhook
            "accepted",
            "bad_signature",
            "too_large",
            "handler_error",
        ],
    ),
    (
        "operation",
        &["publish_to_users", "publish_to_interests", "delete_user"],
    ),
    (
        "event",
        &[
            "publish_to_users_attempt",
            "user_notification_acknowledgement",
            "user_notification_open",
            "other",
        ],
    ),
];

#[test]
fn no_label_holds_a_user_id() {
    let interest = "zz-distinctive-interest";
    let ((), rec) = recorded(|| {
        block_on(async {
            // The route, issued and refused.
            let app = ServiceBuilder::new()
                .layer(BeamsAuthLayer::new(
                    test_util::auth(),
                    |parts: http::request::Parts| async move {
                        parts
                            .headers
                            .get(TEST_USER_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    },
                ))
                .service(service_fn(|_req: Request<String>| async {
                    Ok::<_, std::convert::Infallible>(Response::new(String::new()))
                }));
            for user in [USER, "zz-distinctive-other"] {
                let req = Request::get(format!("/pusher/beams-auth?user_id={USER}"))
                    .header(TEST_USER_HEADER, user)
                    .body(String::new())
                    .unwrap();
                app.clone().oneshot(req).await.unwrap();
            }

            // The client: each operation, a 429 retried.
            let emu = Emulator::builder().start().await.unwrap();
            let device = emu.state().register_device(Platform::Web);
            emu.state().set_device_user(&device.id, USER).unwrap();
            emu.state()
                .inject_fault(Fault::status(429).retry_after("0"));
            let instance = Instance::builder(emu.state().instance_id(), emu.state().secret_key())
                .endpoint(emu.base_url())
                .build()
                .unwrap();
            let client = BeamsClient::builder(&instance)
                .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
                .build()
                .unwrap();
            let web = Notification::new()
                .web(WebPayload::new().notification(WebNotification::new("Hi", USER)));
            client.publish_to_users(&[USER], &web).await.unwrap();
            client
                .publish_to_interests(&[interest], &web)
                .await
                .unwrap();
            client.delete_user(USER).await.unwrap();

            // The receiver: every event type.
            let receiver = receiver();
            for body in events() {
                let res = receiver.receive_request(signed(body), &handler).await;
                assert_eq!(res.status(), 200);
            }
        })
    });
    // Everything above was recorded...
    assert_eq!(
        rec.names(),
        [
            "beams_auth_duration_seconds",
            "beams_auth_requests_total",
            "beams_publish_duration_seconds",
            "beams_publish_requests_total",
            "beams_publish_retries_total",
            "beams_rate_limiter_wait_seconds",
            "beams_webhook_events_total",
            "beams_webhook_requests_total",
        ]
    );
    // ...and no label is anything but a fixed value.
    let mut seen = 0;
    for (key, value) in rec.labels() {
        seen += 1;
        assert!(!value.contains("zz"), "{key}={value}");
        let allowed = ALLOWED
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("unexpected label key {key}"));
        assert!(allowed.1.contains(&value), "{key}={value}");
    }
    assert!(seen >= 10, "{seen} labels");
}
