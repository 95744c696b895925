//! Durable publishing: an outbox on Redis Streams that keeps every publish until Beams has
//! accepted it, across Beams outages, deploys and crashes (feature `outbox`).
//!
//! [`Outbox::enqueue`] stores a [`Publish`] in Redis **before** it answers an id; a
//! [`Worker`] on every replica drains the outbox through your
//! [`BeamsClient`](crate::publish::BeamsClient) (and its shared rate limiter). A publish to
//! more than 1000 users is stored as batches of 1000, so a crash resumes at the batch.
//!
//! | Beams answers | the batch |
//! |---|---|
//! | 2xx | `published`; Beams' publish id kept |
//! | 429 | tried again after `Retry-After` |
//! | 5xx, timeout, no answer | tried again with exponential backoff and jitter (1 s doubling, at most 5 min) until `max_age`, then `dead` |
//! | any other 4xx, or a request the client refuses | `dead` at once: retrying cannot help |
//!
//! Delivery is **at least once**. A batch is sent twice only when the outcome of a request
//! is lost: a worker dies (or cannot reach Redis for `claim_idle`) after Beams accepted it
//! and before it recorded that, or Beams' answer is lost or a 5xx for a request it had in
//! fact accepted (Beams takes no idempotency key). Batches are not sent in order.
//!
//! All keys live under one prefix whose hash tag (default `{beams-outbox}`) puts them in
//! one slot, so several apps can share a Redis (give each its own prefix) and every script
//! runs on the one node that owns the slot: with the feature `outbox-cluster`,
//! [`Outbox::cluster_builder`] runs the outbox on a Redis Cluster.
//! Published jobs are deleted after `retention`, dead ones (and their dead letters) after
//! `dead_retention`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use beams_core::Instance;
//! use beams_core::outbox::{Outbox, Publish, State};
//! use beams_core::publish::{BeamsClient, Notification, WebNotification, WebPayload};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let redis_url = std::env::var("REDIS_URL")?;
//! let outbox = Outbox::builder(&redis_url)
//!     .claim_idle(Duration::from_secs(30))
//!     .build()?;
//!
//! // On every replica: drain until SIGTERM, then finish what is in flight.
//! let client = Arc::new(BeamsClient::new(&Instance::from_env()?)?);
//! let worker = outbox.worker(client);
//! tokio::spawn(worker.run(async { tokio::signal::ctrl_c().await.ok(); }));
//!
//! // In a handler: stored before it answers.
//! let notification = Notification::new()
//!     .web(WebPayload::new().notification(WebNotification::new("Hi", "Hello")));
//! let enqueued = outbox
//!     .enqueue(Publish::to_users(["alice"], &notification)?.idempotency_key("greeting-alice"))
//!     .await?;
//! let status = outbox.status(enqueued.id()).await?.expect("just stored");
//! assert!(matches!(status.state(), State::Queued | State::Published));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::publish::Publisher;
use crate::telemetry::{self, OutboxEvent};

mod connection;
mod error;
mod job;
mod scripts;
mod worker;

pub use error::{BuildError, OutboxError};
pub use job::{
    DeadLetter, Enqueued, Failure, MAX_IDEMPOTENCY_KEY_LEN, MAX_TAG_LEN, Publish, State, Status,
};
pub use worker::Worker;

use job::from_millis;

/// The consumer group every worker reads through.
const GROUP: &str = "beams-outbox";

/// A durable queue of publishes in Redis: enqueue, inspect, manage dead letters, and start
/// [`Worker`]s. Cheap to clone (one shared connection).
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    target: connection::Target,
    connection: tokio::sync::Mutex<Option<connection::Connection>>,
    keys: Keys,
    settings: Settings,
    scripts: Scripts,
}

/// The outbox's key names.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    stream: String,
    delayed: String,
    dead: String,
    job_prefix: String,
    idem_prefix: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            stream: format!("{prefix}:stream"),
            delayed: format!("{prefix}:delayed"),
            dead: format!("{prefix}:dead"),
            job_prefix: format!("{prefix}:job:"),
            idem_prefix: format!("{prefix}:idem:"),
        }
    }

    fn job(&self, id: &str) -> String {
        format!("{}{id}", self.job_prefix)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    claim_idle: Duration,
    max_age: Duration,
    retention: Duration,
    dead_retention: Duration,
    idempotency_window: Duration,
    redis_timeout: Duration,
}

struct Scripts {
    enqueue: redis::Script,
    take: redis::Script,
    settle: redis::Script,
    touch: redis::Script,
    promote: redis::Script,
    status: redis::Script,
    replay: redis::Script,
    delete_dead: redis::Script,
    dead_letters: redis::Script,
    sizes: redis::Script,
    reap: redis::Script,
    leave: redis::Script,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("Outbox")
            .field("stream", &self.inner.keys.stream)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// What [`Outbox::sizes`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sizes {
    /// Batches waiting, scheduled (`send_at`, retries) or in flight.
    pub pending: u64,
    /// Dead letters kept.
    pub dead_letters: u64,
}

/// Configures an [`Outbox`]; [`build`](Self::build) checks the settings.
#[derive(Debug, Clone)]
#[must_use]
pub struct OutboxBuilder {
    urls: Vec<String>,
    cluster: bool,
    prefix: String,
    settings: Settings,
}

impl OutboxBuilder {
    /// The key prefix (default `{beams-outbox}`). Without a `{hash tag}` (a non-empty text
    /// between the first `{` and the next `}`) it is wrapped in one (`app` → `{app}`), so
    /// that every key of the outbox hashes to one slot. Apps sharing a Redis each need their
    /// own.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long an entry taken by a worker may go without news before another worker
    /// claims it (default 30 s, at least 500 ms): a dead replica's work resumes after this.
    /// Workers keep the entries they are sending fresh, so a slow request is not taken over.
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.settings.claim_idle = idle;
        self
    }

    /// How long a batch may keep failing with 5xx, timeouts, lost connections or 429s before
    /// it is given up (default 24 h, from its first due time, or from a replay).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.settings.max_age = age;
        self
    }

    /// How long a published job stays readable by [`Outbox::status`] (default 24 h).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.settings.retention = retention;
        self
    }

    /// How long dead letters (and their jobs) are kept for inspection and replay (default
    /// 7 days).
    pub fn dead_retention(mut self, retention: Duration) -> Self {
        self.settings.dead_retention = retention;
        self
    }

    /// How long an idempotency key is remembered (default 24 h).
    pub fn idempotency_window(mut self, window: Duration) -> Self {
        self.settings.idempotency_window = window;
        self
    }

    /// The bound on each Redis command (default 2 s; twice that for connecting, and for a
    /// script Redis must load again): with Redis down or frozen, calls fail within it
    /// instead of hanging.
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.settings.redis_timeout = timeout;
        self
    }

    /// Checks the settings and parses the URL; nothing is connected yet. Every duration is
    /// at most ten years; `claim_idle` at least 500 ms, the others more than zero.
    pub fn build(self) -> Result<Outbox, BuildError> {
        let s = &self.settings;
        let decade = Duration::from_secs(10 * 365 * 24 * 3600);
        let milli = Duration::from_millis(1);
        for (value, setting, min) in [
            (s.claim_idle, "claim_idle", Duration::from_millis(500)),
            (s.max_age, "max_age", milli),
            (s.retention, "retention", milli),
            (s.dead_retention, "dead_retention", milli),
            (s.idempotency_window, "idempotency_window", milli),
            (s.redis_timeout, "redis_timeout", milli),
        ] {
            if value < min || value > decade {
                return Err(BuildError::OutOfRange {
                    setting,
                    min,
                    max: decade,
                });
            }
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || "-_.:{}".contains(c);
        if self.prefix.is_empty() || self.prefix.len() > 100 || !self.prefix.chars().all(valid) {
            return Err(BuildError::InvalidPrefix);
        }
        let prefix = if has_hash_tag(&self.prefix) {
            self.prefix
        } else {
            format!("{{{}}}", self.prefix)
        };
        let target = connection::Target::new(&self.urls, self.cluster, s.redis_timeout)
            .map_err(|source| BuildError::InvalidRedisUrl { source })?;
        Ok(Outbox {
            inner: Arc::new(Inner {
                target,
                connection: tokio::sync::Mutex::new(None),
                keys: Keys::new(&prefix),
                settings: self.settings,
                scripts: Scripts {
                    enqueue: scripts::enqueue(),
                    take: scripts::take(),
                    settle: scripts::settle(),
                    touch: scripts::touch(),
                    promote: scripts::promote(),
                    status: scripts::status(),
                    replay: scripts::replay(),
                    delete_dead: scripts::delete_dead(),
                    dead_letters: scripts::dead_letters(),
                    sizes: scripts::sizes(),
                    reap: scripts::reap(),
                    leave: scripts::leave(),
                },
            }),
        })
    }
}

/// Whether Redis would hash `key` by a tag: a non-empty text between its first `{` and the
/// next `}`.
fn has_hash_tag(key: &str) -> bool {
    key.split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .is_some_and(|(tag, _)| !tag.is_empty())
}

/// Ids the outbox makes are 32 hex digits; anything else is not one of them.
fn is_job_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `<job>:<batch>` split, if it is one.
fn dead_letter_parts(id: &str) -> Option<(&str, u32)> {
    let (job, batch) = id.split_once(':')?;
    Some((job, batch.parse().ok()?)).filter(|(job, _)| is_job_id(job))
}

impl Outbox {
    /// Starts a builder for the Redis at `url` (`redis://…`; every replica uses the same).
    pub fn builder(url: &str) -> OutboxBuilder {
        OutboxBuilder {
            urls: vec![url.to_owned()],
            cluster: false,
            prefix: "{beams-outbox}".to_owned(),
            settings: Settings {
                claim_idle: Duration::from_secs(30),
                max_age: Duration::from_secs(24 * 3600),
                retention: Duration::from_secs(24 * 3600),
                dead_retention: Duration::from_secs(7 * 24 * 3600),
                idempotency_window: Duration::from_secs(24 * 3600),
                redis_timeout: Duration::from_secs(2),
            },
        }
    }

    /// A builder for a Redis Cluster reached through `nodes` (some of its nodes' URLs;
    /// feature `outbox-cluster`). Every key of the outbox is in one slot, so every script
    /// runs on the node that owns it; the client follows the cluster when slots move.
    ///
    /// ```no_run
    /// use beams_core::outbox::Outbox;
    ///
    /// let outbox = Outbox::cluster_builder(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
    ///     .prefix("{shop-outbox}")
    ///     .build()?;
    /// # let _ = outbox;
    /// # Ok::<(), beams_core::outbox::BuildError>(())
    /// ```
    #[cfg(feature = "outbox-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "outbox-cluster")))]
    pub fn cluster_builder<I>(nodes: I) -> OutboxBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut builder = Self::builder("");
        builder.urls = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        builder.cluster = true;
        builder
    }

    /// The shared connection, made on first use (and remade by the client after a failure).
    async fn connection(&self) -> Result<connection::Connection, OutboxError> {
        let timeout = self.inner.settings.redis_timeout;
        let connect = async {
            let mut slot = self.inner.connection.lock().await;
            if let Some(connection) = &*slot {
                return Ok(connection.clone());
            }
            let connection = self.inner.target.connect(timeout).await?;
            *slot = Some(connection.clone());
            Ok(connection)
        };
        // Connecting is a connection and a first exchange (for a cluster, reading its slots).
        tokio::time::timeout(timeout * 2, connect)
            .await
            .map_err(|_| timed_out())?
    }

    /// Runs a script under the outbox's timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, OutboxError> {
        let mut connection = self.connection().await?;
        // Loading a script after a Redis restart is a second round trip: bound both.
        let result = tokio::time::timeout(
            self.inner.settings.redis_timeout * 2,
            invocation.invoke_async(&mut connection),
        )
        .await
        .map_err(|_| timed_out())?;
        if let Err(error) = &result
            && error.kind() == redis::ErrorKind::ReadOnly
        {
            // Still attached to a server that is no longer the primary (a failover that kept
            // the connection open): connect afresh next time.
            *self.inner.connection.lock().await = None;
        }
        result.map_err(OutboxError::from)
    }

    /// Stores the publish, then answers its id: once this returns `Ok`, the publish is in
    /// Redis (and survives a Redis restart as far as Redis' own persistence goes). A repeated
    /// idempotency key stores nothing and answers the first id.
    pub async fn enqueue(&self, publish: Publish) -> Result<Enqueued, OutboxError> {
        let key = match &publish.idempotency_key {
            Some(key) if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN => {
                return Err(OutboxError::InvalidIdempotencyKey);
            }
            Some(key) if !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => {
                return Err(OutboxError::InvalidIdempotencyKey);
            }
            Some(key) => Some(format!("{}{key}", self.inner.keys.idem_prefix)),
            None => None,
        };
        if publish.tag.as_ref().is_some_and(|t| t.len() > MAX_TAG_LEN) {
            return Err(OutboxError::TagTooLong);
        }
        let wait = publish.wait();
        if wait > self.inner.settings.max_age {
            return Err(OutboxError::DelayTooLong {
                delay: wait,
                max_age: self.inner.settings.max_age,
            });
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let keys = &self.inner.keys;
        let job = keys.job(&id);
        let mut invocation = self.inner.scripts.enqueue.prepare_invoke();
        invocation
            .key(&job)
            .key(&keys.stream)
            .key(&keys.delayed)
            .key(key.as_deref().unwrap_or(&job))
            .arg(&id)
            .arg(publish.kind.as_str())
            .arg(&publish.notification)
            .arg(publish.tag.as_deref().unwrap_or(""))
            .arg(millis(wait))
            .arg(if key.is_some() {
                millis(self.inner.settings.idempotency_window).max(1)
            } else {
                0
            });
        for batch in &publish.batches {
            invocation.arg(batch);
        }
        let (stored, id): (u8, String) = self.run(&invocation).await?;
        let duplicate = stored == 0;
        if !duplicate {
            telemetry::outbox_event(OutboxEvent::Enqueued);
        }
        Ok(Enqueued { id, duplicate })
    }

    /// What became of a publish: `None` for an id the outbox does not know (never stored,
    /// or deleted after its retention).
    pub async fn status(&self, id: &str) -> Result<Option<Status>, OutboxError> {
        if !is_job_id(id) {
            return Ok(None);
        }
        let mut invocation = self.inner.scripts.status.prepare_invoke();
        invocation.key(self.inner.keys.job(id));
        let reply: Option<Vec<String>> = self.run(&invocation).await?;
        let Some(reply) = reply else {
            return Ok(None);
        };
        let number = |i: usize| -> Result<u64, OutboxError> {
            reply
                .get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| OutboxError::Unexpected(format!("status field {i}")))
        };
        let text = |i: usize| reply.get(i).filter(|v| !v.is_empty()).cloned();
        let (batches, left, dead) = (number(0)?, number(1)?, number(2)?);
        let state = if left > 0 {
            job::State::Queued
        } else if dead > 0 {
            job::State::Dead
        } else {
            job::State::Published
        };
        Ok(Some(Status {
            state,
            batches: batches as usize,
            dead_batches: dead as usize,
            attempts: number(5)? as u32,
            next_attempt: text(6).and_then(|v| v.parse().ok()).map(from_millis),
            created: from_millis(number(4)?),
            error: text(7).map(|e| job::Failure::parse(&e)),
            publish_ids: reply.get(8..).unwrap_or_default().to_vec(),
            tag: text(3),
        }))
    }

    /// Dead letters, oldest first: `limit` of them (at most 10 000) from position `start`.
    /// Replays and new deaths move the positions: to act on every dead letter, list them all
    /// first.
    pub async fn dead_letters(
        &self,
        start: usize,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, OutboxError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut invocation = self.inner.scripts.dead_letters.prepare_invoke();
        invocation
            .key(&self.inner.keys.dead)
            .arg(start)
            .arg(limit.min(10_000))
            .arg(&self.inner.keys.job_prefix);
        let reply: Vec<String> = self.run(&invocation).await?;
        Ok(reply
            .chunks_exact(5)
            .map(|f| DeadLetter {
                id: f[0].clone(),
                died: from_millis(f[1].parse::<f64>().unwrap_or(0.0) as u64),
                attempts: f[2].parse().unwrap_or(0),
                error: job::Failure::parse(&f[3]),
                tag: Some(f[4].clone()).filter(|t| !t.is_empty()),
            })
            .collect())
    }

    /// Sends a dead letter again, now (its `max_age` restarts). `false` when `id` is not a
    /// dead letter (replayed already, deleted, or expired).
    pub async fn replay(&self, id: &str) -> Result<bool, OutboxError> {
        let Some((job, batch)) = dead_letter_parts(id) else {
            return Ok(false);
        };
        let keys = &self.inner.keys;
        let mut invocation = self.inner.scripts.replay.prepare_invoke();
        invocation
            .key(keys.job(job))
            .key(&keys.stream)
            .key(&keys.dead)
            .arg(id)
            .arg(batch)
            .arg(job);
        Ok(self.run::<u8>(&invocation).await? == 1)
    }

    /// Forgets a dead letter (its publish's status stays `dead`). `false` when `id` is not
    /// a dead letter.
    pub async fn delete_dead_letter(&self, id: &str) -> Result<bool, OutboxError> {
        let Some((job, batch)) = dead_letter_parts(id) else {
            return Ok(false);
        };
        let mut invocation = self.inner.scripts.delete_dead.prepare_invoke();
        invocation
            .key(self.inner.keys.job(job))
            .key(&self.inner.keys.dead)
            .arg(id)
            .arg(batch);
        Ok(self.run::<u8>(&invocation).await? == 1)
    }

    /// Moves due batches into the stream (at most `limit`) and answers `(pending, dead
    /// letters)`: batches waiting, scheduled or in flight, and dead letters kept.
    pub(crate) async fn promote(&self, limit: usize) -> Result<(u64, u64), OutboxError> {
        let keys = &self.inner.keys;
        let mut invocation = self.inner.scripts.promote.prepare_invoke();
        invocation
            .key(&keys.delayed)
            .key(&keys.stream)
            .key(&keys.dead)
            .arg(limit)
            .arg(millis(self.inner.settings.dead_retention))
            .arg(&keys.job_prefix);
        let (_moved, pending, dead): (u64, u64, u64) = self.run(&invocation).await?;
        Ok((pending, dead))
    }

    /// How many batches are waiting, scheduled or in flight, and how many dead letters are
    /// kept.
    pub async fn sizes(&self) -> Result<Sizes, OutboxError> {
        let keys = &self.inner.keys;
        let mut invocation = self.inner.scripts.sizes.prepare_invoke();
        invocation
            .key(&keys.stream)
            .key(&keys.delayed)
            .key(&keys.dead);
        let (pending, dead_letters): (u64, u64) = self.run(&invocation).await?;
        Ok(Sizes {
            pending,
            dead_letters,
        })
    }

    /// A worker that drains this outbox through `publisher` (a
    /// [`BeamsClient`](crate::publish::BeamsClient), whose rate limiter paces it). Run one
    /// on every replica.
    pub fn worker(&self, publisher: Arc<dyn Publisher>) -> Worker {
        Worker::new(self.clone(), publisher)
    }

    /// Creates the consumer group (and the stream) if they do not exist.
    pub(crate) async fn ensure_group(&self) -> Result<(), OutboxError> {
        let mut connection = self.connection().await?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.inner.keys.stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other.map_err(OutboxError::from),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn timed_out() -> OutboxError {
    OutboxError::Unavailable {
        source: redis::RedisError::from((redis::ErrorKind::IoError, "timed out")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags_as_redis_reads_them() {
        for tagged in ["{app}", "{beams-outbox}", "x{a}", "{a}b{c}"] {
            assert!(has_hash_tag(tagged), "{tagged}");
        }
        for untagged in ["app", "{}app", "app{", "}a{", "a}b"] {
            assert!(!has_hash_tag(untagged), "{untagged}");
        }
        let outbox = Outbox::builder("redis://127.0.0.1:1")
            .prefix("{}app")
            .build()
            .unwrap();
        assert_eq!(outbox.inner.keys.stream, "{{}app}:stream");
        let outbox = Outbox::builder("redis://127.0.0.1:1")
            .prefix("app")
            .build()
            .unwrap();
        assert_eq!(outbox.inner.keys.stream, "{app}:stream");
    }

    #[test]
    fn dead_letter_ids() {
        let job = "0123456789abcdef0123456789abcdef";
        assert_eq!(dead_letter_parts(&format!("{job}:7")), Some((job, 7)));
        assert_eq!(dead_letter_parts(&format!("{job}:x")), None);
        assert_eq!(dead_letter_parts("short:1"), None);
        assert_eq!(dead_letter_parts(job), None);
    }
}
