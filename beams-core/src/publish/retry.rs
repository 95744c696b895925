//! When and how long the client waits before trying a request again.

use std::time::{Duration, SystemTime};

/// How [`BeamsClient`](super::BeamsClient) retries. (The timeout of each attempt is the
/// client's: [`BeamsClientBuilder::timeout`](super::BeamsClientBuilder::timeout).)
///
/// Only what cannot send a notification twice is retried:
///
/// | failure | publish | `delete_user` |
/// |---|---|---|
/// | 429 Too Many Requests | retried | retried |
/// | connect error (nothing was sent) | retried | retried |
/// | 5xx | **not** retried | retried |
/// | timeout, connection lost after sending | **not** retried | retried |
/// | other 4xx | not retried | not retried |
///
/// A retry waits for the `Retry-After` the answer gave (seconds or an HTTP date), or else
/// for a random time between zero and `min(max_delay, base_delay × 2^(retry − 1))`
/// ("full jitter"). A `Retry-After` longer than `max_delay` ends the retries at once: the
/// error ([`PublishError::RateLimited`](super::PublishError::RateLimited)) carries the wait
/// Beams asked for, and the caller decides.
///
/// Defaults: **3 attempts** in all, **100 ms** base delay, **10 s** max delay.
///
/// ```
/// use beams_core::publish::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_base_delay(Duration::from_millis(50));
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(policy.max_delay(), Duration::from_secs(10));
/// assert_eq!(RetryPolicy::no_retries().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default policy with a single attempt.
    pub fn no_retries() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Attempts in all, the first included (default 3; 0 is refused by the client builder).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The first backoff's upper bound; it doubles with each retry (default 100 ms).
    #[must_use]
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait between attempts: caps the backoff, and a longer `Retry-After`
    /// stops the retries (default 10 s).
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The first backoff's upper bound.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The longest wait between attempts.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The random backoff before retry number `retry` (1 for the first retry).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let ceiling = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Parses a `Retry-After` value: delta seconds or an HTTP date (a past date means now).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate rather than being ignored.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy::default();
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(3) <= Duration::from_millis(400));
            assert!(p.backoff(40) <= Duration::from_secs(10));
        }
        let max3 = (0..500).map(|_| p.backoff(3)).max().unwrap();
        assert!(max3 > Duration::from_millis(100), "{max3:?}");
        assert_eq!(p.with_base_delay(Duration::ZERO).backoff(5), Duration::ZERO);
    }
}
