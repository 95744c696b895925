//! The publish client against the emulator's injected faults and a refused connection:
//! one count per HTTP request sent, by operation and outcome; retries; durations; waits.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, BoxError, Notification, PublishError, Publisher, RateLimiter, RetryPolicy,
    WebNotification, WebPayload,
};
use beams_emulator::{Emulator, Fault, Platform};

use super::{USER, block_on};
use beams_test_support::metrics::{Recorded, expect, recorded};

const REQUESTS: &str = "beams_publish_requests_total";
const RETRIES: &str = "beams_publish_retries_total";
const DURATION: &str = "beams_publish_duration_seconds";
const WAIT: &str = "beams_rate_limiter_wait_seconds";

/// 3 attempts, tiny backoff, a `Retry-After` of up to 2 s honoured.
fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_secs(2))
}

fn client_of(endpoint: &str, instance_id: &str, secret: &str) -> BeamsClient {
    let instance = Instance::builder(instance_id, secret)
        .endpoint(endpoint)
        .build()
        .unwrap();
    BeamsClient::builder(&instance)
        .retry_policy(quick())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn client(emu: &Emulator) -> BeamsClient {
    client_of(
        emu.base_url(),
        emu.state().instance_id(),
        emu.state().secret_key(),
    )
}

fn web() -> Notification {
    Notification::new().web(WebPayload::new().notification(WebNotification::new("Hi", "there")))
}

/// Runs `scenario` against a fresh emulator, recording.
fn with_emulator<F, Fut>(scenario: F) -> Recorded
where
    F: FnOnce(Emulator) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    recorded(|| {
        block_on(async {
            let emu = Emulator::builder().start().await.expect("emulator starts");
            scenario(emu).await;
        })
    })
    .1
}

#[test]
fn a_429_then_200_counts_both_requests_and_one_retry() {
    let rec = with_emulator(|emu| async move {
        let device = emu.state().register_device(Platform::Web);
        emu.state().set_device_user(&device.id, USER).unwrap();
        emu.state().inject_fault(
            Fault::status(429)
                .retry_after("0")
                .path_prefix("/publish_api"),
        );
        let published = client(&emu)
            .publish_to_users(&[USER], &web())
            .await
            .unwrap();
        assert!(!published.publish_id().is_empty());
    });
    assert_eq!(
        rec.counters(REQUESTS),
        expect(&[
            ("operation=publish_to_users,outcome=ok", 1),
            ("operation=publish_to_users,outcome=rate_limited", 1),
        ])
    );
    assert_eq!(
        rec.counters(RETRIES),
        expect(&[("operation=publish_to_users", 1)])
    );
    assert_eq!(
        rec.samples(DURATION),
        expect(&[("operation=publish_to_users", 2)])
    );
    assert_eq!(rec.samples(WAIT), expect(&[("", 2)]));
}

#[test]
fn a_5xx_publish_counts_once_and_is_not_retried() {
    let rec = with_emulator(|emu| async move {
        emu.state()
            .inject_fault(Fault::status(500).times(3).path_prefix("/publish_api"));
        let err = client(&emu)
            .publish_to_interests(&["news"], &web())
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Server(_)), "{err:?}");
    });
    assert_eq!(
        rec.counters(REQUESTS),
        expect(&[("operation=publish_to_interests,outcome=server_error", 1)])
    );
    assert_eq!(rec.counters(RETRIES), expect::<u64>(&[]));
    assert_eq!(
        rec.samples(DURATION),
        expect(&[("operation=publish_to_interests", 1)])
    );
    assert_eq!(rec.samples(WAIT), expect(&[("", 1)]));
}

/// `delete_user` is idempotent: a 5xx is retried. A redirect and a 404 are client errors.
#[test]
fn delete_user_counts_server_and_client_errors() {
    let rec = with_emulator(|emu| async move {
        emu.state()
            .inject_fault(Fault::status(503).method("DELETE"));
        client(&emu).delete_user(USER).await.unwrap();
        emu.state()
            .inject_fault(Fault::status(302).method("DELETE"));
        let err = client(&emu).delete_user(USER).await.unwrap_err();
        assert!(matches!(err, PublishError::Redirected(_)), "{err:?}");
        emu.state()
            .inject_fault(Fault::status(404).method("DELETE"));
        let err = client(&emu).delete_user(USER).await.unwrap_err();
        assert!(matches!(err, PublishError::NotFound(_)), "{err:?}");
    });
    assert_eq!(
        rec.counters(REQUESTS),
        expect(&[
            ("operation=delete_user,outcome=client_error", 2),
            ("operation=delete_user,outcome=ok", 1),
            ("operation=delete_user,outcome=server_error", 1),
        ])
    );
    assert_eq!(
        rec.counters(RETRIES),
        expect(&[("operation=delete_user", 1)])
    );
    assert_eq!(
        rec.samples(DURATION),
        expect(&[("operation=delete_user", 4)])
    );
}

/// Nothing answers: each attempt is a `network` request, retried (nothing was sent) until
/// the policy's 3 attempts are spent.
#[test]
fn a_refused_connection_counts_each_attempt_as_network() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ((), rec) = recorded(|| {
        block_on(async {
            let client = client_of(&format!("http://127.0.0.1:{port}"), "instance", "secret");
            let err = client.publish_to_users(&[USER], &web()).await.unwrap_err();
            assert!(matches!(err, PublishError::Network { .. }), "{err:?}");
            let err = client.delete_user(USER).await.unwrap_err();
            assert!(matches!(err, PublishError::Network { .. }), "{err:?}");
        })
    });
    assert_eq!(
        rec.counters(REQUESTS),
        expect(&[
            ("operation=delete_user,outcome=network", 3),
            ("operation=publish_to_users,outcome=network", 3),
        ])
    );
    assert_eq!(
        rec.counters(RETRIES),
        expect(&[
            ("operation=delete_user", 2),
            ("operation=publish_to_users", 2)
        ])
    );
    assert_eq!(
        rec.samples(DURATION),
        expect(&[
            ("operation=delete_user", 3),
            ("operation=publish_to_users", 3)
        ])
    );
    assert_eq!(rec.samples(WAIT), expect(&[("", 6)]));
}

/// A limiter whose shared store is down: the request fails before it is sent.
#[derive(Debug)]
struct DownLimiter;

#[async_trait]
impl RateLimiter for DownLimiter {
    async fn acquire(&self) -> Result<(), BoxError> {
        Err("the limiter's store is down".into())
    }
}

/// What is never sent counts nothing: a publish refused by local validation, a user id
/// refused before the request, a limiter that failed.
#[test]
fn nothing_sent_counts_nothing() {
    let rec = with_emulator(|emu| async move {
        let client = client(&emu);
        let err = client
            .publish_to_users(&[USER, USER], &web())
            .await
            .unwrap_err();
        assert!(err.is_validation(), "{err:?}");
        let err = client.publish_to_interests(&[], &web()).await.unwrap_err();
        assert!(err.is_validation(), "{err:?}");
        let err = client.delete_user("").await.unwrap_err();
        assert!(err.is_validation(), "{err:?}");

        let instance = Instance::builder(emu.state().instance_id(), emu.state().secret_key())
            .endpoint(emu.base_url())
            .build()
            .unwrap();
        let limited = BeamsClient::builder(&instance)
            .rate_limiter(Arc::new(DownLimiter))
            .build()
            .unwrap();
        let err = limited.publish_to_users(&[USER], &web()).await.unwrap_err();
        assert!(matches!(err, PublishError::Limiter(_)), "{err:?}");
        assert!(emu.state().publishes().is_empty());
    });
    assert_eq!(rec.names(), Vec::<&str>::new());
}
