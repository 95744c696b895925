//! [`BeamsClient`]: the reqwest implementation of [`Publisher`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use http::{Method, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tracing::Instrument;

use super::error::{NetworkErrorKind, PublishError, ValidationError};
use super::limit::{LocalRateLimiter, RateLimiter};
use super::notification::Notification;
use super::retry::{RetryPolicy, parse_retry_after};
use super::{PublishResponse, Publisher};
use crate::telemetry::{self, Operation, PublishOutcome, Stopwatch};
use crate::{Instance, UserId};

/// The `X-Pusher-Library` header's value.
pub(crate) const LIBRARY: &str = concat!("beams-rs ", env!("CARGO_PKG_VERSION"));

/// Longest response body read; the rest is dropped (answers are tiny JSON objects).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The default timeout of each attempt.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest connect timeout of the default HTTP client.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What `encodeURIComponent` leaves as it is: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Why a [`BeamsClient`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The HTTP client could not be created (e.g. the TLS backend failed to load).
    #[error("could not create the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    /// The secret key has characters an HTTP header cannot carry.
    #[error("the secret key cannot be sent in an HTTP header (control or non-ASCII characters)")]
    InvalidSecretKey,
    /// The retry policy is unusable.
    #[error("invalid retry policy: {0}")]
    InvalidRetryPolicy(&'static str),
    /// The per-request timeout is zero.
    #[error("the per-request timeout must not be zero")]
    ZeroTimeout,
    /// The endpoint is `https://` but this build has no TLS backend: enable the `rustls-tls`
    /// or `native-tls` feature.
    #[error(
        "the endpoint needs HTTPS but no TLS backend is built in: enable the `rustls-tls` or `native-tls` feature"
    )]
    NoTls,
}

/// Publishes through the Beams HTTP APIs, with the retries of its [`RetryPolicy`].
///
/// Each call runs in a `tracing` span (target `beams::publish`, name `beams.publish`) with
/// the fields `operation` (`publish_to_users`, `publish_to_interests`, `delete_user`),
/// `attempt` (the attempt in progress, from 1) and, once Beams has answered a publish,
/// `publish_id`: the id webhooks report, so a delivery report can be joined to its publish.
///
/// With the feature `metrics`, every HTTP request sent to Beams (each retry again) counts
/// once in `beams_publish_requests_total{operation, outcome}`, where `outcome` is `ok` (2xx),
/// `rate_limited` (429), `client_error` (any other status below 500, redirects included),
/// `server_error` (5xx) or `network` (no complete answer: connect error, timeout, connection
/// lost), and its time in `beams_publish_duration_seconds{operation}`. Each retry counts in
/// `beams_publish_retries_total{operation}`, and the wait for the [`RateLimiter`]'s slot in
/// `beams_rate_limiter_wait_seconds`. A call that sends nothing (a local validation error, a
/// rate limiter that failed) counts no request.
///
/// Cheap to clone (the connection pool is shared); build one per instance and keep it in
/// your application state, usually as an `Arc<dyn Publisher>` or a generic `P: Publisher`.
///
/// ```no_run
/// use beams_core::Instance;
/// use beams_core::publish::{BeamsClient, Notification, Publisher, WebNotification, WebPayload};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let instance = Instance::from_env()?;
/// let client = BeamsClient::new(&instance)?;
/// let notification = Notification::new()
///     .web(WebPayload::new().notification(WebNotification::new("Hi", "Your order shipped")));
/// let published = client.publish_to_users(&["alice"], &notification).await?;
/// println!("published {}", published.publish_id());
/// client.delete_user("bob").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct BeamsClient {
    http: reqwest::Client,
    instance_id: Box<str>,
    endpoint: Box<str>,
    authorization: HeaderValue,
    policy: RetryPolicy,
    timeout: Duration,
    limiter: Arc<dyn RateLimiter>,
}

impl fmt::Debug for BeamsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeamsClient")
            .field("instance_id", &self.instance_id)
            .field("endpoint", &self.endpoint)
            .field("secret_key", &"<redacted>")
            .field("retry_policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("rate_limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// Builder for [`BeamsClient`]: a custom `reqwest::Client`, retry policy and timeout.
///
/// ```
/// use beams_core::Instance;
/// use beams_core::publish::{BeamsClient, RetryPolicy};
/// use std::time::Duration;
///
/// let instance = Instance::builder("my-instance", "my-secret")
///     .endpoint("http://127.0.0.1:4000")
///     .build()?;
/// let client = BeamsClient::builder(&instance)
///     .retry_policy(RetryPolicy::default().with_max_attempts(5))
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// assert_eq!(client.timeout(), Duration::from_secs(3));
/// assert!(!format!("{client:?}").contains("my-secret"));
///
/// let refused = BeamsClient::builder(&instance)
///     .retry_policy(RetryPolicy::default().with_max_attempts(0))
///     .build();
/// assert!(refused.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct BeamsClientBuilder {
    instance: Instance,
    http: Option<reqwest::Client>,
    policy: RetryPolicy,
    timeout: Duration,
    limiter: Option<Arc<dyn RateLimiter>>,
}

impl BeamsClientBuilder {
    /// Uses this `reqwest::Client` (proxies, TLS roots, pool settings…). Its own timeouts
    /// apply too; [`timeout`](Self::timeout) is set on each request. Build
    /// it with `redirect(reqwest::redirect::Policy::none())`: Beams never redirects, and a
    /// client that follows redirects would re-send the user ids and the notification to
    /// whatever host a redirect names. (The default client follows none.)
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Replaces the retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Paces every request (and retry) through `limiter` (default:
    /// [`LocalRateLimiter::beams`], 90 per second in this process). Give every replica the
    /// same [`RedisRateLimiter`](super::RedisRateLimiter) (feature `redis-rate-limit`) to keep them
    /// together under Beams' 100 requests per second.
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The timeout of each attempt, from connecting to the end of the answer's body
    /// (default 10 s; zero is refused by [`build`](Self::build)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the options and builds the client.
    pub fn build(self) -> Result<BeamsClient, BuildError> {
        if self.policy.max_attempts() == 0 {
            return Err(BuildError::InvalidRetryPolicy(
                "max_attempts must be at least 1",
            ));
        }
        if self.timeout.is_zero() {
            return Err(BuildError::ZeroTimeout);
        }
        let mut authorization = HeaderValue::from_str(&format!(
            "Bearer {}",
            self.instance.secret_key().expose_secret()
        ))
        .map_err(|_| BuildError::InvalidSecretKey)?;
        authorization.set_sensitive(true);
        if self.instance.endpoint().starts_with("https://")
            && !cfg!(any(feature = "rustls-tls", feature = "native-tls"))
        {
            return Err(BuildError::NoTls);
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.timeout.min(MAX_CONNECT_TIMEOUT))
                // Beams never redirects: a 3xx is answered as an error, never followed.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(BuildError::Http)?,
        };
        Ok(BeamsClient {
            http,
            instance_id: self.instance.id().into(),
            endpoint: self.instance.endpoint().into(),
            authorization,
            policy: self.policy,
            timeout: self.timeout,
            limiter: self
                .limiter
                .unwrap_or_else(|| Arc::new(LocalRateLimiter::beams())),
        })
    }
}

/// Whether a request may be sent again after a failure that may have reached Beams.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Idempotent {
    Yes,
    No,
}

impl BeamsClient {
    /// A client for `instance` with the default HTTP client and [`RetryPolicy`].
    pub fn new(instance: &Instance) -> Result<Self, BuildError> {
        Self::builder(instance).build()
    }

    /// Starts a builder.
    pub fn builder(instance: &Instance) -> BeamsClientBuilder {
        BeamsClientBuilder {
            instance: instance.clone(),
            http: None,
            policy: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            limiter: None,
        }
    }

    /// The instance this client publishes to.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The base URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The timeout of each attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn publish(
        &self,
        operation: Operation,
        target: &'static str,
        body: Vec<u8>,
    ) -> Result<PublishResponse, PublishError> {
        let path = format!(
            "/publish_api/v1/instances/{}/publishes/{target}",
            self.instance_id
        );
        let span = request_span(operation);
        let (status, headers, body) = self
            .execute(
                operation,
                Method::POST,
                &path,
                Some(Bytes::from(body)),
                Idempotent::No,
            )
            .instrument(span.clone())
            .await?;
        let published = PublishResponse::from_http(status, &headers, &body)?;
        span.record("publish_id", published.publish_id());
        Ok(published)
    }

    /// Sends one request with retries; returns the first success (2xx) or the final error.
    /// Runs in the call's span, whose `attempt` it keeps current.
    async fn execute(
        &self,
        operation: Operation,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        idempotent: Idempotent,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), PublishError> {
        let url = format!("{}{path}", self.endpoint);
        let mut attempt = 1;
        loop {
            tracing::Span::current().record("attempt", attempt);
            let (error, retryable, retry_after) = match self
                .attempt(operation, &method, &url, body.clone())
                .await
            {
                Ok((status, headers, bytes)) => {
                    tracing::debug!(%method, path, status = status.as_u16(), attempt, "Beams API request");
                    if status.is_success() {
                        return Ok((status, headers, bytes));
                    }
                    let retry_after = headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (idempotent == Idempotent::Yes && status.is_server_error());
                    (
                        PublishError::from_status(status, retry_after, &bytes),
                        retryable,
                        retry_after,
                    )
                }
                Err(error) => {
                    // Debug: no text from the network reaches the log unescaped.
                    tracing::debug!(%method, path, attempt, ?error, "Beams API request failed");
                    let retryable = match &error {
                        PublishError::Network { kind, .. } if kind.nothing_sent() => true,
                        PublishError::Network { .. } | PublishError::Timeout { .. } => {
                            idempotent == Idempotent::Yes
                        }
                        _ => false,
                    };
                    (error, retryable, None)
                }
            };
            if !retryable || attempt >= self.policy.max_attempts() {
                return Err(error);
            }
            let wait = match retry_after {
                Some(wait) if wait > self.policy.max_delay() => return Err(error),
                Some(wait) => wait,
                None => self.policy.backoff(attempt),
            };
            tracing::debug!(%method, path, attempt, wait_ms = wait.as_millis() as u64, "retrying Beams API request");
            telemetry::publish_retry(operation);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: the answer's status, headers and (capped) body, or a transport error.
    /// Counts the request once it is sent (not when the rate limiter fails).
    async fn attempt(
        &self,
        operation: Operation,
        method: &Method,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), PublishError> {
        let waiting = Stopwatch::start();
        self.limiter
            .acquire()
            .await
            .map_err(PublishError::Limiter)?;
        telemetry::rate_limiter_waited(waiting);
        let sent = Stopwatch::start();
        let answer = self.send(method, url, body).await;
        let outcome = match &answer {
            Ok((status, _, _)) => PublishOutcome::of_status(*status),
            Err(_) => PublishOutcome::Network,
        };
        telemetry::publish_request(operation, outcome, sent);
        answer
    }

    /// Sends the request and reads the answer.
    async fn send(
        &self,
        method: &Method,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), PublishError> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .timeout(self.timeout)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
            .header("x-pusher-library", LIBRARY);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let mut response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            let room = MAX_RESPONSE_BYTES - bytes.len();
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if bytes.len() == MAX_RESPONSE_BYTES {
                break;
            }
        }
        Ok((status, headers, bytes))
    }

    fn transport_error(&self, error: reqwest::Error) -> PublishError {
        // A connect error (even a connect timeout) means nothing was sent.
        if error.is_connect() {
            PublishError::Network {
                kind: NetworkErrorKind::Connect,
                source: Box::new(error.without_url()),
            }
        } else if error.is_timeout() {
            PublishError::Timeout {
                timeout: self.timeout,
            }
        } else {
            PublishError::Network {
                kind: NetworkErrorKind::AfterConnect,
                source: Box::new(error.without_url()),
            }
        }
    }
}

#[async_trait]
impl Publisher for BeamsClient {
    async fn publish_to_interests(
        &self,
        interests: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        let body = notification.interests_body(interests)?;
        self.publish(Operation::PublishToInterests, "interests", body)
            .await
    }

    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        let body = notification.users_body(users)?;
        self.publish(Operation::PublishToUsers, "users", body).await
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), PublishError> {
        UserId::validate(user_id).map_err(|source| ValidationError::InvalidUserId {
            user: user_id.to_owned(),
            source,
        })?;
        let path = format!(
            "/customer_api/v1/instances/{}/users/{}",
            self.instance_id,
            utf8_percent_encode(user_id, URI_COMPONENT)
        );
        self.execute(
            Operation::DeleteUser,
            Method::DELETE,
            &path,
            None,
            Idempotent::Yes,
        )
        .instrument(request_span(Operation::DeleteUser))
        .await
        .map(drop)
    }
}

/// The span of one call to Beams: `operation`, then `attempt` and `publish_id` as they become
/// known.
fn request_span(operation: Operation) -> tracing::Span {
    tracing::info_span!(
        target: "beams::publish",
        "beams.publish",
        operation = operation.as_str(),
        attempt = tracing::field::Empty,
        publish_id = tracing::field::Empty,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        let enc = |s| utf8_percent_encode(s, URI_COMPONENT).to_string();
        assert_eq!(enc("john doe"), "john%20doe");
        assert_eq!(enc("a/b"), "a%2Fb");
        assert_eq!(enc("john+test@example.com"), "john%2Btest%40example.com");
        assert_eq!(enc("A-Z_a.z!~*'()09"), "A-Z_a.z!~*'()09");
        assert_eq!(enc("é?#%"), "%C3%A9%3F%23%25");
    }

    #[test]
    fn debug_hides_the_secret() {
        let instance = Instance::new("instance", "TOP-SECRET-VALUE").unwrap();
        let client = BeamsClient::new(&instance).unwrap();
        assert!(!format!("{client:?}").contains("TOP-SECRET"));
        assert!(!format!("{:?}", BeamsClient::builder(&instance)).contains("TOP-SECRET"));
        assert_eq!(LIBRARY, format!("beams-rs {}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn https_needs_a_tls_backend() {
        let https = Instance::new("instance", "s").unwrap();
        let http = Instance::builder("instance", "s")
            .endpoint("http://127.0.0.1:4000")
            .build()
            .unwrap();
        assert!(BeamsClient::new(&http).is_ok());
        let built = BeamsClient::new(&https);
        if cfg!(any(feature = "rustls-tls", feature = "native-tls")) {
            assert!(built.is_ok());
        } else {
            assert!(matches!(built, Err(BuildError::NoTls)));
        }
    }

    #[test]
    fn builder_checks() {
        let instance = Instance::new("instance", "s").unwrap();
        assert!(matches!(
            BeamsClient::builder(&instance)
                .timeout(Duration::ZERO)
                .build(),
            Err(BuildError::ZeroTimeout)
        ));
        let instance = Instance::new("instance", "bad\nsecret").unwrap();
        let err = BeamsClient::new(&instance).unwrap_err();
        assert!(matches!(err, BuildError::InvalidSecretKey));
        assert!(!err.to_string().contains("bad"));
    }
}
