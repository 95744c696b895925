//! The webhook receiver: beams-core's [`WebhookReceiver`] mounted into a `Router<S>`.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use beams_core::webhook::{HandleWebhook, WebhookReceiver};
use std::future::Future;
use std::pin::Pin;

/// A router with the webhook receiver at [`WebhookReceiver::path`] (default
/// `/pusher/beams-webhooks`), to [`merge`](Router::merge) into the host's router. Verified
/// webhooks go to `handler`; see [`beams_core::webhook`] for what is answered when.
///
/// # Panics
///
/// Like [`router`](crate::router): [`Router::merge`] panics if the host already has a route
/// at the same path.
///
/// # Example
///
/// ```
/// use axum::Router;
/// use beams_axum::webhook::{Webhook, WebhookEvent, WebhookReceiver};
///
/// // Usually the secret comes from the environment (e.g. BEAMS_WEBHOOK_SECRET).
/// let receiver = WebhookReceiver::new("my-webhook-secret")?;
/// let app: Router = Router::new().merge(beams_axum::webhook_router(
///     receiver,
///     |webhook: Webhook| async move {
///         // Record it and return at once: Beams wants an answer within 3 seconds,
///         // and retries (same event_id) when it gets none.
///         if let WebhookEvent::PublishToUsersAttempt(attempt) = webhook.event {
///             println!("{}: no devices for {:?}", attempt.publish_id, attempt.users_no_devices);
///         }
///     },
/// ));
/// # let _ = app;
/// # Ok::<(), beams_axum::ConfigError>(())
/// ```
pub fn webhook_router<S, H>(receiver: WebhookReceiver, handler: H) -> Router<S>
where
    H: HandleWebhook + Clone + Send + Sync + 'static,
    H::Future: Send,
    S: Clone + Send + Sync + 'static,
{
    let path = receiver.path().to_owned();
    Router::new().route(&path, webhook_method_router(receiver, handler))
}

/// The webhook receiver as a [`MethodRouter`], for a path of your choice with
/// [`Router::route`] (the path set with `WebhookReceiverBuilder::path` is not used here). It
/// answers every method: `POST` is received, all others get a JSON `405` with `Allow: POST`.
///
/// ```
/// use axum::Router;
/// use beams_axum::webhook::{Webhook, WebhookReceiver};
///
/// let receiver = WebhookReceiver::new("my-webhook-secret").expect("a non-empty secret");
/// let app: Router = Router::new().route(
///     "/hooks/beams",
///     beams_axum::webhook_method_router(receiver, |webhook: Webhook| async move {
///         println!("{:?}", webhook.event);
///     }),
/// );
/// # let _ = app;
/// ```
pub fn webhook_method_router<S, H>(receiver: WebhookReceiver, handler: H) -> MethodRouter<S>
where
    H: HandleWebhook + Clone + Send + Sync + 'static,
    H::Future: Send,
    S: Clone + Send + Sync + 'static,
{
    any(WebhookHandler { receiver, handler })
}

#[derive(Clone)]
struct WebhookHandler<H> {
    receiver: WebhookReceiver,
    handler: H,
}

impl<S, H> Handler<((),), S> for WebhookHandler<H>
where
    H: HandleWebhook + Clone + Send + Sync + 'static,
    H::Future: Send,
    S: Clone + Send + Sync + 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, req: Request, _state: S) -> Self::Future {
        Box::pin(async move {
            self.receiver
                .receive_request(req, &self.handler)
                .await
                .into_response()
        })
    }
}
