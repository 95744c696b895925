//! The `beams-outbox` command against a real `redis-server`: sizes, status, and dead letters
//! listed, replayed and deleted, as an operator runs it.
#![cfg(all(feature = "outbox-cli", feature = "test-util"))]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use beams_core::outbox::{Outbox, Publish, State};
use beams_core::publish::{ApiError, FakePublisher, Notification, PublishError};
use beams_test_support::redis::{RedisCluster, RedisServer};
use http::StatusCode;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_beams-outbox");

/// Runs the command; its exit code and stdout lines as JSON.
fn cli(redis: &RedisServer, args: &[&str]) -> (i32, Vec<Value>) {
    let out = Command::new(BIN)
        .args(args)
        .env("REDIS_URL", redis.url())
        .env_remove("REDIS_CLUSTER_URLS")
        .env_remove("OUTBOX_PREFIX")
        .output()
        .expect("beams-outbox runs");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (out.status.code().unwrap(), lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_inspects_and_replays_dead_letters() {
    let redis = RedisServer::start();
    let outbox = Outbox::builder(&redis.url()).build().unwrap();
    let fake = Arc::new(FakePublisher::new());
    let n = Notification::new().apns_raw(serde_json::json!({"aps": {"alert": "hi"}}));
    let mut ids = Vec::new();
    for user in ["ann", "bob", "cy"] {
        fake.fail_next(PublishError::Rejected(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "nope",
        )));
        let publish = Publish::to_users([user], &n).unwrap().tag(user);
        ids.push(outbox.enqueue(publish).await.unwrap().id().to_owned());
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(
        outbox
            .worker(fake.clone())
            .concurrency(1)
            .run(async { drop(stopped.await) }),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in &ids {
        while outbox.status(id).await.unwrap().unwrap().state() != State::Dead {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let (code, out) = cli(&redis, &["sizes"]);
    assert_eq!(
        (code, &out[..]),
        (
            0,
            &[serde_json::json!({"pending": 0, "deadLetters": 3})][..]
        )
    );

    let (code, out) = cli(&redis, &["status", &ids[0]]);
    assert_eq!(code, 0);
    assert_eq!(out[0]["state"], "dead");
    assert_eq!(out[0]["attempts"], 1);
    assert_eq!(out[0]["tag"], "ann");
    assert_eq!(out[0]["error"]["status"], 400);
    assert_eq!(out[0]["error"]["description"], "nope");
    let (code, out) = cli(&redis, &["status", "0123456789abcdef0123456789abcdef"]);
    assert_eq!((code, out[0]["error"].as_str()), (1, Some("not found")));

    let (code, out) = cli(&redis, &["dead", "list", "--limit", "2"]);
    assert_eq!(code, 0);
    assert_eq!(out.len(), 2);
    let (_, all) = cli(&redis, &["dead", "list"]);
    assert_eq!(all.len(), 3);
    assert_eq!(&all[..2], &out[..], "--limit takes the first ones");
    // Those that died in the same millisecond have no order among them: find ann's.
    let ann = all.iter().find(|l| l["tag"] == "ann").unwrap();
    assert_eq!(ann["outboxId"], ids[0].as_str());
    assert_eq!(ann["attempts"], 1);
    assert_eq!(ann["error"]["status"], 400);
    let first = ann["id"].as_str().unwrap().to_owned();

    // Replay one by id (it is published now), delete the rest with --all.
    let (code, out) = cli(&redis, &["dead", "replay", &first]);
    assert_eq!((code, out[0]["replayed"].as_bool()), (0, Some(true)));
    let (code, out) = cli(&redis, &["dead", "replay", &first]);
    assert_eq!((code, out[0]["replayed"].as_bool()), (1, Some(false)));
    while outbox.status(&ids[0]).await.unwrap().unwrap().state() != State::Published {
        assert!(Instant::now() < deadline + Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Replaying all while each dies again at once ends: every dead letter there was is
    // replayed once.
    fake.fail_with(|_| {
        Some(PublishError::Rejected(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "still no",
        )))
    });
    let (code, out) = cli(&redis, &["dead", "replay", "--all"]);
    assert_eq!(
        (code, &out[0]),
        (0, &serde_json::json!({"replayed": 2, "skipped": 0}))
    );
    for id in &ids[1..] {
        while outbox.status(id).await.unwrap().unwrap().state() != State::Dead {
            assert!(Instant::now() < deadline + Duration::from_secs(10));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (code, out) = cli(&redis, &["dead", "delete", "--all"]);
    assert_eq!(
        (code, &out[0]),
        (0, &serde_json::json!({"deleted": 2, "skipped": 0}))
    );
    let (_, out) = cli(&redis, &["sizes"]);
    assert_eq!(out[0]["deadLetters"], 0);
    let mut sent = fake.users_published_to();
    sent[4..].sort();
    assert_eq!(sent, ["ann", "bob", "cy", "ann", "bob", "cy"]);

    // Bad usage is exit 2 with a message, not a panic.
    for args in [
        &["nonsense"][..],
        &["dead", "replay"],
        &["dead", "list", "--limit", "x"],
    ] {
        let (code, out) = cli(&redis, args);
        assert_eq!((code, out.len()), (2, 0), "{args:?}");
    }
    let missing = Command::new(BIN)
        .arg("sizes")
        .env_remove("REDIS_URL")
        .env_remove("REDIS_CLUSTER_URLS")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    drop(stop);
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_reads_an_outbox_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let urls = cluster.urls();
    let outbox = Outbox::cluster_builder(&urls[..1])
        .prefix("{ops}")
        .build()
        .unwrap();
    let n = Notification::new().apns_raw(serde_json::json!({"aps": {"alert": "hi"}}));
    let id = outbox
        .enqueue(Publish::to_users(["ann"], &n).unwrap())
        .await
        .unwrap();
    let out = Command::new(BIN)
        .args(["--prefix", "{ops}", "status", id.id()])
        .env("REDIS_CLUSTER_URLS", urls.join(","))
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "queued");
    assert_eq!(status["batches"], 1);
}
