//! The outbox's counters and gauges: one publish retried then published, one dead at once,
//! one published at the first try.

use std::sync::Arc;
use std::time::{Duration, Instant};

use beams_core::outbox::{Outbox, Publish, State};
use beams_core::publish::{ApiError, FakePublisher, Notification, PublishError};
use beams_tests::redis::RedisServer;
use http::StatusCode;

use super::{USER, block_on};
use beams_test_support::metrics::{expect, recorded};

#[test]
fn the_outbox_counts_what_became_of_each_batch() {
    let redis = RedisServer::start();
    let ((), recorded) = recorded(|| {
        block_on(async {
            let outbox = Outbox::builder(&redis.url()).build().unwrap();
            let fake = Arc::new(FakePublisher::new());
            let api = |code: u16| ApiError::new(StatusCode::from_u16(code).unwrap(), "e", "d");
            fake.fail_next(PublishError::Server(api(503)));
            fake.fail_next(PublishError::Rejected(api(400)));
            let n = Notification::new().apns_raw(serde_json::json!({"aps": {"alert": "hi"}}));
            let mut ids = Vec::new();
            for user in [USER, "second", "third"] {
                let publish = Publish::to_users([user], &n).unwrap();
                ids.push(outbox.enqueue(publish).await.unwrap().id().to_owned());
            }
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let worker = tokio::spawn(
                outbox
                    .worker(fake)
                    .concurrency(1)
                    .run(async { drop(stopped.await) }),
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            for id in &ids {
                while outbox.status(id).await.unwrap().unwrap().state() == State::Queued {
                    assert!(Instant::now() < deadline);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            // The gauges are read once a second.
            tokio::time::sleep(Duration::from_millis(1200)).await;
            drop(stop);
            worker.await.unwrap();
        })
    });
    for (name, count) in [
        ("beams_outbox_enqueued_total", 3),
        ("beams_outbox_published_total", 2),
        ("beams_outbox_retries_total", 1),
        ("beams_outbox_dead_lettered_total", 1),
    ] {
        assert_eq!(recorded.counters(name), expect(&[("", count)]), "{name}");
    }
    assert_eq!(
        recorded.gauges("beams_outbox_pending"),
        expect(&[("", 0.0)])
    );
    assert_eq!(
        recorded.gauges("beams_outbox_dead_letters"),
        expect(&[("", 1.0)])
    );
    assert!(recorded.labels().all(|(_, v)| !v.contains(USER)));
}
