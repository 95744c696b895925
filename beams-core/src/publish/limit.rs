//! Keeping requests to Beams under its rate limit (100 requests per second per instance):
//! [`RateLimiter`], the in-process [`LocalRateLimiter`] and, with the `redis-rate-limit` feature, the
//! [`RedisRateLimiter`] that several replicas share.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::error::BoxError;

/// Spaces the requests [`BeamsClient`](super::BeamsClient) sends to Beams: each request (and
/// each retry) first waits for [`acquire`](Self::acquire).
///
/// The default, [`LocalRateLimiter::beams`], keeps one process under Beams' limit. Several
/// replicas of an app each pacing themselves together exceed it; they share one budget
/// through [`RedisRateLimiter`] (feature `redis-rate-limit`).
#[async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Waits until one more request may be sent. An error (the shared budget's store is
    /// unreachable) fails the request without sending it.
    async fn acquire(&self) -> Result<(), BoxError>;
}

/// An in-process limiter: requests start at most `burst` at once, then one per
/// `1 s / rate` (a GCRA: the "theoretical arrival time" of the next request moves on by one
/// interval per request; a request waits until it is at most `burst - 1` intervals ahead).
///
/// ```
/// use beams_core::publish::{LocalRateLimiter, RateLimiter};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let limiter = LocalRateLimiter::new(50, 5); // 50 per second, 5 at once
/// let start = std::time::Instant::now();
/// for _ in 0..10 {
///     limiter.acquire().await.unwrap();
/// }
/// // 5 at once, then 5 more 20 ms apart.
/// assert!(start.elapsed() >= std::time::Duration::from_millis(100));
/// # });
/// ```
pub struct LocalRateLimiter {
    interval: Duration,
    burst: u32,
    /// When the next request would go if requests were evenly spaced.
    tat: Mutex<Option<Instant>>,
}

impl fmt::Debug for LocalRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRateLimiter")
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl LocalRateLimiter {
    /// At most `per_second` requests per second (0 counts as 1), `burst` of them at once
    /// (0 counts as 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self::with_interval(Duration::from_secs(1) / per_second.max(1), burst)
    }

    /// One request per `interval`, `burst` of them at once (0 counts as 1).
    pub fn with_interval(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst: burst.max(1),
            tat: Mutex::new(None),
        }
    }

    /// The default of [`BeamsClient`](super::BeamsClient): 90 requests per second, 5 at
    /// once. Any one second of starts then holds at most 95 requests, which leaves Beams' 100
    /// room for the network: requests that leave evenly spaced do not arrive so.
    pub fn beams() -> Self {
        Self::new(90, 5)
    }

    /// Reserves the next start and returns when it is.
    fn reserve(&self) -> Instant {
        let mut tat = self.tat.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let next = tat.map_or(now, |t| t.max(now));
        *tat = Some(next + self.interval);
        let ahead = self.interval * (self.burst - 1);
        next.checked_sub(ahead).map_or(now, |at| at.max(now))
    }

    /// Waits for the next start.
    pub(crate) async fn reserve_and_wait(&self) {
        tokio::time::sleep_until(self.reserve()).await;
    }
}

#[async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn acquire(&self) -> Result<(), BoxError> {
        self.reserve_and_wait().await;
        Ok(())
    }
}

#[cfg(feature = "redis-rate-limit")]
pub use redis_limiter::{InvalidRedisUrl, RedisRateLimiter};

#[cfg(feature = "redis-rate-limit")]
mod redis_limiter {
    use std::fmt;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use async_trait::async_trait;
    use futures_util::FutureExt;
    use futures_util::future::{BoxFuture, Shared};
    use redis::aio::{ConnectionManager, ConnectionManagerConfig};

    use super::{BoxError, RateLimiter};

    /// The same GCRA as [`LocalRateLimiter`](super::LocalRateLimiter), kept in Redis, so that
    /// every replica draws on one budget: one atomic script reads Redis' own clock (so the
    /// replicas' clocks do not matter), moves the budget's theoretical arrival time on by
    /// one interval and answers how long this request must wait.
    const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local ahead = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.floor((tat + interval - now) / 1000) + 1000)
local wait = tat - ahead - now
if wait < 0 then return 0 end
return wait
";

    /// How long Redis may stay silent on one exchange (connecting, or running the script):
    /// a Redis that is down or frozen fails the request quickly instead of holding it. The
    /// exchanges run on the limiter's own thread, so this measures Redis, not how busy the
    /// app's runtime is.
    const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

    /// A connection being made, shared by every caller that needs it meanwhile.
    type Connecting = Shared<BoxFuture<'static, Result<ConnectionManager, Arc<str>>>>;

    /// The URL given to [`RedisRateLimiter`] could not be parsed (feature `redis-rate-limit`).
    #[derive(Debug, thiserror::Error)]
    #[error("invalid Redis URL: {source}")]
    pub struct InvalidRedisUrl {
        /// What the Redis client said about it (the URL itself is not repeated: it may
        /// hold a password).
        #[source]
        source: redis::RedisError,
    }

    /// A rate limiter shared by every process that uses the same Redis and key: all
    /// replicas of an app together stay under Beams' limit (feature `redis-rate-limit`).
    ///
    /// [`acquire`](RateLimiter::acquire) takes a slot in one short exchange with Redis,
    /// then waits for that slot in the process. The two are bounded differently:
    ///
    /// - **Redis.** Connecting and the script are each given 500 ms. A Redis that is down
    ///   or frozen fails the request within about half a second (per exchange, so at most
    ///   about a second when it must also connect), and nothing is sent
    ///   ([`PublishError::Limiter`](crate::publish::PublishError::Limiter)). The exchanges
    ///   run on a thread the limiter starts on first use (a single-threaded runtime that
    ///   ends when the limiter is dropped), so the bound measures Redis, not how long the
    ///   app's busy runtime takes to read the answer. The limiter connects on first use
    ///   (callers arriving meanwhile share that one attempt; a failed attempt is retried by
    ///   the next call) and reconnects by itself.
    /// - **The slot.** Waiting for the slot is not an error and has no bound of its own:
    ///   many requests at once queue for as long as the budget needs (at 75 per second, the
    ///   750th waits about ten seconds), as with
    ///   [`LocalRateLimiter`](super::LocalRateLimiter). To bound a publish as a whole, wrap it
    ///   in `tokio::time::timeout`; a slot given up that way is simply left unused.
    ///
    /// [`beams`](Self::beams) leaves Beams' limit a wide margin because what Beams counts is
    /// arrivals, and requests started evenly by several busy processes do not arrive evenly.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use beams_core::Instance;
    /// use beams_core::publish::{BeamsClient, RedisRateLimiter};
    ///
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let instance = Instance::from_env()?;
    /// let redis_url = std::env::var("REDIS_URL")?;
    /// // The same key on every replica: one budget per Beams instance.
    /// let limiter = RedisRateLimiter::beams(&redis_url, instance.id())?;
    /// let client = BeamsClient::builder(&instance)
    ///     .rate_limiter(Arc::new(limiter))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    pub struct RedisRateLimiter {
        budget: Arc<Budget>,
        /// The limiter's own thread, started on first use.
        worker: Mutex<Option<Worker>>,
    }

    /// What an exchange with Redis needs, shared with the limiter's thread.
    struct Budget {
        client: redis::Client,
        /// The connection, or the attempt under way. The lock is held only to read or
        /// replace it, never across an await.
        connection: Mutex<Option<Connecting>>,
        script: redis::Script,
        key: String,
        interval_micros: u64,
        burst: u32,
    }

    /// A single-threaded runtime on a thread of its own, where every exchange with Redis
    /// runs (the connection's reader included): its timers and reads are not queued
    /// behind the app's tasks. It stops when the limiter is dropped.
    struct Worker {
        handle: tokio::runtime::Handle,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    impl fmt::Debug for RedisRateLimiter {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // Not the URL: it may hold a password.
            f.debug_struct("RedisRateLimiter")
                .field("key", &self.budget.key)
                .field("interval_micros", &self.budget.interval_micros)
                .field("burst", &self.budget.burst)
                .finish_non_exhaustive()
        }
    }

    impl RedisRateLimiter {
        /// At most `per_second` requests per second (0 counts as 1), `burst` at once (0
        /// counts as 1), over every process using `url` and `key`. Fails only for a URL
        /// that cannot be parsed; nothing is connected yet.
        pub fn new(
            url: &str,
            key: impl Into<String>,
            per_second: u32,
            burst: u32,
        ) -> Result<Self, InvalidRedisUrl> {
            Ok(Self {
                budget: Arc::new(Budget {
                    client: redis::Client::open(url)
                        .map_err(|source| InvalidRedisUrl { source })?,
                    connection: Mutex::new(None),
                    script: redis::Script::new(GCRA),
                    key: key.into(),
                    interval_micros: 1_000_000 / u64::from(per_second.max(1)),
                    burst: burst.max(1),
                }),
                worker: Mutex::new(None),
            })
        }

        /// Beams' budget for `instance_id` (key `beams-rs:rate:{instance_id}`): 75 requests
        /// per second, one at a time. Any one second of starts, over all replicas, then holds
        /// at most 76 requests, so Beams' 100 per second holds for arrivals as long as
        /// requests reach Beams within about 300 ms of their start, however the replicas'
        /// load bunches them on the way.
        pub fn beams(url: &str, instance_id: &str) -> Result<Self, InvalidRedisUrl> {
            Self::new(url, format!("beams-rs:rate:{instance_id}"), 75, 1)
        }

        /// The limiter's thread, started if it is not running yet.
        fn worker(&self) -> Result<tokio::runtime::Handle, BoxError> {
            let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(worker) = &*worker {
                return Ok(worker.handle.clone());
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            std::thread::Builder::new()
                .name("beams-redis-rate-limit".into())
                .spawn(move || {
                    // Until the limiter is dropped; the connection goes with the runtime.
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                })?;
            *worker = Some(Worker {
                handle: handle.clone(),
                _stop: stop,
            });
            Ok(handle)
        }
    }

    impl Budget {
        /// The connection, once made, or the attempt under way (started here if there is
        /// none, or if the last one failed). Callers arriving meanwhile share the attempt.
        fn connecting(&self) -> Connecting {
            let mut slot = self
                .connection
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(connecting) = &*slot
                && !matches!(connecting.peek(), Some(Err(_)))
            {
                return connecting.clone();
            }
            let client = self.client.clone();
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(REDIS_TIMEOUT)
                .set_number_of_retries(0);
            let connecting = async move {
                ConnectionManager::new_with_config(client, config)
                    .await
                    .map_err(|e| Arc::<str>::from(e.to_string()))
            }
            .boxed()
            .shared();
            *slot = Some(connecting.clone());
            connecting
        }

        /// Takes the next slot: how long to wait for it, in microseconds. Runs on the
        /// limiter's thread; each exchange is bounded by [`REDIS_TIMEOUT`].
        async fn reserve(&self) -> Result<u64, BoxError> {
            let mut connection = tokio::time::timeout(REDIS_TIMEOUT, self.connecting())
                .await
                .map_err(|_| "connecting to Redis timed out")?
                .map_err(|e| BoxError::from(String::from(&*e)))?;
            let mut invocation = self.script.key(&self.key);
            invocation.arg(self.interval_micros).arg(self.burst);
            let wait: u64 =
                tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async(&mut connection))
                    .await
                    .map_err(|_| "the Redis rate limiter did not answer in time")??;
            Ok(wait)
        }
    }

    #[async_trait]
    impl RateLimiter for RedisRateLimiter {
        async fn acquire(&self) -> Result<(), BoxError> {
            // The exchange with Redis is bounded, on the limiter's thread; the wait for the
            // slot it gives is not, here.
            let budget = Arc::clone(&self.budget);
            let wait = self
                .worker()?
                .spawn(async move { budget.reserve().await })
                .await
                .map_err(|_| "the Redis rate limiter's thread stopped")??;
            tokio::time::sleep(Duration::from_micros(wait)).await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_local_limiter_paces_after_its_burst() {
        let limiter = LocalRateLimiter::new(100, 10);
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..30 {
            limiter.acquire().await.unwrap();
            starts.push(start.elapsed());
        }
        // The burst goes at once, then one every 10 ms.
        assert!(starts[..10].iter().all(|d| d.is_zero()), "{starts:?}");
        assert_eq!(starts[10], Duration::from_millis(10));
        assert_eq!(starts[29], Duration::from_millis(200));
        // In any one second of starts: at most the rate plus the burst, 95 for Beams' default.
        let limiter = LocalRateLimiter::beams();
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..500 {
            limiter.acquire().await.unwrap();
            times.push(start.elapsed());
        }
        let most = times
            .iter()
            .map(|t| {
                times
                    .iter()
                    .filter(|u| **u >= *t && **u < *t + Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap();
        assert!((90..=95).contains(&most), "{most} requests in one second");
    }
}
