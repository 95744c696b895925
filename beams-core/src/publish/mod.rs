//! The publish client: send notifications to interests and users, delete users.
//!
//! Host code depends on the [`Publisher`] trait; production uses [`BeamsClient`] (reqwest),
//! tests use the recording `FakePublisher` (feature `test-util`). Every call validates
//! locally first ([`ValidationError`]), so an invalid publish never reaches the network, and
//! [`FanOut`] publishes to any number of users in batches of 1000.
//!
//! ```no_run
//! use beams_core::Instance;
//! use beams_core::publish::{BeamsClient, FanOut, Notification, Publisher, WebNotification, WebPayload};
//! use std::sync::Arc;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let instance = Instance::from_env()?;
//! let publisher: Arc<dyn Publisher> = Arc::new(BeamsClient::new(&instance)?);
//!
//! let notification = Notification::new()
//!     .web(WebPayload::new().notification(WebNotification::new("Sale", "50% off today")));
//! let published = publisher.publish_to_interests(&["deals"], &notification).await?;
//! println!("publish id: {}", published.publish_id());
//!
//! let everyone: Vec<String> = (0..25_000).map(|i| format!("user-{i}")).collect();
//! let report = FanOut::new().publish_to_users(&*publisher, &everyone, &notification).await?;
//! for batch in report.failed_batches() {
//!     eprintln!("batch {} ({} users) failed: {:?}", batch.index, batch.users.len(), batch.result);
//! }
//! # Ok(())
//! # }
//! ```

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};
use std::sync::Arc;

mod client;
mod error;
#[cfg(feature = "test-util")]
mod fake;
mod fanout;
mod limit;
mod notification;
mod retry;
mod validate;

pub use client::{BeamsClient, BeamsClientBuilder, BuildError};
pub use error::{ApiError, BoxError, NetworkErrorKind, PublishError, ValidationError};
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub use fake::{FakePublisher, PublishCall};
pub use fanout::{BatchOutcome, FanOut, FanOutReport, InvalidUser};
#[cfg(feature = "redis-rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-rate-limit")))]
pub use limit::{InvalidRedisUrl, RedisRateLimiter};
pub use limit::{LocalRateLimiter, RateLimiter};
pub use notification::{
    ApnsAlert, ApnsPayload, ApnsPriority, Aps, FcmNotification, FcmPayload, FcmPriority,
    MAX_WEB_TIME_TO_LIVE, Notification, WebNotification, WebPayload,
};
pub use retry::RetryPolicy;
pub use validate::{
    MAX_INTEREST_LEN, MAX_INTERESTS, MAX_INTERESTS_BODY_BYTES, MAX_USERS, MAX_USERS_BODY_BYTES,
};

/// Publishes notifications and deletes users: what host handlers depend on.
///
/// Implemented by [`BeamsClient`] (and the test-only `FakePublisher`). Dyn-compatible:
/// store an `Arc<dyn Publisher>` in application state. Implementations validate before
/// sending, so every method may return [`PublishError::Validation`].
///
/// ```
/// use beams_core::publish::{Notification, PublishError, PublishResponse, Publisher};
///
/// // A handler generic over the publisher, so tests can pass a fake.
/// async fn notify_shipped(
///     publisher: &dyn Publisher,
///     user: &str,
/// ) -> Result<PublishResponse, PublishError> {
///     let n = Notification::new().apns_raw(serde_json::json!({"aps": {"alert": "Shipped"}}));
///     publisher.publish_to_users(&[user], &n).await
/// }
/// ```
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes to the devices subscribed to any of 1–100 interests.
    async fn publish_to_interests(
        &self,
        interests: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError>;

    /// Publishes to the devices of 1–1000 distinct users (see [`FanOut`] for more).
    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError>;

    /// Deletes a user and unlinks their devices (Customer API). Idempotent.
    async fn delete_user(&self, user_id: &str) -> Result<(), PublishError>;
}

macro_rules! forward_publisher {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<P: Publisher + ?Sized> Publisher for $ty {
            async fn publish_to_interests(
                &self,
                interests: &[&str],
                notification: &Notification,
            ) -> Result<PublishResponse, PublishError> {
                (**self).publish_to_interests(interests, notification).await
            }

            async fn publish_to_users(
                &self,
                users: &[&str],
                notification: &Notification,
            ) -> Result<PublishResponse, PublishError> {
                (**self).publish_to_users(users, notification).await
            }

            async fn delete_user(&self, user_id: &str) -> Result<(), PublishError> {
                (**self).delete_user(user_id).await
            }
        }
    )*};
}

forward_publisher!(&P, Box<P>, Arc<P>);

/// A successful publish: Beams' `{"publishId": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PublishResponse {
    #[serde(rename = "publishId")]
    publish_id: String,
}

impl PublishResponse {
    /// A response with this publish id (for fakes and tests).
    pub fn new(publish_id: impl Into<String>) -> Self {
        Self {
            publish_id: publish_id.into(),
        }
    }

    /// The id Beams gave the publish, e.g. `pubid-4c0c5bd0-…`.
    pub fn publish_id(&self) -> &str {
        &self.publish_id
    }

    /// Reads a publish answer as Beams sends it: any 2xx with `{"publishId": "…"}` is a
    /// success; other statuses become the matching [`PublishError`]. For custom transports.
    ///
    /// ```
    /// use beams_core::publish::{PublishError, PublishResponse};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let ok = PublishResponse::from_http(StatusCode::OK, &HeaderMap::new(), br#"{"publishId":"pubid-1"}"#)?;
    /// assert_eq!(ok.publish_id(), "pubid-1");
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("retry-after", "3".parse().unwrap());
    /// let err = PublishResponse::from_http(StatusCode::TOO_MANY_REQUESTS, &headers, b"").unwrap_err();
    /// assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(3)));
    /// # Ok::<(), PublishError>(())
    /// ```
    pub fn from_http(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self, PublishError> {
        if !status.is_success() {
            let retry_after = headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
            return Err(PublishError::from_status(status, retry_after, body));
        }
        serde_json::from_slice(body).map_err(|source| PublishError::Decode {
            status,
            snippet: error::snippet(&String::from_utf8_lossy(body)),
            source,
        })
    }
}
