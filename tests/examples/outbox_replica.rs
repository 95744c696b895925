//! One replica of the outbox chaos benchmark (`bench/outbox_chaos.sh`): an outbox worker that
//! drains `REDIS_URL`'s outbox through a `BeamsClient` whose requests are paced by the
//! `RedisRateLimiter` every replica shares, until SIGTERM (graceful: it stops taking entries
//! and settles what it holds) or SIGKILL (nothing settled: another replica claims its entries
//! after the claim time).
//!
//! Every request it makes is appended to `OUTBOX_REPLICA_LOG` as one JSON line when it starts
//! and one when Beams' answer (or the error) is back, written straight to the file, so the
//! log of a killed replica shows what it had in flight.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 BEAMS_ENDPOINT=http://127.0.0.1:4100 \
//! BEAMS_INSTANCE_ID=… BEAMS_SECRET_KEY=… OUTBOX_REPLICA_LOG=replica.log \
//!     cargo run --release -p beams-tests --example outbox_replica
//! ```
//!
//! Optional: `OUTBOX_CLAIM_IDLE_SECS` (default 30), `OUTBOX_CONCURRENCY` (batches held at once,
//! default 8), `OUTBOX_RATE` (requests per second for the whole set of replicas; default
//! the budget of `RedisRateLimiter::beams`, 75 per second).

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use beams_core::Instance;
use beams_core::outbox::Outbox;
use beams_core::publish::{
    BeamsClient, Notification, PublishError, PublishResponse, Publisher, RedisRateLimiter,
    RetryPolicy,
};

type BoxError = Box<dyn Error + Send + Sync>;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Appends one JSON line per event, each with one `write` to an append-only file (no buffer
/// a SIGKILL could lose).
struct RequestLog {
    file: Mutex<File>,
}

impl RequestLog {
    fn write(&self, line: serde_json::Value) {
        let mut text = line.to_string();
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = file.write_all(text.as_bytes()) {
            eprintln!("outbox_replica: cannot write the request log: {error}");
        }
    }
}

/// The client, with every request logged before it starts and when it ends.
struct Logged {
    client: BeamsClient,
    log: RequestLog,
    next: AtomicU64,
}

/// What an answer was: Beams' status, 0 for no answer (timeout, network), -1 for a rate
/// limiter that could not be asked.
fn outcome(result: &Result<PublishResponse, PublishError>) -> (i64, String) {
    match result {
        Ok(response) => (200, response.publish_id().to_owned()),
        Err(PublishError::Limiter(_)) => (-1, String::new()),
        Err(error) => (
            error.status().map_or(0, |s| i64::from(s.as_u16())),
            String::new(),
        ),
    }
}

impl Logged {
    async fn logged(
        &self,
        targets: &[&str],
        send: impl Future<Output = Result<PublishResponse, PublishError>>,
    ) -> Result<PublishResponse, PublishError> {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        // A batch is known by its first target (the benchmark's are unique) and its size.
        let key = targets.first().copied().unwrap_or("");
        self.log.write(serde_json::json!({
            "ev": "start", "t": now_ms(), "seq": seq, "k": key, "n": targets.len(),
        }));
        let result = send.await;
        let (status, publish_id) = outcome(&result);
        self.log.write(serde_json::json!({
            "ev": "end", "t": now_ms(), "seq": seq, "k": key, "status": status, "pub": publish_id,
        }));
        result
    }
}

#[async_trait]
impl Publisher for Logged {
    async fn publish_to_interests(
        &self,
        interests: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.logged(
            interests,
            self.client.publish_to_interests(interests, notification),
        )
        .await
    }

    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.logged(users, self.client.publish_to_users(users, notification))
            .await
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), PublishError> {
        self.client.delete_user(user_id).await
    }
}

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn env_number(name: &str, default: u64) -> Result<u64, BoxError> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number").into()),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let redis_url = env("REDIS_URL")?;
    let log_path = env("OUTBOX_REPLICA_LOG")?;
    let claim_idle = env_number("OUTBOX_CLAIM_IDLE_SECS", 30)?;
    let concurrency = env_number("OUTBOX_CONCURRENCY", 8)?;
    let instance = Instance::from_env()?;
    let limiter = match std::env::var("OUTBOX_RATE") {
        Ok(rate) => RedisRateLimiter::new(
            &redis_url,
            format!("beams-rs:rate:{}", instance.id()),
            rate.parse()?,
            5,
        )?,
        Err(_) => RedisRateLimiter::beams(&redis_url, instance.id())?,
    };
    // Each attempt is sent once: the outbox decides about retries.
    let client = BeamsClient::builder(&instance)
        .retry_policy(RetryPolicy::no_retries())
        .rate_limiter(Arc::new(limiter))
        .build()?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let publisher = Arc::new(Logged {
        client,
        log: RequestLog {
            file: Mutex::new(file),
        },
        next: AtomicU64::new(0),
    });
    publisher.log.write(serde_json::json!({
        "ev": "up", "t": now_ms(), "pid": std::process::id(),
    }));
    let outbox = Outbox::builder(&redis_url)
        .claim_idle(Duration::from_secs(claim_idle))
        .build()?;
    let worker = outbox
        .worker(publisher.clone())
        .concurrency(concurrency as usize);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    worker
        .run(async move {
            term.recv().await;
        })
        .await;
    publisher
        .log
        .write(serde_json::json!({ "ev": "down", "t": now_ms() }));
    Ok(())
}
