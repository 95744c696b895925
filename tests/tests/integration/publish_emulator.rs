//! The publish client (`BeamsClient`, `FanOut`) against `beams-emulator` over real HTTP:
//! the exact requests Beams receives, routing to devices, and every retry rule of the publish client
//! under injected faults.
//!
//! Every test starts its own emulator on `127.0.0.1:0`.
//!
//! Counting requests: the emulator keeps no log of the requests it refused, but for every
//! request outside `/_emulator/` it first takes one unit from the first matching queued
//! fault. [`Probe`] queues a test's faults followed by a do-nothing fault (zero latency, no
//! status, no drop) with a huge count, so the units consumed are exactly the requests that
//! reached the emulator's handler.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use beams_core::Instance;
use beams_core::publish::{
    ApnsAlert, ApnsPayload, Aps, BeamsClient, BeamsClientBuilder, FanOut, FcmNotification,
    FcmPayload, NetworkErrorKind, Notification, PublishError, Publisher, RetryPolicy,
    ValidationError, WebNotification, WebPayload,
};
use beams_emulator::{Device, Emulator, Fault, Platform, RecordedPublish};
use serde_json::json;

/// Units of the counting fault: more than any test sends.
const COUNTER_UNITS: u32 = 1_000_000;

async fn start() -> Emulator {
    Emulator::builder().start().await.expect("emulator starts")
}

/// A client of the emulator with `policy` and 5 s per attempt, as `instance_id` with
/// `secret`.
fn client_as(emu: &Emulator, instance_id: &str, secret: &str, policy: RetryPolicy) -> BeamsClient {
    builder_as(emu, instance_id, secret, policy)
        .build()
        .expect("client builds")
}

fn builder_as(
    emu: &Emulator,
    instance_id: &str,
    secret: &str,
    policy: RetryPolicy,
) -> BeamsClientBuilder {
    let config = Instance::builder(instance_id, secret)
        .endpoint(emu.base_url())
        .build()
        .expect("valid config");
    BeamsClient::builder(&config)
        .retry_policy(policy)
        .timeout(Duration::from_secs(5))
}

fn client_with(emu: &Emulator, policy: RetryPolicy) -> BeamsClient {
    client_as(
        emu,
        emu.state().instance_id(),
        emu.state().secret_key(),
        policy,
    )
}

/// 3 attempts, tiny backoff, a `Retry-After` of up to 2 s honoured.
fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_secs(2))
}

fn client(emu: &Emulator) -> BeamsClient {
    client_with(emu, quick())
}

/// A device of `platform` belonging to `user`.
fn user_device(emu: &Emulator, platform: Platform, user: &str) -> Device {
    let device = emu.state().register_device(platform);
    emu.state().set_device_user(&device.id, user).unwrap();
    device
}

/// `fault`, limited to the publish API.
fn on_publish(fault: Fault) -> Fault {
    fault.path_prefix("/publish_api")
}

fn web_only() -> Notification {
    Notification::new().web(WebPayload::new().notification(WebNotification::new("Hi", "there")))
}

/// Counts the requests that reach the emulator (see the module docs).
struct Probe<'a> {
    emu: &'a Emulator,
    queued: u64,
}

impl<'a> Probe<'a> {
    /// Queues `faults` in order, then the counter.
    fn new(emu: &'a Emulator, faults: impl IntoIterator<Item = Fault>) -> Self {
        assert!(
            emu.state().pending_faults().is_empty(),
            "a probe must own the queue"
        );
        let mut queued = 0;
        for fault in faults {
            queued += u64::from(fault.count);
            emu.state().inject_fault(fault);
        }
        emu.state()
            .inject_fault(Fault::latency(Duration::ZERO).times(COUNTER_UNITS));
        Self {
            emu,
            queued: queued + u64::from(COUNTER_UNITS),
        }
    }

    /// Requests that reached the emulator since the probe was created.
    fn requests(&self) -> u64 {
        let pending: u64 = self
            .emu
            .state()
            .pending_faults()
            .iter()
            .map(|f| u64::from(f.count))
            .sum();
        self.queued - pending
    }

    /// Exactly `requests` reached the emulator, and none was recorded as a publish.
    fn assert_nothing_published(&self, requests: u64) {
        assert_eq!(self.requests(), requests);
        assert!(self.emu.state().publishes().is_empty());
    }

    /// The only request was the publish `publish_id` to `target` (`users` or `interests`),
    /// sent with the client's headers; returns what the emulator recorded.
    fn the_one_publish(&self, target: &str, publish_id: &str) -> RecordedPublish {
        assert_eq!(self.requests(), 1);
        let mut publishes = self.emu.state().publishes();
        assert_eq!(publishes.len(), 1);
        let publish = publishes.remove(0);
        assert_eq!(publish.publish_id, publish_id);
        assert_eq!(
            publish.path,
            format!(
                "/publish_api/v1/instances/{}/publishes/{target}",
                self.emu.state().instance_id()
            )
        );
        assert_client_headers(&publish);
        publish
    }
}

fn validation<T: std::fmt::Debug>(result: Result<T, PublishError>) -> ValidationError {
    match result {
        Err(PublishError::Validation(v)) => v,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn assert_client_headers(publish: &RecordedPublish) {
    assert_eq!(publish.header("authorization"), Some("Bearer [redacted]"));
    assert_eq!(publish.header("x-pusher-library"), Some("beams-rs 0.1.0"));
    assert_eq!(
        concat!("beams-rs ", env!("CARGO_PKG_VERSION")),
        "beams-rs 0.1.0"
    );
    assert_eq!(publish.header("content-type"), Some("application/json"));
    assert_eq!(publish.header("accept"), Some("application/json"));
    // Nothing else goes on the wire but what HTTP/1.1 needs.
    let names: BTreeSet<&str> = publish.headers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "accept",
            "authorization",
            "content-length",
            "content-type",
            "host",
            "x-pusher-library"
        ])
    );
}

#[tokio::test]
async fn publish_to_users_reaches_the_emulator_and_the_users_devices() {
    let emu = start().await;
    let alice_web = user_device(&emu, Platform::Web, "alice");
    let alice_fcm = user_device(&emu, Platform::Fcm, "alice");
    let bob_apns = user_device(&emu, Platform::Apns, "bob");
    let carol_web = user_device(&emu, Platform::Web, "carol");
    let anonymous = emu.state().register_device(Platform::Web);
    let probe = Probe::new(&emu, []);

    let notification = Notification::new()
        .web(
            WebPayload::new()
                .notification(
                    WebNotification::new("Order shipped", "On its way")
                        .deep_link("https://shop.example.com/orders/42"),
                )
                .data(json!({"order": 42})),
        )
        .fcm(FcmPayload::new().notification(FcmNotification::new("Order shipped", "On its way")))
        .apns(ApnsPayload::new(Aps::new().alert(
            ApnsAlert::new().title("Order shipped").body("On its way"),
        )));
    let published = client(&emu)
        .publish_to_users(&["alice", "bob"], &notification)
        .await
        .expect("publish succeeds");

    let id = published.publish_id();
    let publish = probe.the_one_publish("users", id);
    assert_eq!(
        publish.body,
        json!({
            "users": ["alice", "bob"],
            "web": {
                "notification": {
                    "title": "Order shipped",
                    "body": "On its way",
                    "deep_link": "https://shop.example.com/orders/42"
                },
                "data": {"order": 42}
            },
            "fcm": {"notification": {"title": "Order shipped", "body": "On its way"}},
            "apns": {"aps": {"alert": {"title": "Order shipped", "body": "On its way"}}}
        })
    );
    assert_eq!(
        publish.users(),
        Some(&["alice".to_owned(), "bob".to_owned()][..])
    );
    assert_eq!(
        publish.delivered_to,
        [
            alice_web.id.clone(),
            alice_fcm.id.clone(),
            bob_apns.id.clone()
        ]
    );

    let pusher = json!({
        "instanceId": emu.state().instance_id(),
        "publishId": id,
        "hasDisplayableContent": true,
    });
    let with_data = |has_data: bool| {
        let mut p = pusher.clone();
        p["hasData"] = has_data.into();
        p
    };
    let web = emu.state().deliveries(&alice_web.id);
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].user_id.as_deref(), Some("alice"));
    assert_eq!(
        web[0].payload,
        json!({
            "notification": {
                "title": "Order shipped",
                "body": "On its way",
                "deep_link": "https://shop.example.com/orders/42"
            },
            "data": {"pusher": with_data(true), "order": 42}
        })
    );
    let fcm = emu.state().deliveries(&alice_fcm.id);
    assert_eq!(fcm.len(), 1);
    assert_eq!(
        fcm[0].payload,
        json!({
            "notification": {"title": "Order shipped", "body": "On its way"},
            "data": {"pusher": with_data(false).to_string()}
        })
    );
    let apns = emu.state().deliveries(&bob_apns.id);
    assert_eq!(apns.len(), 1);
    assert_eq!(apns[0].user_id.as_deref(), Some("bob"));
    // Beams adds content-available to aps for its delivery tracking (Beams docs, iOS
    // "Publish notifications" guide).
    assert_eq!(
        apns[0].payload,
        json!({
            "aps": {
                "alert": {"title": "Order shipped", "body": "On its way"},
                "content-available": 1
            },
            "data": {"pusher": with_data(false)}
        })
    );
    assert!(emu.state().deliveries(&carol_web.id).is_empty());
    assert!(emu.state().deliveries(&anonymous.id).is_empty());
}

#[tokio::test]
async fn publish_to_interests_reaches_the_subscribed_devices_once() {
    let emu = start().await;
    let both = emu.state().register_device(Platform::Web);
    let news = emu.state().register_device(Platform::Fcm);
    let other = emu.state().register_device(Platform::Web);
    assert!(emu.state().add_device_interest(&both.id, "donuts"));
    assert!(emu.state().add_device_interest(&both.id, "news"));
    assert!(emu.state().add_device_interest(&news.id, "news"));
    assert!(emu.state().add_device_interest(&other.id, "weather"));
    let probe = Probe::new(&emu, []);

    let notification = web_only()
        .fcm_raw(json!({"notification": {"title": "Hi"}, "data": {"k": "v"}}))
        .webhook_url("https://example.com/hook");
    let published = client(&emu)
        .publish_to_interests(&["donuts", "news", "a-b_c=d@e,f.g;h"], &notification)
        .await
        .expect("publish succeeds");

    let publish = probe.the_one_publish("interests", published.publish_id());
    assert_eq!(
        publish.body,
        json!({
            "interests": ["donuts", "news", "a-b_c=d@e,f.g;h"],
            "web": {"notification": {"title": "Hi", "body": "there"}},
            "fcm": {"notification": {"title": "Hi"}, "data": {"k": "v"}},
            "webhookUrl": "https://example.com/hook"
        })
    );
    // Subscribed to two of the interests, delivered once.
    assert_eq!(publish.delivered_to, [both.id.clone(), news.id.clone()]);
    let web = emu.state().deliveries(&both.id);
    assert_eq!(web.len(), 1);
    assert_eq!(
        web[0].payload["notification"],
        json!({"title": "Hi", "body": "there"})
    );
    assert_eq!(
        web[0].payload["data"]["pusher"]["publishId"],
        published.publish_id()
    );
    let fcm = emu.state().deliveries(&news.id);
    assert_eq!(fcm.len(), 1);
    assert_eq!(fcm[0].payload["data"]["k"], "v");
    assert!(fcm[0].payload["data"]["pusher"].is_string());
    assert!(emu.state().deliveries(&other.id).is_empty());
}

#[tokio::test]
async fn delete_user_removes_the_users_devices() {
    let emu = start().await;
    // A space and a slash: the path segment must be percent-encoded to reach the user.
    let user = "john doe/+1@example.com";
    let web = user_device(&emu, Platform::Web, user);
    let apns = user_device(&emu, Platform::Apns, user);
    user_device(&emu, Platform::Web, "john");
    let probe = Probe::new(&emu, []);

    let client = client(&emu);
    client.delete_user(user).await.expect("delete succeeds");
    assert_eq!(probe.requests(), 1);
    assert!(emu.state().user_devices(user).is_empty());
    assert!(emu.state().device(&web.id).is_none());
    assert!(emu.state().device(&apns.id).is_none());
    assert_eq!(emu.state().user_devices("john").len(), 1);

    // Idempotent: deleting again (or an unknown user) succeeds.
    client.delete_user(user).await.expect("second delete");
    client.delete_user("nobody").await.expect("unknown user");
    assert_eq!(probe.requests(), 3);

    // The user is gone: a publish to them reaches no device.
    client.publish_to_users(&[user], &web_only()).await.unwrap();
    assert!(emu.state().publishes()[0].delivered_to.is_empty());
}

#[tokio::test]
async fn rate_limited_publish_waits_for_retry_after_then_succeeds_once() {
    let emu = start().await;
    let device = user_device(&emu, Platform::Web, "alice");
    let probe = Probe::new(&emu, [on_publish(Fault::status(429).retry_after("1"))]);

    let started = Instant::now();
    let published = client(&emu)
        .publish_to_users(&["alice"], &web_only())
        .await
        .expect("the retry succeeds");
    let elapsed = started.elapsed();

    assert!(
        elapsed >= Duration::from_secs(1),
        "Retry-After ignored: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(probe.requests(), 2);
    let publishes = emu.state().publishes();
    assert_eq!(publishes.len(), 1);
    assert_eq!(publishes[0].publish_id, published.publish_id());
    assert_eq!(emu.state().deliveries(&device.id).len(), 1);
}

#[tokio::test]
async fn a_429_storm_ends_in_a_typed_rate_limited_error() {
    let emu = start().await;
    let probe = Probe::new(
        &emu,
        [on_publish(Fault::status(429).retry_after("0").times(10))],
    );

    let err = client(&emu)
        .publish_to_users(&["alice"], &web_only())
        .await
        .unwrap_err();
    let PublishError::RateLimited { retry_after, error } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(*retry_after, Some(Duration::ZERO));
    assert_eq!(error.status().as_u16(), 429);
    assert_eq!(error.error(), Some("Too Many Requests"));
    assert_eq!(error.description(), Some("max 100 RPS"));
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    // max_attempts = 3, all spent.
    probe.assert_nothing_published(3);
}

#[tokio::test]
async fn a_retry_after_longer_than_max_delay_is_not_awaited() {
    let emu = start().await;
    let probe = Probe::new(&emu, [on_publish(Fault::status(429).retry_after("30"))]);

    let started = Instant::now();
    let err = client(&emu)
        .publish_to_interests(&["news"], &web_only())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(err, PublishError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{err:?}"
    );
    probe.assert_nothing_published(1);
}

#[tokio::test]
async fn a_server_error_on_publish_is_not_retried() {
    let emu = start().await;
    let probe = Probe::new(&emu, [on_publish(Fault::status(500).times(3))]);

    let err = client(&emu)
        .publish_to_users(&["alice"], &web_only())
        .await
        .unwrap_err();
    let PublishError::Server(error) = &err else {
        panic!("expected Server, got {err:?}");
    };
    assert_eq!(error.status().as_u16(), 500);
    assert_eq!(error.error(), Some("Internal Server Error"));
    assert_eq!(
        error.description(),
        Some("Fault injected by beams-emulator")
    );
    probe.assert_nothing_published(1);
}

#[tokio::test]
async fn server_errors_on_delete_are_retried() {
    let emu = start().await;
    let device = user_device(&emu, Platform::Fcm, "dave");
    let probe = Probe::new(
        &emu,
        [
            Fault::status(503).method("DELETE"),
            Fault::status(500).method("DELETE"),
        ],
    );

    client(&emu)
        .delete_user("dave")
        .await
        .expect("third attempt succeeds");
    assert_eq!(probe.requests(), 3);
    assert!(emu.state().device(&device.id).is_none());

    // A burst longer than the attempts: the last 5xx is returned.
    emu.state().clear_faults();
    let probe = Probe::new(&emu, [Fault::status(502).times(5)]);
    let err = client(&emu).delete_user("dave").await.unwrap_err();
    assert!(
        matches!(&err, PublishError::Server(e) if e.status().as_u16() == 502),
        "{err:?}"
    );
    assert_eq!(probe.requests(), 3);
}

#[tokio::test]
async fn a_publish_that_times_out_is_not_resent() {
    let emu = start().await;
    let device = user_device(&emu, Platform::Web, "alice");
    let latency = Duration::from_millis(600);
    let timeout = Duration::from_millis(150);
    let probe = Probe::new(&emu, [on_publish(Fault::latency(latency).times(3))]);

    let started = Instant::now();
    let state = emu.state();
    let err = builder_as(&emu, state.instance_id(), state.secret_key(), quick())
        .timeout(timeout)
        .build()
        .expect("client builds")
        .publish_to_users(&["alice"], &web_only())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(err, PublishError::Timeout { timeout: t } if t == timeout),
        "{err:?}"
    );
    assert!(elapsed >= timeout && elapsed < latency, "{elapsed:?}");
    assert_eq!(
        probe.requests(),
        1,
        "a timed-out publish must not be resent"
    );

    // What the emulator makes of the abandoned request once its latency has passed: hyper
    // notices the client closed the connection and drops the handler, so nothing is
    // recorded. (Real Beams may well have accepted it: the error says "may have been
    // delivered", which is why the client never resends.)
    tokio::time::sleep(latency + Duration::from_millis(300)).await;
    probe.assert_nothing_published(1);
    assert!(emu.state().deliveries(&device.id).is_empty());
}

#[tokio::test]
async fn a_dropped_publish_is_a_network_error_and_not_retried() {
    let emu = start().await;
    let probe = Probe::new(&emu, [on_publish(Fault::drop_connection().times(3))]);

    let err = client(&emu)
        .publish_to_interests(&["news"], &web_only())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PublishError::Network {
                kind: NetworkErrorKind::AfterConnect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("may have been delivered"), "{err}");
    probe.assert_nothing_published(1);
}

#[tokio::test]
async fn a_dropped_delete_is_retried() {
    let emu = start().await;
    let device = user_device(&emu, Platform::Web, "erin");
    let probe = Probe::new(&emu, [Fault::drop_connection().method("DELETE")]);

    client(&emu)
        .delete_user("erin")
        .await
        .expect("the retry succeeds");
    assert_eq!(probe.requests(), 2);
    assert!(emu.state().device(&device.id).is_none());
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized() {
    let emu = start().await;
    let probe = Probe::new(&emu, []);
    let client = client_as(&emu, emu.state().instance_id(), "NOT-THE-SECRET", quick());

    let err = client
        .publish_to_users(&["alice"], &web_only())
        .await
        .unwrap_err();
    let PublishError::Unauthorized(error) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(error.status().as_u16(), 401);
    assert_eq!(error.error(), Some("Unauthorized"));
    assert_eq!(error.description(), Some("Incorrect Secret Key"));
    assert!(!err.to_string().contains("NOT-THE-SECRET"));
    assert!(!format!("{err:?}").contains("NOT-THE-SECRET"));

    let err = client.delete_user("alice").await.unwrap_err();
    assert!(
        matches!(&err, PublishError::Unauthorized(e) if e.description() == Some("Incorrect Secret Key")),
        "{err:?}"
    );
    probe.assert_nothing_published(2);
}

#[tokio::test]
async fn an_unknown_instance_is_not_found() {
    let emu = start().await;
    let probe = Probe::new(&emu, []);
    let client = client_as(&emu, "no-such-instance", emu.state().secret_key(), quick());

    let err = client
        .publish_to_interests(&["news"], &web_only())
        .await
        .unwrap_err();
    let PublishError::NotFound(error) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert_eq!(error.status().as_u16(), 404);
    assert_eq!(
        error.description(),
        Some("Instance not found: no-such-instance")
    );
    let err = client.delete_user("alice").await.unwrap_err();
    assert!(matches!(err, PublishError::NotFound(_)), "{err:?}");
    probe.assert_nothing_published(2);
}

#[tokio::test]
async fn invalid_targets_fail_locally_and_reach_no_one() {
    let emu = start().await;
    let probe = Probe::new(&emu, []);
    let client = client(&emu);
    let n = web_only();

    let long_interest = "i".repeat(165);
    let many_interests: Vec<String> = (0..101).map(|i| format!("i{i}")).collect();
    let many_interests: Vec<&str> = many_interests.iter().map(String::as_str).collect();
    assert_eq!(
        validation(client.publish_to_interests(&[], &n).await),
        ValidationError::NoInterests
    );
    assert!(matches!(
        validation(client.publish_to_interests(&["ok", "a:b"], &n).await),
        ValidationError::InvalidInterestChar {
            index: 1,
            found: ':',
            ..
        }
    ));
    assert!(matches!(
        validation(client.publish_to_interests(&["ok", ""], &n).await),
        ValidationError::EmptyInterest { index: 1 }
    ));
    assert!(matches!(
        validation(client.publish_to_interests(&[&long_interest], &n).await),
        ValidationError::InterestTooLong { len: 165, .. }
    ));
    assert_eq!(
        validation(client.publish_to_interests(&many_interests, &n).await),
        ValidationError::TooManyInterests { count: 101 }
    );

    let long_user = "u".repeat(165);
    let many_users: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
    let many_users: Vec<&str> = many_users.iter().map(String::as_str).collect();
    assert_eq!(
        validation(client.publish_to_users(&[], &n).await),
        ValidationError::NoUsers
    );
    assert!(matches!(
        validation(client.publish_to_users(&["a", "b", "a"], &n).await),
        ValidationError::DuplicateUser {
            index: 2,
            first_index: 0,
            ..
        }
    ));
    assert!(matches!(
        validation(client.publish_to_users(&["a", ""], &n).await),
        ValidationError::InvalidUser { index: 1, .. }
    ));
    assert!(matches!(
        validation(client.publish_to_users(&[&long_user], &n).await),
        ValidationError::InvalidUser { index: 0, .. }
    ));
    assert_eq!(
        validation(client.publish_to_users(&many_users, &n).await),
        ValidationError::TooManyUsers { count: 1001 }
    );
    assert_eq!(
        validation(client.publish_to_users(&["a"], &Notification::new()).await),
        ValidationError::NoPlatform
    );
    assert!(matches!(
        validation(client.delete_user("").await),
        ValidationError::InvalidUserId { .. }
    ));
    assert!(matches!(
        validation(client.delete_user(&long_user).await),
        ValidationError::InvalidUserId { .. }
    ));

    probe.assert_nothing_published(0);
}

#[tokio::test]
async fn fan_out_of_2500_users_with_duplicates_publishes_each_user_once() {
    let emu = start().await;
    let first = user_device(&emu, Platform::Web, "user-0");
    let last = user_device(&emu, Platform::Apns, "user-2499");
    let probe = Probe::new(&emu, []);

    // 3000 entries, 2500 distinct: every 6th entry repeats an earlier user.
    let mut users: Vec<String> = Vec::with_capacity(3000);
    for i in 0..2500 {
        users.push(format!("user-{i}"));
        if i % 5 == 4 {
            users.push(format!("user-{}", i - 4));
        }
    }
    assert_eq!(users.len(), 3000);
    let notification = web_only().apns(ApnsPayload::new(Aps::new().alert("Hi")));
    let report = FanOut::new()
        .publish_to_users(&client(&emu), &users, &notification)
        .await
        .expect("a valid notification");

    assert!(report.is_complete_success(), "{report:?}");
    assert_eq!(report.duplicates_removed, 500);
    assert_eq!(report.batches.len(), 3);
    assert_eq!(report.users_published(), 2500);
    assert_eq!(probe.requests(), 3);
    let publishes = emu.state().publishes();
    assert_eq!(publishes.len(), 3);
    let reported: HashSet<&str> = report.publish_ids().collect();
    let recorded: HashSet<&str> = publishes.iter().map(|p| p.publish_id.as_str()).collect();
    assert_eq!(reported, recorded);

    let mut sizes: Vec<usize> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for publish in &publishes {
        let batch = publish.users().expect("a publish to users");
        sizes.push(batch.len());
        for user in batch {
            assert!(seen.insert(user), "{user} published twice");
        }
    }
    sizes.sort_unstable();
    assert_eq!(sizes, [500, 1000, 1000]);
    assert_eq!(seen.len(), 2500);
    assert!((0..2500).all(|i| seen.contains(format!("user-{i}").as_str())));
    assert_eq!(emu.state().deliveries(&first.id).len(), 1);
    assert_eq!(emu.state().deliveries(&last.id).len(), 1);
}

/// Fans `batches` × 1000 distinct users out at `rps` with `client`; returns the report's
/// failures (formatted) and the wall time.
async fn fan_out(client: &BeamsClient, batches: usize, rps: u32) -> (Vec<String>, usize, Duration) {
    let users: Vec<String> = (0..batches * 1000).map(|i| format!("u{i}")).collect();
    let started = Instant::now();
    let report = FanOut::new()
        .max_requests_per_second(rps)
        .publish_to_users(client, &users, &web_only())
        .await
        .expect("a valid notification");
    let elapsed = started.elapsed();
    let failed = report
        .failed_batches()
        .map(|b| format!("batch {}: {:?}", b.index, b.result))
        .collect();
    (failed, report.batches.len(), elapsed)
}

/// An emulator limiting publishes to 100 rps, keeping every publish these tests make (150
/// batches of 1 000 users) in its record.
async fn limited_to_100_rps() -> Emulator {
    let mut limits = beams_emulator::Limits::default();
    limits.max_publish_bytes = 256 << 20;
    Emulator::builder()
        .rate_limit(Some(100))
        .limits(limits)
        .start()
        .await
        .unwrap()
}

/// Fans 150 batches out at `rps` to the 100 rps limit, with the 4 requests that open the
/// connections 50 ms slow and a single attempt each (a 429 fails its batch instead of being
/// retried out of sight): every batch must succeed at the first try.
async fn assert_no_429_at(rps: u32) {
    let emu = limited_to_100_rps().await;
    let probe = Probe::new(
        &emu,
        [on_publish(
            Fault::latency(Duration::from_millis(50)).times(4),
        )],
    );
    let client = client_with(&emu, quick().with_max_attempts(1));

    let (failed, batches, _) = fan_out(&client, 150, rps).await;

    assert!(failed.is_empty(), "{} failed: {failed:#?}", failed.len());
    assert_eq!(batches, 150);
    assert_eq!(probe.requests(), 150);
    assert_eq!(emu.state().publishes().len(), 150);
}

/// FanOut paced at 100 rps against the emulator limiting at 100 rps: no 429 expected.
///
/// Regression test: the pacer used to start request k at exactly k × 10 ms, so the 101st
/// start landed at 1 000 ms, on the edge of the first second. A limiter whose 1-second
/// window opens when the first request *arrives* then counts 101 whenever the first
/// requests arrive late — the normal case, since they open the connections (a TLS handshake
/// to the real Beams: tens of ms). Modelled here deterministically: the 4 requests that
/// open the 4 connections take 50 ms more. The pacer now leaves a 10% margin.
#[tokio::test]
async fn fan_out_at_100_rps_gets_no_429_from_a_100_rps_limit() {
    assert_no_429_at(100).await;
}

/// The same run with the client's retries: whatever 429s the pacing edge causes are waited
/// out (`Retry-After: 1`), and every batch is published exactly once.
#[tokio::test]
async fn fan_out_at_100_rps_against_a_100_rps_limit_publishes_each_batch_once() {
    let emu = limited_to_100_rps().await;
    let probe = Probe::new(&emu, []);
    let client = client(&emu);

    let (failed, batches, elapsed) = fan_out(&client, 150, 100).await;

    assert!(failed.is_empty(), "{} failed: {failed:#?}", failed.len());
    assert_eq!(batches, 150);
    // 150 starts 10 ms apart.
    assert!(elapsed >= Duration::from_millis(1490), "{elapsed:?}");
    let requests = probe.requests();
    assert!((150..=160).contains(&requests), "{requests} requests");
    let publishes = emu.state().publishes();
    assert_eq!(publishes.len(), 150);
    let users: HashSet<&str> = publishes
        .iter()
        .flat_map(|p| p.users().unwrap())
        .map(String::as_str)
        .collect();
    assert_eq!(users.len(), 150_000);
}

/// With 10 % headroom (FanOut at 90 rps) the 100 rps limit is never hit, even when the
/// first requests are slow: not a single 429.
#[tokio::test]
async fn fan_out_at_90_rps_gets_no_429_from_a_100_rps_limit() {
    assert_no_429_at(90).await;
}
