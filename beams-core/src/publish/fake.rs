//! [`FakePublisher`]: a recording [`Publisher`] for host-application tests.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

use super::error::{PublishError, ValidationError};
use super::notification::Notification;
use super::{PublishResponse, Publisher};
use crate::user_id::UserId;

/// One call that passed validation, as recorded by [`FakePublisher`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PublishCall {
    /// `publish_to_interests`.
    Interests {
        /// The interests.
        interests: Vec<String>,
        /// The notification.
        notification: Notification,
        /// The request body a [`BeamsClient`](super::BeamsClient) would have sent.
        body: Value,
    },
    /// `publish_to_users`.
    Users {
        /// The users.
        users: Vec<String>,
        /// The notification.
        notification: Notification,
        /// The request body a [`BeamsClient`](super::BeamsClient) would have sent.
        body: Value,
    },
    /// `delete_user`.
    DeleteUser {
        /// The user id.
        user_id: String,
    },
}

type FailWith = Box<dyn Fn(&PublishCall) -> Option<PublishError> + Send + Sync>;

#[derive(Default)]
struct State {
    calls: Vec<PublishCall>,
    fail_next: VecDeque<PublishError>,
    fail_with: Option<FailWith>,
    published: u64,
}

/// A [`Publisher`] that records calls instead of sending them (feature `test-util`).
///
/// It applies the same validation as [`BeamsClient`](super::BeamsClient): an invalid
/// publish returns [`PublishError::Validation`] and is not recorded. A valid one is recorded,
/// then fails if told to, else succeeds with publish id `pubid-fake-1`, `pubid-fake-2`, ….
///
/// ```
/// use beams_core::publish::{FakePublisher, Notification, PublishCall, PublishError, Publisher};
/// use beams_core::publish::ApiError;
/// use http::StatusCode;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let fake = FakePublisher::new();
/// let n = Notification::new().fcm_raw(serde_json::json!({"notification": {"title": "Hi"}}));
///
/// let published = fake.publish_to_users(&["alice"], &n).await.unwrap();
/// assert_eq!(published.publish_id(), "pubid-fake-1");
/// assert_eq!(fake.users_published_to(), ["alice"]);
///
/// // Invalid publishes fail like the real client and are not recorded.
/// assert!(fake.publish_to_users(&["bob", "bob"], &n).await.unwrap_err().is_validation());
/// assert_eq!(fake.calls().len(), 1);
///
/// // Make the next call fail.
/// fake.fail_next(PublishError::Server(ApiError::new(
///     StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "try again")));
/// assert!(matches!(fake.delete_user("alice").await, Err(PublishError::Server(_))));
/// assert_eq!(fake.calls()[1], PublishCall::DeleteUser { user_id: "alice".into() });
/// # });
/// ```
#[derive(Default)]
pub struct FakePublisher {
    state: Mutex<State>,
}

impl fmt::Debug for FakePublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("FakePublisher")
            .field("calls", &state.calls.len())
            .field("pending_failures", &state.fail_next.len())
            .field("fail_with", &state.fail_with.is_some())
            .finish()
    }
}

impl FakePublisher {
    /// A fake with no calls and no failures.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every recorded call, in order.
    pub fn calls(&self) -> Vec<PublishCall> {
        self.lock().calls.clone()
    }

    /// Every user of every recorded `publish_to_users`, in order.
    pub fn users_published_to(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter_map(|c| match c {
                PublishCall::Users { users, .. } => Some(users.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Every interest of every recorded `publish_to_interests`, in order.
    pub fn interests_published_to(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter_map(|c| match c {
                PublishCall::Interests { interests, .. } => Some(interests.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Every recorded `delete_user`'s user id, in order.
    pub fn deleted_users(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter_map(|c| match c {
                PublishCall::DeleteUser { user_id } => Some(user_id.clone()),
                _ => None,
            })
            .collect()
    }

    /// Forgets the recorded calls (pending failures stay).
    pub fn clear(&self) {
        self.lock().calls.clear();
    }

    /// Makes the next valid call fail with `error` (queued: one error per call).
    pub fn fail_next(&self, error: PublishError) {
        self.lock().fail_next.push_back(error);
    }

    /// Decides for every valid call (after the queued [`fail_next`](Self::fail_next)
    /// errors) whether it fails, e.g. a given user's batch. `decide` runs under the fake's
    /// lock: it must not call the fake.
    pub fn fail_with(
        &self,
        decide: impl Fn(&PublishCall) -> Option<PublishError> + Send + Sync + 'static,
    ) {
        self.lock().fail_with = Some(Box::new(decide));
    }

    fn record(&self, call: PublishCall) -> Result<Option<PublishResponse>, PublishError> {
        let mut state = self.lock();
        let is_publish = !matches!(call, PublishCall::DeleteUser { .. });
        let failure = match state.fail_next.pop_front() {
            Some(error) => Some(error),
            None => state.fail_with.as_ref().and_then(|decide| decide(&call)),
        };
        state.calls.push(call);
        if let Some(error) = failure {
            return Err(error);
        }
        if !is_publish {
            return Ok(None);
        }
        state.published += 1;
        Ok(Some(PublishResponse::new(format!(
            "pubid-fake-{}",
            state.published
        ))))
    }
}

fn to_value(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("a body we serialized parses")
}

#[async_trait]
impl Publisher for FakePublisher {
    async fn publish_to_interests(
        &self,
        interests: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        let body = notification.interests_body(interests)?;
        let call = PublishCall::Interests {
            interests: interests.iter().map(|s| (*s).to_owned()).collect(),
            notification: notification.clone(),
            body: to_value(&body),
        };
        Ok(self.record(call)?.expect("a publish yields a response"))
    }

    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        let body = notification.users_body(users)?;
        let call = PublishCall::Users {
            users: users.iter().map(|s| (*s).to_owned()).collect(),
            notification: notification.clone(),
            body: to_value(&body),
        };
        Ok(self.record(call)?.expect("a publish yields a response"))
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), PublishError> {
        UserId::validate(user_id).map_err(|source| ValidationError::InvalidUserId {
            user: user_id.to_owned(),
            source,
        })?;
        self.record(PublishCall::DeleteUser {
            user_id: user_id.to_owned(),
        })
        .map(drop)
    }
}
