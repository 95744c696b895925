//! [`FanOut`]: publish to any number of users in batches of 1000.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;

use super::error::{PublishError, ValidationError};
use super::limit::LocalRateLimiter;
use super::notification::Notification;
use super::validate::MAX_USERS;
use super::{PublishResponse, Publisher};
use crate::user_id::{UserId, UserIdError};

/// Publishes one notification to any number of users: de-duplicates them (first occurrence
/// wins), sets invalid ids aside, sends batches of 1000 with bounded concurrency under a
/// requests-per-second limit, and reports every batch's outcome.
///
/// Defaults: **4** requests at once, at most **100** requests per second (Beams' limit),
/// paced 10% below it so that no second of Beams' own counting sees more than the limit.
/// The limit paces the start of each batch, in this process. [`BeamsClient`](super::BeamsClient)
/// also paces every request it sends through its [`RateLimiter`](super::RateLimiter): give
/// several replicas one shared budget there ([`RedisRateLimiter`](super::RedisRateLimiter),
/// feature `redis-rate-limit`).
///
/// Memory: one copy of the user list, plus at most `concurrency` request bodies at a time.
///
/// ```
/// use beams_core::publish::{FanOut, Notification, WebPayload};
/// # #[cfg(feature = "test-util")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use beams_core::publish::FakePublisher;
///
/// let fake = FakePublisher::new();
/// let users: Vec<String> = (0..2500).map(|i| format!("user-{}", i % 2000)).collect();
/// let notification = Notification::new().web_raw(serde_json::json!({"notification": {"title": "Hi"}}));
///
/// let report = FanOut::new()
///     .concurrency(2)
///     .max_requests_per_second(50)
///     .publish_to_users(&fake, &users, &notification)
///     .await?;
/// assert_eq!(report.batches.len(), 2); // 2000 distinct users
/// assert_eq!(report.duplicates_removed, 500);
/// assert!(report.is_complete_success());
/// # Ok::<(), beams_core::publish::ValidationError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct FanOut {
    concurrency: usize,
    requests_per_second: Option<u32>,
}

impl Default for FanOut {
    fn default() -> Self {
        Self {
            concurrency: 4,
            requests_per_second: Some(100),
        }
    }
}

/// A user id set aside by [`FanOut`] because it is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidUser {
    /// Its position in the input.
    pub index: usize,
    /// The id.
    pub user: String,
    /// The rule it breaks.
    pub error: UserIdError,
}

/// One batch's outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// The batch's position (0-based, in input order).
    pub index: usize,
    /// The users of this batch, in input order.
    pub users: Vec<String>,
    /// The publish id, or why this batch failed.
    pub result: Result<PublishResponse, PublishError>,
}

/// What [`FanOut::publish_to_users`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct FanOutReport {
    /// Every batch, in order; together they hold each valid distinct user exactly once.
    pub batches: Vec<BatchOutcome>,
    /// User ids that were not sent because they are invalid.
    pub invalid_users: Vec<InvalidUser>,
    /// How many repeated (valid) user ids were dropped.
    pub duplicates_removed: usize,
}

impl FanOutReport {
    /// Whether every batch was published and no user id was set aside.
    pub fn is_complete_success(&self) -> bool {
        self.invalid_users.is_empty() && self.batches.iter().all(|b| b.result.is_ok())
    }

    /// The batches that failed.
    pub fn failed_batches(&self) -> impl Iterator<Item = &BatchOutcome> {
        self.batches.iter().filter(|b| b.result.is_err())
    }

    /// The publish ids of the batches that succeeded.
    pub fn publish_ids(&self) -> impl Iterator<Item = &str> {
        self.batches
            .iter()
            .filter_map(|b| b.result.as_ref().ok().map(PublishResponse::publish_id))
    }

    /// How many users are in batches that succeeded.
    pub fn users_published(&self) -> usize {
        self.batches
            .iter()
            .filter(|b| b.result.is_ok())
            .map(|b| b.users.len())
            .sum()
    }
}

impl FanOut {
    /// Batch starts spaced evenly, 10% slower than the rate: exactly `1 s / rate` is not
    /// enough, since Beams counts arrivals in its own one-second window, which opens when the
    /// first request *arrives* (after connection set-up), so the start at `rate × interval`
    /// could land inside the first window as a 101st request.
    fn pacer(&self) -> Option<LocalRateLimiter> {
        self.requests_per_second
            .map(|n| LocalRateLimiter::with_interval(Duration::from_millis(1100) / n.max(1), 1))
    }

    /// The default settings: 4 at once, 100 requests per second.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many batches may be in flight at once (default 4; 0 counts as 1).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// The most batches started per second (default 100, Beams' limit; 0 counts as 1).
    pub fn max_requests_per_second(mut self, requests: u32) -> Self {
        self.requests_per_second = Some(requests.max(1));
        self
    }

    /// Starts batches as fast as the concurrency allows (for fakes and benchmarks).
    pub fn without_rate_limit(mut self) -> Self {
        self.requests_per_second = None;
        self
    }

    /// Publishes `notification` to every user.
    ///
    /// Fails before any request only when the notification itself is invalid (see
    /// [`Notification::validate`]). Otherwise every batch runs, whatever the others do, and
    /// the report says what happened to each; invalid ids are listed in
    /// [`FanOutReport::invalid_users`]. No users at all gives an empty report.
    pub async fn publish_to_users<P, I>(
        &self,
        publisher: &P,
        users: I,
        notification: &Notification,
    ) -> Result<FanOutReport, ValidationError>
    where
        P: Publisher + ?Sized,
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        notification.validate()?;
        let (users, invalid_users, duplicates_removed) = prepare(users);
        let mut batches: Vec<Vec<String>> = Vec::with_capacity(users.len().div_ceil(MAX_USERS));
        let mut users = users.into_iter();
        loop {
            let batch: Vec<String> = users.by_ref().take(MAX_USERS).collect();
            if batch.is_empty() {
                break;
            }
            batches.push(batch);
        }

        let pacer = self.pacer();
        let pacer = &pacer;
        let mut outcomes: Vec<BatchOutcome> =
            futures_util::stream::iter(batches.into_iter().enumerate())
                .map(|(index, users)| async move {
                    if let Some(pacer) = pacer {
                        pacer.reserve_and_wait().await;
                    }
                    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
                    let result = publisher.publish_to_users(&refs, notification).await;
                    drop(refs);
                    BatchOutcome {
                        index,
                        users,
                        result,
                    }
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        outcomes.sort_unstable_by_key(|b| b.index);
        Ok(FanOutReport {
            batches: outcomes,
            invalid_users,
            duplicates_removed,
        })
    }
}

/// Owned, valid, distinct users in first-occurrence order; the invalid ones; the duplicates count.
fn prepare<I>(users: I) -> (Vec<String>, Vec<InvalidUser>, usize)
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut invalid = Vec::new();
    let mut valid: Vec<String> = Vec::new();
    for (index, user) in users.into_iter().enumerate() {
        let user = user.as_ref();
        match UserId::validate(user) {
            Ok(()) => valid.push(user.to_owned()),
            Err(error) => invalid.push(InvalidUser {
                index,
                user: user.to_owned(),
                error,
            }),
        }
    }
    let keep: Vec<bool> = {
        let mut seen: HashSet<&str> = HashSet::with_capacity(valid.len());
        valid.iter().map(|u| seen.insert(u.as_str())).collect()
    };
    let before = valid.len();
    let mut keep = keep.into_iter();
    valid.retain(|_| keep.next().unwrap_or(false));
    let duplicates = before - valid.len();
    (valid, invalid, duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_dedupes_in_order_and_sets_invalid_aside() {
        let long = "x".repeat(165);
        let (valid, invalid, dups) = prepare(["b", "a", "", "b", "c", "a", &long]);
        assert_eq!(valid, ["b", "a", "c"]);
        assert_eq!(dups, 2);
        assert_eq!(invalid.len(), 2);
        assert_eq!(
            (invalid[0].index, invalid[0].error.clone()),
            (2, UserIdError::Empty)
        );
        assert_eq!(
            (invalid[1].index, invalid[1].error.clone()),
            (6, UserIdError::TooLong(165))
        );
    }

    #[tokio::test]
    async fn pacer_spaces_starts() {
        let pacer = FanOut::new().max_requests_per_second(1000).pacer().unwrap();
        let start = tokio::time::Instant::now();
        for _ in 0..101 {
            pacer.reserve_and_wait().await;
        }
        // 101 starts need 100 intervals of 1.1 ms.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(110), "{elapsed:?}");
        assert!(FanOut::new().without_rate_limit().pacer().is_none());
    }
}
