//! One replica of the several-replicas benchmark (`bench/replicas.sh`): fans one notification
//! out to `--users` users through `BeamsClient` against a Beams endpoint (an emulator), its
//! requests paced by a `RedisRateLimiter` shared with the other replicas (`--redis URL`) or by
//! its own in-process limiter (no `--redis`). Prints one JSON line: batches ok and failed,
//! how many were refused with 429, and the wall time.
//!
//! ```text
//! cargo run --release -p beams-tests --example replica_fanout -- --endpoint URL \
//!     --instance-id ID --secret-key KEY [--users 50000] [--offset 0] [--redis URL]
//! ```

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, FanOut, Notification, PublishError, RedisRateLimiter, RetryPolicy,
    WebNotification, WebPayload,
};

const USAGE: &str = "usage: replica_fanout --endpoint URL --instance-id ID --secret-key KEY \
                     [--users N] [--offset N] [--redis URL]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut endpoint = None;
    let mut instance_id = None;
    let mut secret_key = None;
    let mut users = 50_000usize;
    let mut offset = 0usize;
    let mut redis = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--endpoint" => endpoint = Some(value),
            "--instance-id" => instance_id = Some(value),
            "--secret-key" => secret_key = Some(value),
            "--users" => users = value.parse()?,
            "--offset" => offset = value.parse()?,
            "--redis" => redis = Some(value),
            _ => return Err(USAGE.into()),
        }
    }
    let instance = Instance::builder(instance_id.ok_or(USAGE)?, secret_key.ok_or(USAGE)?)
        .endpoint(endpoint.ok_or(USAGE)?)
        .build()?;
    // A 429 must show as a failed batch, not be retried away.
    let mut client = BeamsClient::builder(&instance).retry_policy(RetryPolicy::no_retries());
    if let Some(url) = &redis {
        client = client.rate_limiter(Arc::new(RedisRateLimiter::beams(url, instance.id())?));
    }
    let client = client.build()?;
    let users: Vec<String> = (offset..offset + users)
        .map(|i| format!("user-{i}"))
        .collect();
    let notification = Notification::new()
        .web(WebPayload::new().notification(WebNotification::new("Sale", "50% off today")));
    let started = Instant::now();
    let report = FanOut::new()
        .publish_to_users(&client, &users, &notification)
        .await?;
    let elapsed = started.elapsed();
    let rate_limited = report
        .failed_batches()
        .filter(|b| matches!(b.result, Err(PublishError::RateLimited { .. })))
        .count();
    println!(
        "{}",
        serde_json::json!({
            "limiter": if redis.is_some() { "redis" } else { "local" },
            "batches": report.batches.len(),
            "ok": report.batches.iter().filter(|b| b.result.is_ok()).count(),
            "failed": report.failed_batches().count(),
            "rateLimited": rate_limited,
            "elapsedMs": elapsed.as_millis() as u64,
        })
    );
    Ok(())
}
