//! One publish budget for several replicas: three publish clients, each with its own
//! connection to a real `redis-server` and the same `RedisRateLimiter` key (as three
//! replicas would have), fan out 50 000 users each at once to an emulator that enforces
//! Beams' 100 requests per second. No request is refused, and no second of arrivals holds
//! more than 100.

use std::sync::Arc;
use std::time::{Duration, Instant};

use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, FanOut, Notification, RateLimiter, RedisRateLimiter, RetryPolicy, WebNotification,
    WebPayload,
};
use beams_emulator::{Emulator, Limits};
use beams_tests::redis::RedisServer;

const USERS_PER_REPLICA: usize = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_one_budget() {
    let redis = RedisServer::start();
    let mut limits = Limits::default();
    limits.max_publish_bytes = 64 << 20;
    let emu = Emulator::builder()
        .rate_limit(Some(100))
        .limits(limits)
        .start()
        .await
        .unwrap();
    let state = emu.state();
    let instance = Instance::builder(state.instance_id(), state.secret_key())
        .endpoint(emu.base_url())
        .build()
        .unwrap();
    let notification = Notification::new()
        .web(WebPayload::new().notification(WebNotification::new("Sale", "50% off")));

    let replicas = (0..3).map(|replica| {
        let limiter = RedisRateLimiter::beams(&redis.url(), instance.id()).unwrap();
        let client = BeamsClient::builder(&instance)
            // A 429 must show up as a failed batch, not be retried away.
            .retry_policy(RetryPolicy::no_retries())
            .rate_limiter(Arc::new(limiter))
            .build()
            .unwrap();
        let users: Vec<String> = (0..USERS_PER_REPLICA)
            .map(|i| format!("replica{replica}-user{i}"))
            .collect();
        let notification = notification.clone();
        tokio::spawn(async move {
            FanOut::new()
                .publish_to_users(&client, &users, &notification)
                .await
                .unwrap()
        })
    });
    let mut reports = Vec::new();
    for replica in replicas.collect::<Vec<_>>() {
        reports.push(replica.await);
    }
    for report in reports {
        let report = report.unwrap();
        assert_eq!(report.batches.len(), USERS_PER_REPLICA / 1000);
        let failed: Vec<String> = report
            .failed_batches()
            .map(|b| format!("{:?}", b.result))
            .collect();
        assert!(failed.is_empty(), "refused batches: {failed:?}");
    }

    let mut arrivals: Vec<u64> = state.publishes().iter().map(|p| p.received_at_ms).collect();
    assert_eq!(arrivals.len(), 150);
    arrivals.sort_unstable();
    let busiest = arrivals
        .iter()
        .map(|&t| arrivals.iter().filter(|&&u| u >= t && u < t + 1000).count())
        .max()
        .unwrap();
    eprintln!(
        "150 requests over {} ms, at most {busiest} in any one second",
        arrivals[149] - arrivals[0]
    );
    assert!(busiest <= 100, "{busiest} requests in one second");
}

/// Many requests waiting for their slots at once: the wait is not bounded like a Redis call,
/// so every one of them gets its slot, the last after several seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_wait_for_a_slot_is_not_an_error() {
    let redis = RedisServer::start();
    // 10 per second, one at a time: the 30th waits about 2.9 s.
    let limiter = Arc::new(RedisRateLimiter::new(&redis.url(), "slow", 10, 1).unwrap());
    let start = Instant::now();
    let waits: Vec<_> = (0..30)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire().await.map(|()| start.elapsed()) })
        })
        .collect();
    let mut longest = Duration::ZERO;
    for wait in waits {
        let waited = wait
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("acquire failed: {e}"));
        longest = longest.max(waited);
    }
    assert!(
        longest >= Duration::from_secs(2),
        "the last slot came after {longest:?}"
    );
}

/// A runtime too busy to read Redis' answers promptly (each task holds its worker thread
/// for a while, as a CPU-heavy app does on a loaded machine) does not turn a healthy Redis
/// into a failed request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_runtime_does_not_fail_a_healthy_redis() {
    let redis = RedisServer::start();
    let limiter = Arc::new(RedisRateLimiter::new(&redis.url(), "busy", 100_000, 1_000).unwrap());
    limiter.acquire().await.unwrap();
    // 300 tasks, each holding a worker for 5 ms after every slot: a task waits about
    // 300 × 5 ms / 2 workers = 750 ms for its turn, longer than the Redis bound.
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for _ in 0..4 {
                    if let Err(e) = limiter.acquire().await {
                        failures.push(e.to_string());
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(task.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} of 1 200 acquires failed with Redis healthy: {:?}",
        failures.len(),
        failures.first()
    );
}

/// A frozen Redis (`SIGSTOP`: connections open, nothing answers) still fails every waiting
/// request quickly, whether the limiter had connected before or not, and a thawed one
/// serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_fails_quickly() {
    let redis = RedisServer::start();
    let connected = Arc::new(RedisRateLimiter::beams(&redis.url(), "frozen").unwrap());
    connected.acquire().await.unwrap();
    redis.pause();
    let never_connected = Arc::new(RedisRateLimiter::beams(&redis.url(), "frozen").unwrap());
    for limiter in [&connected, &never_connected] {
        let start = Instant::now();
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let limiter = Arc::clone(limiter);
                tokio::spawn(async move { limiter.acquire().await })
            })
            .collect();
        for call in calls {
            assert!(call.await.unwrap().is_err(), "a frozen Redis gave a slot");
        }
        // The bound is 500 ms; generous for a loaded machine.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "20 callers took {:?} to fail",
            start.elapsed()
        );
    }
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    for limiter in [&connected, &never_connected] {
        while let Err(e) = limiter.acquire().await {
            assert!(Instant::now() < deadline, "no slot after Redis thawed: {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
