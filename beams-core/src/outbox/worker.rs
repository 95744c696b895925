//! [`Worker`]: drains the outbox through a [`Publisher`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Failure, GROUP, Outbox, OutboxError, millis};
use crate::publish::{Notification, PublishError, PublishResponse, Publisher};
use crate::telemetry::{self, OutboxEvent};

/// Takes batches from the outbox and sends them through the publisher, on every replica,
/// until its shutdown future resolves. Made by [`Outbox::worker`].
///
/// At most [`concurrency`](Self::concurrency) batches are held at once (each one request
/// in flight, paced by the client's rate limiter), so a worker holds no more than it is
/// sending. On shutdown it takes nothing more, waits up to
/// [`drain_timeout`](Self::drain_timeout) for the requests in flight to be answered and
/// recorded, hands back at once what is still unsettled (any worker takes it next), leaves
/// the consumer group and returns.
///
/// Redis errors never stop a worker: it logs them (at warn, without the URL) and tries
/// again with a growing pause (at most 5 s).
///
/// ```no_run
/// # use std::sync::Arc;
/// # use beams_core::{Instance, outbox::Outbox, publish::BeamsClient};
/// # async fn run(outbox: Outbox, client: Arc<BeamsClient>) {
/// let worker = outbox.worker(client).concurrency(16);
/// // Drains until SIGTERM (ctrl-c here), then settles what is in flight and returns.
/// worker.run(async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # }
/// ```
#[must_use]
pub struct Worker {
    outbox: Outbox,
    publisher: Arc<dyn Publisher>,
    consumer: String,
    concurrency: usize,
    drain_timeout: Duration,
    poll_interval: Duration,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("consumer", &self.consumer)
            .field("concurrency", &self.concurrency)
            .field("drain_timeout", &self.drain_timeout)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// One batch taken from the stream.
struct Entry {
    stream_id: String,
    job: String,
    batch: String,
    kind: String,
    notification: String,
    targets: String,
    attempts: u32,
}

/// What one attempt comes to.
enum Settlement {
    Published(String),
    Retry { error: String, delay: Duration },
    Dead(String),
}

impl Worker {
    pub(super) fn new(outbox: Outbox, publisher: Arc<dyn Publisher>) -> Self {
        Self {
            outbox,
            publisher,
            consumer: format!(
                "{}-{}-{:08x}",
                hostname(),
                std::process::id(),
                fastrand::u32(..)
            ),
            concurrency: 8,
            drain_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_millis(100),
        }
    }

    /// Batches sent at once by this worker (default 8; 0 counts as 1). The client's rate
    /// limiter still paces every request.
    pub fn concurrency(mut self, batches: usize) -> Self {
        self.concurrency = batches.max(1);
        self
    }

    /// How long shutdown waits for the requests in flight (default 15 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How often an idle worker looks for work (default 100 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// This worker's name in the consumer group (default: host, process id and a random
    /// part, unique per worker).
    pub fn consumer_name(mut self, name: impl Into<String>) -> Self {
        self.consumer = name.into();
        self
    }

    /// The name this worker reads under.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Drains the outbox until `shutdown` resolves, then settles what it holds (within the
    /// drain timeout), hands back to the group what it could not settle, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let this = Arc::new(self);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut group_ready = false;
        let mut failures: u32 = 0;
        let mut cursor = "0-0".to_owned();
        let mut next_maintenance = Instant::now();
        let mut next_reap = Instant::now();
        tracing::info!(target: "beams::outbox", consumer = %this.consumer, "outbox worker started");
        loop {
            // Shutdown is looked at between steps only: a step already sent to Redis (a take
            // that may hand this worker entries) runs to its end, bounded by the Redis timeout.
            if poll_once(&mut shutdown).await {
                break;
            }
            while tasks.try_join_next().is_some() {}
            if Instant::now() >= next_maintenance {
                next_maintenance = Instant::now() + Duration::from_secs(1);
                this.maintain(&mut next_reap).await;
            }
            let step = async {
                if !group_ready {
                    this.outbox.ensure_group().await?;
                    group_ready = true;
                }
                let room = this.concurrency.saturating_sub(tasks.len());
                if room == 0 {
                    return Ok::<_, OutboxError>((0, 0));
                }
                let entries = this.take(room, &mut cursor).await?;
                let took = entries.len();
                for entry in entries {
                    tasks.spawn(Arc::clone(&this).process(entry));
                }
                Ok((room, took))
            };
            let pause = match step.await {
                Ok((room, took)) => {
                    failures = 0;
                    if room > 0 && took == room {
                        // More may be waiting.
                        continue;
                    }
                    this.poll_interval
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    if error.to_string().contains("NOGROUP") {
                        // The stream was deleted (or Redis lost it): make it again.
                        group_ready = false;
                    }
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(target: "beams::outbox", consumer = %this.consumer, failures, %error, "outbox worker cannot reach Redis; retrying");
                    }
                    Duration::from_millis(100u64 << failures.min(6)).min(Duration::from_secs(5))
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        let holding = tasks.len();
        tracing::info!(target: "beams::outbox", consumer = %this.consumer, holding, "outbox worker stopping");
        let drained = tokio::time::timeout(this.drain_timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        match this.leave().await {
            Ok(0) => {}
            Ok(handed_back) => {
                tracing::warn!(target: "beams::outbox", consumer = %this.consumer, handed_back,
                    "outbox worker stopped with requests in flight; handed back to the group");
            }
            Err(error) => {
                tracing::warn!(target: "beams::outbox", consumer = %this.consumer, %error,
                    "outbox worker could not leave the group; its entries are taken over after claim_idle");
            }
        }
    }

    /// Once a second: due batches into the stream and the gauges; once a minute: forget
    /// consumers that hold nothing and have been idle for an hour (stopped workers). An error
    /// here is logged and does not stop the draining.
    async fn maintain(&self, next_reap: &mut Instant) {
        match self.outbox.promote(1000).await {
            Ok((pending, dead)) => telemetry::outbox_sizes(pending, dead),
            Err(error) => {
                tracing::debug!(target: "beams::outbox", %error, "moving due outbox batches failed");
            }
        }
        if Instant::now() >= *next_reap {
            *next_reap = Instant::now() + Duration::from_secs(60);
            let inner = &self.outbox.inner;
            let idle = (inner.settings.claim_idle * 10).max(Duration::from_secs(3600));
            let mut invocation = inner.scripts.reap.prepare_invoke();
            invocation
                .key(&inner.keys.stream)
                .arg(GROUP)
                .arg(millis(idle));
            if let Err(error) = self.outbox.run::<u64>(&invocation).await {
                tracing::debug!(target: "beams::outbox", %error, "removing idle outbox consumers failed");
            }
        }
    }

    /// Hands back what this worker still holds and leaves the group; how many it handed back.
    async fn leave(&self) -> Result<u64, OutboxError> {
        let inner = &self.outbox.inner;
        let mut invocation = inner.scripts.leave.prepare_invoke();
        invocation
            .key(&inner.keys.stream)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(&inner.keys.job_prefix);
        self.outbox.run(&invocation).await
    }

    /// Takes up to `count` batches: abandoned ones first (from `cursor`, which it moves on),
    /// then new ones.
    async fn take(&self, count: usize, cursor: &mut String) -> Result<Vec<Entry>, OutboxError> {
        let inner = &self.outbox.inner;
        let mut invocation = inner.scripts.take.prepare_invoke();
        invocation
            .key(&inner.keys.stream)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(count)
            .arg(millis(inner.settings.claim_idle))
            .arg(&inner.keys.job_prefix)
            .arg(&*cursor);
        let flat: Vec<String> = self.outbox.run(&invocation).await?;
        let (Some(next), Some(lost)) = (flat.first(), flat.get(1)) else {
            return Err(OutboxError::Unexpected("take".to_owned()));
        };
        next.clone_into(cursor);
        if lost != "0" {
            tracing::warn!(target: "beams::outbox", lost = %lost,
                "outbox entries whose publish is gone from Redis were dropped (evicted or deleted: the outbox's Redis needs maxmemory-policy noeviction)");
        }
        Ok(flat[2..]
            .chunks_exact(7)
            .map(|f| Entry {
                stream_id: f[0].clone(),
                job: f[1].clone(),
                batch: f[2].clone(),
                kind: f[3].clone(),
                notification: f[4].clone(),
                targets: f[5].clone(),
                attempts: f[6].parse().unwrap_or(0),
            })
            .collect())
    }

    /// Sends one batch, keeping it claimed meanwhile, and settles the outcome.
    async fn process(self: Arc<Self>, entry: Entry) {
        let send = self.send(&entry);
        let mut send = std::pin::pin!(send);
        let refresh = (self.outbox.inner.settings.claim_idle / 3).max(Duration::from_millis(50));
        let result = loop {
            tokio::select! {
                result = &mut send => break result,
                () = tokio::time::sleep(refresh) => {
                    // A failed refresh is not fatal: the settle below still counts.
                    let _ = self.touch(&entry).await;
                }
            }
        };
        let settlement = classify(result, entry.attempts);
        self.settle(&entry, settlement).await;
    }

    /// The request itself, or a stored entry that cannot be read (dead at once).
    async fn send(&self, entry: &Entry) -> Result<PublishResponse, PublishError> {
        let notification = serde_json::from_str(&entry.notification)
            .ok()
            .and_then(Notification::from_stored);
        let targets: Option<Vec<String>> = serde_json::from_str(&entry.targets).ok();
        let (Some(notification), Some(targets)) = (notification, targets) else {
            return Err(PublishError::Validation(
                crate::publish::ValidationError::NoPlatform,
            ));
        };
        let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
        if entry.kind == "interests" {
            self.publisher
                .publish_to_interests(&refs, &notification)
                .await
        } else {
            self.publisher.publish_to_users(&refs, &notification).await
        }
    }

    async fn touch(&self, entry: &Entry) -> Result<(), OutboxError> {
        let inner = &self.outbox.inner;
        let mut invocation = inner.scripts.touch.prepare_invoke();
        invocation
            .key(&inner.keys.stream)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(&entry.stream_id);
        self.outbox.run::<u8>(&invocation).await.map(drop)
    }

    /// Records the outcome, trying again while Redis is away.
    async fn settle(&self, entry: &Entry, settlement: Settlement) {
        let inner = &self.outbox.inner;
        let settings = inner.settings;
        let (mode, value, delay) = match &settlement {
            Settlement::Published(id) => ("p", id.as_str(), Duration::ZERO),
            Settlement::Retry { error, delay } => ("r", error.as_str(), *delay),
            Settlement::Dead(error) => ("d", error.as_str(), Duration::ZERO),
        };
        let member = format!("{}:{}", entry.job, entry.batch);
        let mut invocation = inner.scripts.settle.prepare_invoke();
        invocation
            .key(inner.keys.job(&entry.job))
            .key(&inner.keys.stream)
            .key(&inner.keys.delayed)
            .key(&inner.keys.dead)
            .arg(&entry.stream_id)
            .arg(GROUP)
            .arg(&entry.batch)
            .arg(mode)
            .arg(value)
            .arg(millis(delay))
            .arg(millis(settings.max_age))
            .arg(millis(settings.retention))
            .arg(millis(settings.dead_retention))
            .arg(&member);
        // Until the outcome is recorded the batch would be sent again by whoever claims it:
        // keep trying (and keep the entry fresh) for as long as this worker runs. A late
        // record is safe: it applies only while the entry is still the batch's.
        let mut pause = Duration::from_millis(100);
        let mut failures = 0u32;
        let answer = loop {
            match self.outbox.run::<String>(&invocation).await {
                Ok(answer) => break answer,
                Err(error) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(target: "beams::outbox", publish = %entry.job, batch = %entry.batch, failures, %error,
                            "could not record an outbox attempt; retrying");
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                    let _ = self.touch(entry).await;
                }
            }
        };
        match answer.as_str() {
            "published" => telemetry::outbox_event(OutboxEvent::Published),
            "retry" => {
                tracing::debug!(target: "beams::outbox", publish = %entry.job, batch = %entry.batch,
                    delay_ms = millis(delay), "outbox batch failed; trying again later");
                telemetry::outbox_event(OutboxEvent::Retried);
            }
            "dead" => {
                tracing::warn!(target: "beams::outbox", publish = %entry.job, batch = %entry.batch,
                    "outbox batch given up (dead letter)");
                telemetry::outbox_event(OutboxEvent::DeadLettered);
            }
            _ => {}
        }
    }
}

/// Whether `future` is ready now (polled once, never waited for).
async fn poll_once(future: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
    std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx).is_ready())).await
}

/// The outcome of one attempt, with its attempt number (`attempts` before it).
fn classify(result: Result<PublishResponse, PublishError>, attempts: u32) -> Settlement {
    let error = match result {
        Ok(published) => return Settlement::Published(published.publish_id().to_owned()),
        Err(PublishError::Decode { status, .. }) if status.is_success() => {
            // Accepted, but the id could not be read: sending again would duplicate it.
            return Settlement::Published(String::new());
        }
        Err(error) => error,
    };
    let retryable = matches!(
        error,
        PublishError::RateLimited { .. }
            | PublishError::Server(_)
            | PublishError::Timeout { .. }
            | PublishError::Network { .. }
            | PublishError::Limiter(_)
    ) || error.status().is_some_and(|s| s.is_server_error());
    let described = describe(&error);
    if retryable {
        let delay = error
            .retry_after()
            .unwrap_or_else(|| backoff(attempts.saturating_add(1)));
        Settlement::Retry {
            error: described,
            delay,
        }
    } else {
        Settlement::Dead(described)
    }
}

/// Exponential backoff with jitter: 1 s doubling per attempt, at most 5 min, each wait
/// drawn between half and all of that.
pub(super) fn backoff(attempt: u32) -> Duration {
    let cap =
        Duration::from_secs(1 << attempt.saturating_sub(1).min(9)).min(Duration::from_secs(300));
    cap.mul_f64(0.5 + fastrand::f64() / 2.0)
}

/// The error as kept in Redis: Beams' status, error and description, or what happened.
fn describe(error: &PublishError) -> String {
    let failure = match error.api_error() {
        Some(api) => Failure::new(Some(api.status().as_u16()), api.error(), api.description()),
        None => {
            let what = match error {
                PublishError::Validation(_) => "invalid",
                PublishError::Timeout { .. } => "timeout",
                PublishError::Network { .. } => "network",
                PublishError::Limiter(_) => "rate_limiter",
                _ => "other",
            };
            let status = error.status().map(|s| s.as_u16());
            Failure::new(status, Some(what), Some(&error.to_string()))
        }
    };
    failure.to_json().to_string()
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty() && h.len() <= 64)
        .unwrap_or_else(|| "worker".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=20 {
            let cap = Duration::from_secs(1 << (attempt - 1).min(9)).min(Duration::from_secs(300));
            for _ in 0..50 {
                let wait = backoff(attempt);
                assert!(wait >= cap / 2 && wait <= cap, "{attempt}: {wait:?}");
            }
        }
        assert!(backoff(30) <= Duration::from_secs(300));
    }

    #[test]
    fn outcomes() {
        let api = |code: u16| {
            PublishError::from_status(
                http::StatusCode::from_u16(code).unwrap(),
                None,
                br#"{"error":"e","description":"d"}"#,
            )
        };
        assert!(
            matches!(classify(Ok(PublishResponse::new("pub-1")), 0), Settlement::Published(id) if id == "pub-1")
        );
        for code in [400, 401, 402, 403, 404, 413, 422] {
            let Settlement::Dead(error) = classify(Err(api(code)), 0) else {
                panic!("{code} should be dead at once");
            };
            let error: serde_json::Value = serde_json::from_str(&error).unwrap();
            assert_eq!(error["status"], code);
            assert_eq!(error["description"], "d");
        }
        for code in [500, 502, 503, 504] {
            assert!(
                matches!(classify(Err(api(code)), 3), Settlement::Retry { delay, .. } if delay >= Duration::from_secs(4) && delay <= Duration::from_secs(8))
            );
        }
        let limited = PublishError::from_status(
            http::StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(42)),
            b"",
        );
        assert!(
            matches!(classify(Err(limited), 0), Settlement::Retry { delay, .. } if delay == Duration::from_secs(42))
        );
        let timeout = PublishError::Timeout {
            timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            classify(Err(timeout), 0),
            Settlement::Retry { .. }
        ));
    }
}
