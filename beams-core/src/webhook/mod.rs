//! Receiving Beams' webhooks: verified delivery reports for every publish.
//!
//! Beams reports what happened to a publish by calling a URL of yours (configured per
//! instance in the Beams dashboard, with a secret):
//!
//! - `v1.PublishToUsersAttempt` — per publish to users: which users' devices the push gateway
//!   accepted it for, which users have **no devices**, and which failed at the gateway;
//! - `v1.UserNotificationAcknowledgement` — a device of the user received the notification;
//! - `v1.UserNotificationOpen` — the user opened it.
//!
//! [`WebhookReceiver`] decides everything about such a request, framework-neutral, like
//! [`BeamsAuth`](crate::BeamsAuth) does for the auth route: the `Webhook-Signature` (hex
//! HMAC-SHA1 of the raw body, checked in constant time against each configured secret)
//! **before** the body is parsed, then the envelope, then the answer. The adapters mount it
//! with one line (`beams_axum::webhook_router`, `beams_actix::webhook_resource`, and
//! `tower::BeamsWebhookLayer` for tower) and call your handler
//! with a typed [`Webhook`].
//!
//! | request | answer |
//! |---|---|
//! | not `POST` | `405` with `Allow: POST` |
//! | body over the limit (default 1 MiB) | `413` |
//! | `Webhook-Signature` missing, not hex, or matching no secret | `401`; the handler is not called |
//! | signed, but not a webhook envelope | `400` |
//! | your handler fails | `500`, so Beams retries |
//! | otherwise | `200` |
//!
//! Every answer is JSON (`{"error","description"}` for errors) with `Cache-Control: no-store`.
//!
//! # Answer quickly, and expect each event more than once
//!
//! Beams wants a `2xx` within **three seconds**; anything else, or a slower answer, is retried
//! after 10 s, then 30 s, 120 s and 300 s, with the same `Webhook-Request-ID-UUID` and
//! `event_id`. So a handler should only record the event (a queue, a table) and return;
//! process it later, and de-duplicate on [`WebhookMetadata::event_id`]. Nothing in the
//! request is signed but the body, and nothing there prevents a replay: the `event_id` is the
//! defence.
//!
//! ```
//! use beams_core::webhook::{Webhook, WebhookEvent, WebhookReceiver};
//! use http::{HeaderMap, Method};
//! # use hmac::{Hmac, Mac};
//!
//! let receiver = WebhookReceiver::new("my-webhook-secret")?;
//! let body = br#"{"payload":{"instance_id":"i","publish_id":"pubid-1","users_delivered_to_gateway":["alice"],"users_no_devices":["bob"],"users_gateway_failed":[]},"metadata":{"created_at":"2019-03-11T10:42:16+0000","event_type":"v1.PublishToUsersAttempt","event_id":"ev-1","product":"beams"},"custom_data":{}}"#;
//! # let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"my-webhook-secret").unwrap();
//! # mac.update(body);
//! # let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
//! let mut headers = HeaderMap::new();
//! headers.insert("webhook-signature", signature.parse().unwrap());
//!
//! receiver.check_head(&Method::POST, Some(body.len() as u64)).unwrap();
//! let webhook = receiver.verify(&headers, body).unwrap();
//! assert_eq!(webhook.metadata.event_id, "ev-1");
//! let WebhookEvent::PublishToUsersAttempt(attempt) = &webhook.event else { unreachable!() };
//! assert_eq!(attempt.users_no_devices, ["bob"]);
//!
//! // Anything not signed with the secret is refused before it is parsed.
//! let refused = receiver.verify(&HeaderMap::new(), body).unwrap_err();
//! assert_eq!(refused.status(), 401);
//! # Ok::<(), beams_core::ConfigError>(())
//! ```

mod event;
mod handle;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Response, StatusCode};
use sha1::Sha1;
use tracing::Instrument;

pub use event::{PublishToUsersAttempt, UserNotification, Webhook, WebhookEvent, WebhookMetadata};
pub use handle::{HandleWebhook, IntoWebhookResult};

use crate::ConfigError;
use crate::instance::redacted_secret;
use crate::telemetry::{self, WebhookEventKind, WebhookOutcome};

/// A webhook's secret, shown once in the Beams dashboard when the webhook is created (not
/// the instance's secret key). Its `Debug` and `Display` never show it.
///
/// ```
/// use beams_core::webhook::WebhookSecret;
/// let secret = WebhookSecret::new("whsec-1234");
/// assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
/// assert_eq!(secret.expose_secret(), "whsec-1234");
/// ```
#[derive(Clone)]
pub struct WebhookSecret(Box<str>);

redacted_secret!(WebhookSecret);

/// Why a webhook request was refused. Each is answered with Beams' error shape.
///
/// ```
/// use beams_core::webhook::WebhookRejection;
///
/// let r = WebhookRejection::BadSignature;
/// assert_eq!(r.status(), 401);
/// assert_eq!(r.kind(), "bad_signature");
/// let res = r.to_response();
/// assert_eq!(res.headers()["cache-control"], "no-store");
/// assert!(res.body().contains("does not match"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The method is not `POST`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the receiver's limit.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// There is no `Webhook-Signature` header, or it is empty.
    #[error("the Webhook-Signature header is missing")]
    MissingSignature,
    /// The signature is not hex, or matches none of the secrets.
    #[error("the Webhook-Signature does not match the body")]
    BadSignature,
    /// The body is signed but is not a webhook envelope (`payload`, `metadata` with
    /// `event_type` and `event_id`), or a known event's payload lacks a field.
    #[error("the body is not a Beams webhook: {0}")]
    NotAWebhook(String),
    /// The body could not be read (the connection broke off while it was sent).
    #[error("the body could not be read")]
    BodyUnreadable,
}

impl WebhookRejection {
    /// The HTTP status: 405, 413, 401 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MissingSignature | Self::BadSignature => StatusCode::UNAUTHORIZED,
            Self::NotAWebhook(_) | Self::BodyUnreadable => StatusCode::BAD_REQUEST,
        }
    }

    /// A short, stable name of the rejection for logs and metrics (`"bad_signature"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TooLarge { .. } => "too_large",
            Self::MissingSignature => "missing_signature",
            Self::BadSignature => "bad_signature",
            Self::NotAWebhook(_) => "not_a_webhook",
            Self::BodyUnreadable => "body_unreadable",
        }
    }

    /// The `outcome` label this rejection is counted under.
    fn outcome(&self) -> WebhookOutcome {
        match self {
            Self::MethodNotAllowed => WebhookOutcome::MethodNotAllowed,
            Self::TooLarge { .. } => WebhookOutcome::TooLarge,
            Self::MissingSignature | Self::BadSignature => WebhookOutcome::BadSignature,
            Self::NotAWebhook(_) | Self::BodyUnreadable => WebhookOutcome::BadRequest,
        }
    }

    /// The sentence of the JSON body's `description`.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Self::MethodNotAllowed => "Beams webhooks are POST requests.".into(),
            Self::TooLarge { limit } => {
                format!("The webhook body is larger than {limit} bytes.").into()
            }
            Self::MissingSignature => "The Webhook-Signature header is required.".into(),
            Self::BadSignature => {
                "The Webhook-Signature does not match the body for any configured secret.".into()
            }
            Self::NotAWebhook(why) => format!("The body is not a Beams webhook: {why}.").into(),
            Self::BodyUnreadable => "The body could not be read.".into(),
        }
    }

    /// The JSON body: `{"error":"<reason phrase>","description":"<sentence>"}`.
    pub fn body_text(&self) -> String {
        error_json(self.status(), &self.description())
    }

    /// The complete response: status, JSON body, `Cache-Control: no-store`, and
    /// `Allow: POST` on a 405.
    pub fn to_response(&self) -> Response<String> {
        let mut res = json_response(self.status(), self.body_text());
        if *self == Self::MethodNotAllowed {
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
        }
        res
    }
}

/// Receives Beams' webhooks: verifies, types and answers them. Cheap to clone (an `Arc`).
///
/// Build it with the webhook's secret (several with [`builder`](Self::builder), for
/// several dashboard webhooks or a rotation). A receiver cannot exist without a secret:
/// webhooks are verified before anything reads them.
///
/// The adapters run it in two steps: [`check_head`](Self::check_head) (the method and the
/// declared length) before reading at most [`body_limit`](Self::body_limit) bytes of body,
/// then [`receive`](Self::receive) on that body: [`verify`](Self::verify), the host's handler,
/// and the answer. [`receive_request`](Self::receive_request) runs both for an
/// `http::Request`.
///
/// The host's handler runs inside a `tracing` span (target `beams::webhook`, name
/// `beams.webhook`) with the fields `event_type`, `event_id` and, for the events that have
/// one, `publish_id`: the id `publish_to_users` returned (the publish client's span records
/// it too), so a delivery report joins its publish.
///
/// With the feature `metrics`, each request is counted once in
/// `beams_webhook_requests_total{outcome}`, by the step that decides its answer:
/// [`check_head`](Self::check_head) (`method_not_allowed`, `too_large`),
/// [`answer_too_large`](Self::answer_too_large) (`too_large`), [`answer_unreadable`](Self::answer_unreadable)
/// (`bad_request`) and [`receive`](Self::receive) (`accepted`, `bad_signature` for a missing
/// or wrong signature, `bad_request` for a signed body that is not a webhook,
/// `handler_error`). `receive` also counts each verified event in
/// `beams_webhook_events_total{event}` (`publish_to_users_attempt`,
/// `user_notification_acknowledgement`, `user_notification_open`, `other`), before the
/// handler runs; a retried event counts again. [`verify`](Self::verify) alone counts nothing.
#[derive(Clone)]
pub struct WebhookReceiver {
    inner: Arc<Inner>,
}

struct Inner {
    path: Box<str>,
    keys: Vec<Hmac<Sha1>>,
    body_limit: usize,
}

impl fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("path", &self.inner.path)
            .field("secrets", &self.inner.keys.len())
            .field("body_limit", &self.inner.body_limit)
            .finish()
    }
}

impl WebhookReceiver {
    /// The default path: `/pusher/beams-webhooks`.
    pub const DEFAULT_PATH: &str = "/pusher/beams-webhooks";
    /// The default body limit: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

    /// A receiver for one secret, at [`DEFAULT_PATH`](Self::DEFAULT_PATH); an empty secret is
    /// [`ConfigError::EmptyWebhookSecret`]. [`builder`](Self::builder) sets more.
    pub fn new(secret: impl Into<WebhookSecret>) -> Result<Self, ConfigError> {
        Self::builder(secret).build()
    }

    /// Starts a builder with the first secret.
    pub fn builder(secret: impl Into<WebhookSecret>) -> WebhookReceiverBuilder {
        WebhookReceiverBuilder {
            secrets: vec![secret.into()],
            path: Self::DEFAULT_PATH.to_owned(),
            body_limit: Self::DEFAULT_BODY_LIMIT,
        }
    }

    /// The path the receiver is mounted at by the adapters' one-line mounts.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The largest body read, in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Phase 1, before reading the body: the method must be `POST`, and a declared
    /// `Content-Length` must be within the limit. A rejection is the request's answer, and
    /// (feature `metrics`) is counted here.
    ///
    /// ```
    /// use beams_core::webhook::{WebhookReceiver, WebhookRejection};
    /// use http::Method;
    ///
    /// let receiver = WebhookReceiver::builder("my-webhook-secret").body_limit(1024).build()?;
    /// assert!(receiver.check_head(&Method::POST, Some(100)).is_ok());
    /// assert_eq!(receiver.check_head(&Method::GET, None), Err(WebhookRejection::MethodNotAllowed));
    /// assert_eq!(receiver.check_head(&Method::POST, Some(2048)).unwrap_err().status(), 413);
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn check_head(
        &self,
        method: &Method,
        content_length: Option<u64>,
    ) -> Result<(), WebhookRejection> {
        if method != Method::POST {
            Err(reject(WebhookRejection::MethodNotAllowed))
        } else if content_length.is_some_and(|len| len > self.inner.body_limit as u64) {
            Err(reject(self.too_large_rejection()))
        } else {
            Ok(())
        }
    }

    /// For adapters that read the body themselves: the `413` for a body that turned out
    /// longer than [`body_limit`](Self::body_limit) while it was read. With the feature
    /// `metrics` it counts the request as `too_large`, so answer with it once.
    pub fn answer_too_large(&self) -> Response<String> {
        reject(self.too_large_rejection()).to_response()
    }

    /// For adapters that read the body themselves: the `400` for a body that could not be
    /// read (the connection broke off). With the feature `metrics` it counts the request as
    /// `bad_request`, so answer with it once.
    pub fn answer_unreadable(&self) -> Response<String> {
        reject(WebhookRejection::BodyUnreadable).to_response()
    }

    fn too_large_rejection(&self) -> WebhookRejection {
        WebhookRejection::TooLarge {
            limit: self.inner.body_limit,
        }
    }

    /// Phase 2, on the raw body: the signature first (nothing is parsed unless it matches a
    /// secret), then the envelope and the event. It counts nothing: [`receive`](Self::receive)
    /// runs it and counts the request.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Webhook, WebhookRejection> {
        self.check_signature(headers, body)
            .and_then(|()| event::parse(headers, body))
            .inspect_err(log_rejection)
            .inspect(|webhook| {
                tracing::debug!(
                    target: "beams::webhook",
                    outcome = "verified",
                    event_type = webhook.metadata.event_type.as_str(),
                    event_id = webhook.metadata.event_id.as_str(),
                );
            })
    }

    fn check_signature(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), WebhookRejection> {
        let signature = headers
            .get("webhook-signature")
            .map(|v| v.as_bytes().trim_ascii())
            .filter(|v| !v.is_empty())
            .ok_or(WebhookRejection::MissingSignature)?;
        // Either hex case; an HMAC-SHA1 is 20 bytes.
        let signature = hex::decode(signature).map_err(|_| WebhookRejection::BadSignature)?;
        let matches = self.inner.keys.iter().any(|key| {
            let mut mac = key.clone();
            mac.update(body);
            // Constant time.
            mac.verify_slice(&signature).is_ok()
        });
        if matches {
            Ok(())
        } else {
            Err(WebhookRejection::BadSignature)
        }
    }

    /// Phase 2 on the raw body: [`verify`](Self::verify) it, hand the webhook to `handler`
    /// (inside the span with `event_id` and `publish_id`), and answer `200` when the handler
    /// took the event, or `500` (logged at warn, the error escaped) when it failed, so that
    /// Beams retries. A rejection is answered without calling the handler. With the feature
    /// `metrics` it counts the request and the verified event.
    pub async fn receive<H: HandleWebhook + ?Sized>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        handler: &H,
    ) -> Response<String> {
        let webhook = match self.verify(headers, body) {
            Ok(webhook) => webhook,
            Err(rejection) => {
                telemetry::webhook_answered(rejection.outcome());
                return rejection.to_response();
            }
        };
        telemetry::webhook_event(event_kind(&webhook.event));
        let span = handler_span(&webhook);
        let metadata = webhook.metadata.clone();
        let handled = {
            // The handler's own code before its first await runs in the span too.
            let future = span.in_scope(|| handler.handle(webhook));
            future.instrument(span.clone()).await.into_webhook_result()
        };
        let _entered = span.enter();
        let (outcome, response) = respond(&metadata, handled);
        telemetry::webhook_answered(outcome);
        response
    }

    /// The whole exchange for an `http::Request` with any [`http_body::Body`] (hyper's,
    /// axum's, a tower stack's): [`check_head`](Self::check_head) on the method and the
    /// declared `Content-Length`, the body read up to [`body_limit`](Self::body_limit) (`413`
    /// past it, `400` if it breaks off), then [`receive`](Self::receive).
    ///
    /// ```
    /// use beams_core::webhook::{Webhook, WebhookReceiver};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let receiver = WebhookReceiver::new("my-webhook-secret")?;
    /// let handler = |webhook: Webhook| async move { println!("{:?}", webhook.event) };
    /// let unsigned = http::Request::post("/pusher/beams-webhooks").body(String::from("{}"))?;
    /// assert_eq!(receiver.receive_request(unsigned, &handler).await.status(), 401);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn receive_request<B, H>(
        &self,
        request: http::Request<B>,
        handler: &H,
    ) -> Response<String>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        H: HandleWebhook + ?Sized,
    {
        use http_body_util::{BodyExt, LengthLimitError, Limited};

        let length = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        // Each early answer is counted by the step that makes it (`check_head`,
        // `answer_too_large`, `answer_unreadable`); `receive` counts the rest.
        if let Err(rejection) = self.check_head(request.method(), length) {
            return rejection.to_response();
        }
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, self.body_limit()).collect().await {
            Ok(collected) => collected.to_bytes(),
            // Ours or a limit of the host's (a body-limit layer whose error the framework
            // wraps): a body too large either way.
            Err(error)
                if std::iter::successors(
                    Some(&*error as &(dyn std::error::Error + 'static)),
                    |e| e.source(),
                )
                .any(|e| e.is::<LengthLimitError>()) =>
            {
                return self.answer_too_large();
            }
            Err(_) => return self.answer_unreadable(),
        };
        self.receive(&parts.headers, &body, handler).await
    }
}

/// The span the host's handler runs in; its fields come from the verified (signed) body.
fn handler_span(webhook: &Webhook) -> tracing::Span {
    let span = tracing::info_span!(
        target: "beams::webhook",
        "beams.webhook",
        event_type = webhook.metadata.event_type.as_str(),
        event_id = webhook.metadata.event_id.as_str(),
        publish_id = tracing::field::Empty,
    );
    let publish_id = match &webhook.event {
        WebhookEvent::PublishToUsersAttempt(attempt) => Some(attempt.publish_id.as_str()),
        WebhookEvent::UserNotificationAcknowledgement(n)
        | WebhookEvent::UserNotificationOpen(n) => Some(n.publish_id.as_str()),
        WebhookEvent::Other { .. } => None,
    };
    if let Some(publish_id) = publish_id {
        span.record("publish_id", publish_id);
    }
    span
}

/// The `event` label of a verified event.
fn event_kind(event: &WebhookEvent) -> WebhookEventKind {
    match event {
        WebhookEvent::PublishToUsersAttempt(_) => WebhookEventKind::PublishToUsersAttempt,
        WebhookEvent::UserNotificationAcknowledgement(_) => {
            WebhookEventKind::UserNotificationAcknowledgement
        }
        WebhookEvent::UserNotificationOpen(_) => WebhookEventKind::UserNotificationOpen,
        WebhookEvent::Other { .. } => WebhookEventKind::Other,
    }
}

/// The answer once the host's handler has run, and its outcome.
fn respond(
    metadata: &WebhookMetadata,
    handled: Result<(), String>,
) -> (WebhookOutcome, Response<String>) {
    let response = match handled {
        Ok(()) => {
            tracing::debug!(target: "beams::webhook", outcome = "handled", event_id = metadata.event_id.as_str());
            return (
                WebhookOutcome::Accepted,
                json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()),
            );
        }
        Err(error) => {
            tracing::warn!(
                target: "beams::webhook",
                outcome = "handler_failed",
                event_type = metadata.event_type.as_str(),
                event_id = metadata.event_id.as_str(),
                ?error,
                "the webhook handler failed; answering 500 so that Beams retries"
            );
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The webhook could not be processed; Beams will retry.",
            )
        }
    };
    (WebhookOutcome::HandlerError, response)
}

/// A request answered with `rejection`: logged and counted.
fn reject(rejection: WebhookRejection) -> WebhookRejection {
    log_rejection(&rejection);
    telemetry::webhook_answered(rejection.outcome());
    rejection
}

fn log_rejection(rejection: &WebhookRejection) {
    tracing::debug!(target: "beams::webhook", outcome = "rejected", status = rejection.status().as_u16(), reason = %rejection);
}

fn json_response(status: StatusCode, body: String) -> Response<String> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn error_response(status: StatusCode, description: &str) -> Response<String> {
    json_response(status, error_json(status, description))
}

/// Beams' error shape, `{"error":"<reason phrase>","description":"<sentence>"}`, escaped.
fn error_json(status: StatusCode, description: &str) -> String {
    serde_json::json!({
        "error": status.canonical_reason().unwrap_or("Error"),
        "description": description,
    })
    .to_string()
}

/// Builder for [`WebhookReceiver`].
#[derive(Clone)]
#[must_use]
pub struct WebhookReceiverBuilder {
    secrets: Vec<WebhookSecret>,
    path: String,
    body_limit: usize,
}

impl fmt::Debug for WebhookReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiverBuilder")
            .field("secrets", &self.secrets.len())
            .field("path", &self.path)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl WebhookReceiverBuilder {
    /// Also accepts webhooks signed with `secret` (another dashboard webhook, or the next
    /// secret during a rotation).
    pub fn secret(mut self, secret: impl Into<WebhookSecret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// The path (default `/pusher/beams-webhooks`): starts with `/`, no `?`, `#` or
    /// whitespace.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The largest body read (default 1 MiB); larger ones get a `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Validates and builds the receiver.
    ///
    /// ```
    /// use beams_core::webhook::WebhookReceiver;
    ///
    /// let receiver = WebhookReceiver::builder("current-secret")
    ///     .secret("previous-secret")
    ///     .path("/hooks/beams")
    ///     .build()?;
    /// assert_eq!(receiver.path(), "/hooks/beams");
    /// assert!(!format!("{receiver:?}").contains("secret\""));
    /// assert!(WebhookReceiver::builder("").build().is_err());
    /// # Ok::<(), beams_core::ConfigError>(())
    /// ```
    pub fn build(self) -> Result<WebhookReceiver, ConfigError> {
        if self.secrets.iter().any(|s| s.expose_secret().is_empty()) {
            return Err(ConfigError::EmptyWebhookSecret);
        }
        if !crate::auth::valid_path(&self.path) {
            return Err(ConfigError::InvalidPath(self.path));
        }
        let keys = self
            .secrets
            .iter()
            .map(|s| {
                Hmac::<Sha1>::new_from_slice(s.expose_secret().as_bytes())
                    .expect("HMAC accepts any key length")
            })
            .collect();
        Ok(WebhookReceiver {
            inner: Arc::new(Inner {
                path: self.path.into_boxed_str(),
                keys,
                body_limit: self.body_limit,
            }),
        })
    }
}

#[cfg(test)]
mod tests;
