//! What is enqueued ([`Publish`]) and what the outbox says about it ([`Enqueued`],
//! [`Status`], [`DeadLetter`]).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::publish::{MAX_USERS, Notification, ValidationError};

/// The longest [`Publish::tag`], in bytes.
pub const MAX_TAG_LEN: usize = 256;

/// The longest [`Publish::idempotency_key`], in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;

/// One publish to store in the [`Outbox`](super::Outbox): a notification to users (any
/// number: more than 1000 are split into batches of 1000, each its own entry) or to 1–100
/// interests, validated when it is built, so that what is stored can be sent.
///
/// ```
/// use beams_core::outbox::Publish;
/// use beams_core::publish::{Notification, WebNotification, WebPayload};
/// use std::time::Duration;
///
/// let notification = Notification::new()
///     .web(WebPayload::new().notification(WebNotification::new("Shipped", "Your order is on its way")));
/// let users: Vec<String> = (0..2500).map(|i| format!("user-{i}")).collect();
/// let publish = Publish::to_users(&users, &notification)?
///     .idempotency_key("order-1234-shipped")
///     .delay(Duration::from_secs(60))
///     .tag("order-1234");
/// assert_eq!(publish.batches(), 3);
///
/// // Invalid input is refused here, not after it is stored.
/// assert!(Publish::to_users([&"x".repeat(200)], &notification).is_err());
/// # Ok::<(), beams_core::publish::ValidationError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Publish {
    pub(super) kind: Kind,
    pub(super) notification: String,
    /// One JSON array of user ids or interests per batch.
    pub(super) batches: Vec<String>,
    pub(super) delay: Duration,
    pub(super) send_at: Option<SystemTime>,
    pub(super) idempotency_key: Option<String>,
    pub(super) tag: Option<String>,
}

/// To whom a stored publish goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Users,
    Interests,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Interests => "interests",
        }
    }
}

impl Publish {
    /// A publish to these users (duplicates removed, first occurrence kept). Fails for no
    /// users, an invalid user id (Beams' rules, with its index) or an invalid notification.
    pub fn to_users<I>(users: I, notification: &Notification) -> Result<Self, ValidationError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        notification.validate()?;
        let mut seen = HashSet::new();
        let mut distinct: Vec<String> = Vec::new();
        for user in users {
            let user = user.as_ref();
            if seen.insert(user.to_owned()) {
                distinct.push(user.to_owned());
            }
        }
        if distinct.is_empty() {
            return Err(ValidationError::NoUsers);
        }
        let mut batches = Vec::with_capacity(distinct.len().div_ceil(MAX_USERS));
        for (number, chunk) in distinct.chunks(MAX_USERS).enumerate() {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            // The exact body the client would send: every rule checked, the size included.
            notification
                .users_body(&refs)
                .map_err(|error| offset_index(error, number * MAX_USERS))?;
            batches.push(json_array(&refs));
        }
        Ok(Self::new(Kind::Users, notification, batches))
    }

    /// A publish to the devices subscribed to any of 1–100 interests.
    pub fn to_interests<I>(
        interests: I,
        notification: &Notification,
    ) -> Result<Self, ValidationError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let interests: Vec<I::Item> = interests.into_iter().collect();
        let refs: Vec<&str> = interests.iter().map(AsRef::as_ref).collect();
        notification.interests_body(&refs)?;
        Ok(Self::new(
            Kind::Interests,
            notification,
            vec![json_array(&refs)],
        ))
    }

    fn new(kind: Kind, notification: &Notification, batches: Vec<String>) -> Self {
        Self {
            kind,
            notification: notification.to_json().to_string(),
            batches,
            delay: Duration::ZERO,
            send_at: None,
            idempotency_key: None,
            tag: None,
        }
    }

    /// Sends no earlier than `delay` after it is stored.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self.send_at = None;
        self
    }

    /// Sends no earlier than `at` (a time in the past sends at once).
    pub fn send_at(mut self, at: SystemTime) -> Self {
        self.send_at = Some(at);
        self
    }

    /// An enqueue with a key already used within the outbox's idempotency window stores
    /// nothing and answers the first publish's id. At most 256 printable ASCII bytes
    /// (checked by [`Outbox::enqueue`](super::Outbox::enqueue)). Keys share one namespace per
    /// outbox: put the user or tenant in the key when callers may choose it.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// A note kept with the publish and given back by [`Status::tag`] and
    /// [`DeadLetter::tag`], e.g. who asked for it (at most 256 bytes).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// How many entries (batches of at most 1 000 users) it is stored as.
    pub fn batches(&self) -> usize {
        self.batches.len()
    }

    /// The wait before the first attempt, from now.
    pub(super) fn wait(&self) -> Duration {
        match self.send_at {
            Some(at) => at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
            None => self.delay,
        }
    }
}

fn json_array(items: &[&str]) -> String {
    Value::from(items.to_vec()).to_string()
}

/// A batch's user index made relative to every user given.
fn offset_index(error: ValidationError, offset: usize) -> ValidationError {
    match error {
        ValidationError::InvalidUser {
            index,
            user,
            source,
        } => ValidationError::InvalidUser {
            index: index + offset,
            user,
            source,
        },
        other => other,
    }
}

/// What [`Outbox::enqueue`](super::Outbox::enqueue) stored, or found already stored under
/// the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub(super) id: String,
    pub(super) duplicate: bool,
}

impl Enqueued {
    /// The publish's id in the outbox (32 hex digits): ask [`Outbox::status`](super::Outbox::status).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the idempotency key had been used already: nothing new was stored and
    /// [`id`](Self::id) is the first publish's.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }
}

/// Where a publish stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// At least one batch is waiting, scheduled or in flight.
    Queued,
    /// Every batch was accepted by Beams.
    Published,
    /// Every batch is finished and at least one was given up (see [`Status::error`]).
    Dead,
}

impl State {
    /// `queued`, `published` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Published => "published",
            Self::Dead => "dead",
        }
    }
}

/// Why a batch failed: Beams' status and `{error, description}` when it answered, else what
/// happened (`error` is then `timeout`, `network`, `rate_limiter`, `invalid` or `other`).
/// Kept in Redis as this JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl Failure {
    pub(super) fn new(status: Option<u16>, error: Option<&str>, description: Option<&str>) -> Self {
        // Beams' texts are kept short.
        let short = |s: &str| s.chars().take(300).collect::<String>();
        Self {
            status,
            error: error.map(short),
            description: description.map(short),
        }
    }

    /// Reads what the worker stored; anything unreadable is kept as the description.
    pub(super) fn parse(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_else(|_| Self {
            description: Some(stored.to_owned()),
            ..Self::default()
        })
    }

    /// The HTTP status Beams answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Beams' `error`, or what happened when it did not answer.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Beams' `description` (at most 300 characters), or ours.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// `{"status", "error", "description"}`, absent fields left out.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What [`Outbox::status`](super::Outbox::status) knows about one publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub(super) state: State,
    pub(super) batches: usize,
    pub(super) dead_batches: usize,
    pub(super) attempts: u32,
    pub(super) next_attempt: Option<SystemTime>,
    pub(super) created: SystemTime,
    pub(super) error: Option<Failure>,
    pub(super) publish_ids: Vec<String>,
    pub(super) tag: Option<String>,
}

impl Status {
    /// Queued, published or dead.
    pub fn state(&self) -> State {
        self.state
    }

    /// How many batches the publish was stored as.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// How many batches were given up.
    pub fn dead_batches(&self) -> usize {
        self.dead_batches
    }

    /// Requests sent so far, over every batch.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When the next waiting batch is due (queued only; Redis' clock).
    pub fn next_attempt(&self) -> Option<SystemTime> {
        self.next_attempt
    }

    /// When it was stored (Redis' clock).
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// Why a batch died, or else why the last failed attempt failed.
    pub fn error(&self) -> Option<&Failure> {
        self.error.as_ref()
    }

    /// Beams' `publishId`s of the batches published so far, in no particular order (an empty
    /// string when Beams accepted a batch with an unreadable answer). Not the outbox's own id.
    pub fn publish_ids(&self) -> &[String] {
        &self.publish_ids
    }

    /// The tag given with [`Publish::tag`].
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
}

/// One batch given up (see [`Outbox::dead_letters`](super::Outbox::dead_letters)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub(super) id: String,
    pub(super) died: SystemTime,
    pub(super) attempts: u32,
    pub(super) error: Failure,
    pub(super) tag: Option<String>,
}

impl DeadLetter {
    /// `<publish id>:<batch>`: what [`Outbox::replay`](super::Outbox::replay) and
    /// [`Outbox::delete_dead_letter`](super::Outbox::delete_dead_letter) take.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The outbox id of the publish it belongs to (what [`Enqueued::id`] answered).
    pub fn outbox_id(&self) -> &str {
        self.id.split_once(':').map_or(&self.id, |(job, _)| job)
    }

    /// When it was given up (Redis' clock).
    pub fn died(&self) -> SystemTime {
        self.died
    }

    /// Requests sent for it.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why it was given up.
    pub fn error(&self) -> &Failure {
        &self.error
    }

    /// The publish's tag.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
}

/// Milliseconds of Redis' clock as a time.
pub(super) fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
