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
    /// Redis did not answer within the outbox's timeout, or could not be reached: a `503`
    /// for the caller's own client, never "not found".
    #[error("the outbox's Redis is unavailable: {source}")]
    Unavailable {
        /// What the Redis client said.
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered with an error (out of memory, a missing permission, a key of the
    /// wrong type written by another program, a script it refused).
    #[error("the outbox's Redis refused: {source}")]
    Redis {
        /// What Redis said.
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered, but not as the outbox expects (another program changed its keys).
    #[error("the outbox's Redis answered unexpectedly: {0}")]
    Unexpected(String),
    /// The idempotency key is empty, longer than
    /// [`MAX_IDEMPOTENCY_KEY_LEN`](super::MAX_IDEMPOTENCY_KEY_LEN) or not printable ASCII.
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
    /// Whether Redis, not the caller's input, is the cause: [`Unavailable`](Self::Unavailable),
    /// [`Redis`](Self::Redis) or [`Unexpected`](Self::Unexpected) (answer a `5xx`, a `503` with
    /// `Retry-After` for `Unavailable`); the other errors are the caller's input (a `400`).
    pub fn is_redis(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Redis { .. } | Self::Unexpected(_)
        )
    }
}

impl From<redis::RedisError> for OutboxError {
    fn from(source: redis::RedisError) -> Self {
        if source.is_io_error()
            || source.is_timeout()
            || source.is_connection_dropped()
            || source.is_connection_refusal()
            || source.is_cluster_error()
            || matches!(
                source.code(),
                Some("LOADING" | "BUSY" | "TRYAGAIN" | "MASTERDOWN")
            )
        {
            Self::Unavailable { source }
        } else {
            Self::Redis { source }
        }
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
    /// A duration is outside what the outbox can work with.
    #[error("{setting} must be from {min:?} to {max:?}")]
    OutOfRange {
        /// The builder method's name.
        setting: &'static str,
        /// The least it may be.
        min: Duration,
        /// The most it may be.
        max: Duration,
    },
}
