//! `FakePublisher` and `FanOut` over any `Publisher`, without a network.
#![cfg(all(feature = "publish", feature = "test-util"))]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use beams_core::publish::{
    ApiError, FakePublisher, FanOut, Notification, PublishCall, PublishError, PublishResponse,
    Publisher, ValidationError, WebNotification, WebPayload,
};
use http::StatusCode;
use serde_json::json;

fn web() -> Notification {
    Notification::new().web(WebPayload::new().notification(WebNotification::new("T", "B")))
}

#[tokio::test]
async fn fake_records_valid_calls_and_refuses_invalid_ones() {
    let fake = FakePublisher::new();
    let publisher: Arc<dyn Publisher> = Arc::new(FakePublisher::new());
    assert!(publisher.publish_to_users(&["a"], &web()).await.is_ok());

    let n = web().webhook_url("https://example.com/h");
    let id = fake.publish_to_interests(&["news"], &n).await.unwrap();
    assert_eq!(id.publish_id(), "pubid-fake-1");
    let id = fake.publish_to_users(&["alice", "bob"], &n).await.unwrap();
    assert_eq!(id.publish_id(), "pubid-fake-2");
    fake.delete_user("carol").await.unwrap();

    // The same validation as the real client.
    for err in [
        fake.publish_to_interests(&["a b"], &n).await.unwrap_err(),
        fake.publish_to_interests(&[], &n).await.unwrap_err(),
        fake.publish_to_users(&["x", "x"], &n).await.unwrap_err(),
        fake.publish_to_users(&["x"], &Notification::new())
            .await
            .unwrap_err(),
        fake.delete_user("").await.unwrap_err(),
    ] {
        assert!(err.is_validation(), "{err:?}");
    }

    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[0],
        PublishCall::Interests {
            interests: vec!["news".into()],
            notification: n.clone(),
            body: json!({
                "interests": ["news"],
                "web": {"notification": {"title": "T", "body": "B"}},
                "webhookUrl": "https://example.com/h"
            }),
        }
    );
    assert_eq!(fake.users_published_to(), ["alice", "bob"]);
    assert_eq!(fake.interests_published_to(), ["news"]);
    assert_eq!(fake.deleted_users(), ["carol"]);
    fake.clear();
    assert!(fake.calls().is_empty());
    assert!(format!("{fake:?}").contains("FakePublisher"));
}

#[tokio::test]
async fn fake_can_be_told_to_fail() {
    let fake = FakePublisher::new();
    fake.fail_next(PublishError::RateLimited {
        retry_after: Some(Duration::from_secs(1)),
        error: ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "max 100 RPS",
        ),
    });
    let err = fake.publish_to_users(&["a"], &web()).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    // Recorded even though it failed: it was a valid call.
    assert_eq!(fake.calls().len(), 1);
    assert!(fake.publish_to_users(&["a"], &web()).await.is_ok());

    fake.fail_with(|call| match call {
        PublishCall::Users { users, .. } if users.iter().any(|u| u == "poison") => {
            Some(PublishError::Rejected(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unprocessable Entity",
                "no",
            )))
        }
        _ => None,
    });
    assert!(fake.publish_to_users(&["ok"], &web()).await.is_ok());
    assert!(matches!(
        fake.publish_to_users(&["poison"], &web()).await,
        Err(PublishError::Rejected(_))
    ));
}

#[tokio::test]
async fn fan_out_over_the_fake_reports_failed_batches() {
    let fake = FakePublisher::new();
    fake.fail_with(|call| match call {
        PublishCall::Users { users, .. } if users[0] == "u1000" => Some(PublishError::Server(
            ApiError::from_body(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>"),
        )),
        _ => None,
    });
    let users: Vec<String> = (0..3000).map(|i| format!("u{i}")).collect();
    let report = FanOut::new()
        .without_rate_limit()
        .publish_to_users(
            &fake as &dyn Publisher,
            users.iter().chain(users.iter()),
            &web(),
        )
        .await
        .unwrap();
    assert_eq!(report.duplicates_removed, 3000);
    assert_eq!(report.batches.len(), 3);
    assert_eq!(
        report.failed_batches().map(|b| b.index).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(report.users_published(), 2000);
    let mut recorded = fake.users_published_to();
    recorded.sort();
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(recorded, expected);

    // Nothing to send: an empty report.
    let report = FanOut::new()
        .publish_to_users(&fake, Vec::<String>::new(), &web())
        .await
        .unwrap();
    assert!(report.batches.is_empty() && report.is_complete_success());
    // A notification that breaks a rule: refused up front.
    let bad = Notification::new().web(WebPayload::new().data(json!({"pusher": {}})));
    let err = FanOut::new()
        .publish_to_users(&fake, &users, &bad)
        .await
        .unwrap_err();
    assert_eq!(err, ValidationError::ReservedWebDataKey);
}

/// Counts batches and the most requests in flight at once; builds the real body.
#[derive(Default)]
struct Counting {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    sizes: Mutex<Vec<usize>>,
    starts: Mutex<Vec<Instant>>,
}

#[async_trait]
impl Publisher for Counting {
    async fn publish_to_interests(
        &self,
        _: &[&str],
        _: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        unreachable!()
    }

    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.starts.lock().unwrap().push(Instant::now());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let body = notification.users_body(users)?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.sizes.lock().unwrap().push(users.len());
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(PublishResponse::new(format!("pubid-{}", body.len())))
    }

    async fn delete_user(&self, _: &str) -> Result<(), PublishError> {
        unreachable!()
    }
}

#[tokio::test]
async fn fan_out_of_100_000_users_is_bounded_and_paced() {
    let publisher = Counting::default();
    let users = (0..100_000).map(|i| format!("user-{i:06}"));
    let start = Instant::now();
    let report = FanOut::new()
        .concurrency(4)
        .max_requests_per_second(100)
        .publish_to_users(&publisher, users, &web())
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(report.is_complete_success());
    assert_eq!(report.batches.len(), 100);
    assert_eq!(report.users_published(), 100_000);
    let sizes = publisher.sizes.lock().unwrap().clone();
    assert_eq!(sizes.len(), 100);
    assert!(sizes.iter().all(|&n| n == 1000));
    assert!(publisher.max_in_flight.load(Ordering::SeqCst) <= 4);
    // 100 starts at 100/s are spread over at least 99 intervals of 10 ms.
    assert!(elapsed >= Duration::from_millis(990), "{elapsed:?}");
    // No 1-second window holds more than 100 starts.
    let mut starts = publisher.starts.lock().unwrap().clone();
    starts.sort();
    for (i, s) in starts.iter().enumerate() {
        let in_window = starts[i..]
            .iter()
            .filter(|t| t.duration_since(*s) < Duration::from_secs(1))
            .count();
        assert!(in_window <= 100);
    }
}
