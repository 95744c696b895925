//! The outbox's errors.

use std::time::Duration;

/// Why the outbox could not do what was asked.
///
/// An enqueue that fails with [`Unavailable`](Self::Unavailable) may still have been stored
/// (Redis may run a command whose answer never arrived): try again with the same
/// idempotency key, and the outbox answers the first id instead of storing it twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// Redis did not answer within the outbox's timeout, or could not be reached: a 5xx for
    /// the caller's own client, never "not found".
    #[error("the outbox's Redis is unavailable: {source}")]
    Unavailable {
        /// What the Redis client said.
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered, but not as the outbox expects (another program changed its keys).
    #[error("the outbox's Redis answered unexpectedly: {0}")]
    Unexpected(String),
    /// The idempotency key is empty, longer than 256 bytes or not printable ASCII.
    #[error("invalid idempotency key: 1 to 256 printable ASCII characters")]
    InvalidIdempotencyKey,
    /// The tag is longer than 256 bytes.
    #[error("the tag is longer than 256 bytes")]
    TagTooLong,
    /// The delay is longer than the outbox's maximum age: it would die before its first try.
    #[error("the delay {delay:?} is longer than the outbox's max age {max_age:?}")]
    DelayTooLong {
        /// The delay asked for.
        delay: Duration,
        /// The outbox's [`max_age`](super::OutboxBuilder::max_age).
        max_age: Duration,
    },
}

impl OutboxError {
    /// Whether Redis was the cause (answer `503` with `Retry-After`); the other errors are
    /// the caller's input.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Unexpected(_))
    }
}

impl From<redis::RedisError> for OutboxError {
    fn from(source: redis::RedisError) -> Self {
        Self::Unavailable { source }
    }
}

/// The settings given to [`OutboxBuilder`](super::OutboxBuilder) cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The Redis URL could not be parsed (the URL is not repeated: it may hold a password).
    #[error("invalid Redis URL: {source}")]
    InvalidRedisUrl {
        /// What the Redis client said.
        #[source]
        source: redis::RedisError,
    },
    /// The key prefix is empty, longer than 100 bytes, or holds a character outside
    /// `A-Z a-z 0-9 - _ . : { }`.
    #[error("invalid key prefix: 1 to 100 of A-Z a-z 0-9 - _ . : {{ }}")]
    InvalidPrefix,
    /// A duration that must be positive is zero (the field names which).
    #[error("{0} must be more than zero")]
    Zero(&'static str),
}
