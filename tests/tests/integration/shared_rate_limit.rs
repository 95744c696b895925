//! One publish budget for several replicas: three publish clients, each with its own
//! connection to a real `redis-server` and the same `RedisRateLimiter` key (as three
//! replicas would have), fan out 50 000 users each at once to an emulator that enforces
//! Beams' 100 requests per second. No request is refused, and no second of arrivals holds
//! more than 100.

use std::sync::Arc;

use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, FanOut, Notification, RedisRateLimiter, RetryPolicy, WebNotification, WebPayload,
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
