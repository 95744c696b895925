//! [`BeamsWebhookLayer`]: the webhook receiver in front of any tower service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::BeamsBody;
use crate::webhook::{HandleWebhook, WebhookReceiver};

/// Layer that puts a [`BeamsWebhookService`] in front of a service: `POST` requests to the
/// receiver's path are verified and handed to `handler`; every other request goes on.
///
/// ```
/// use beams_core::tower::BeamsWebhookLayer;
/// use beams_core::webhook::{Webhook, WebhookReceiver};
/// use http::{Request, Response, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let receiver = WebhookReceiver::new("my-webhook-secret")?;
/// let app = ServiceBuilder::new()
///     .layer(BeamsWebhookLayer::new(receiver, |webhook: Webhook| async move {
///         println!("{} {}", webhook.metadata.event_type, webhook.metadata.event_id);
///     }))
///     .service(service_fn(|_req: Request<String>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(String::from("app")))
///     }));
///
/// // Unsigned: refused before the handler runs.
/// let req = Request::post("/pusher/beams-webhooks").body(String::from("{}"))?;
/// assert_eq!(app.oneshot(req).await?.status(), StatusCode::UNAUTHORIZED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct BeamsWebhookLayer<H> {
    receiver: WebhookReceiver,
    handler: H,
}

impl<H> BeamsWebhookLayer<H> {
    /// Answers `receiver.path()`, handing verified webhooks to `handler`.
    pub fn new(receiver: WebhookReceiver, handler: H) -> Self {
        Self { receiver, handler }
    }
}

impl<S, H: Clone> Layer<S> for BeamsWebhookLayer<H> {
    type Service = BeamsWebhookService<S, H>;

    fn layer(&self, inner: S) -> Self::Service {
        BeamsWebhookService {
            inner,
            receiver: self.receiver.clone(),
            handler: self.handler.clone(),
        }
    }
}

/// Answers the webhook path and forwards everything else to `S`.
#[derive(Clone, Debug)]
pub struct BeamsWebhookService<S, H> {
    inner: S,
    receiver: WebhookReceiver,
    handler: H,
}

type Boxed<B, E> = Pin<Box<dyn Future<Output = Result<Response<BeamsBody<B>>, E>> + Send>>;

pin_project! {
    /// The future of [`BeamsWebhookService`]: the inner service's, or the receiver's (boxed:
    /// it reads the body and runs the handler).
    pub struct BeamsWebhookFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = Proj]
    enum State<F, B, E> {
        Inner { #[pin] fut: F },
        Webhook { fut: Boxed<B, E> },
    }
}

impl<F, B, E> std::fmt::Debug for BeamsWebhookFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeamsWebhookFuture")
    }
}

impl<F, B, E> Future for BeamsWebhookFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<BeamsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            Proj::Inner { fut } => fut.poll(cx).map(|res| res.map(|r| r.map(BeamsBody::inner))),
            Proj::Webhook { fut } => fut.as_mut().poll(cx),
        }
    }
}

impl<S, H, ReqBody, ResBody> Service<Request<ReqBody>> for BeamsWebhookService<S, H>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Send + 'static,
    H: HandleWebhook + Clone + Send + Sync + 'static,
    H::Future: Send,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Send + 'static,
{
    type Response = Response<BeamsBody<ResBody>>;
    type Error = S::Error;
    type Future = BeamsWebhookFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.uri().path() != self.receiver.path() {
            return BeamsWebhookFuture {
                state: State::Inner {
                    fut: self.inner.call(req),
                },
            };
        }
        let receiver = self.receiver.clone();
        let handler = self.handler.clone();
        BeamsWebhookFuture {
            state: State::Webhook {
                fut: Box::pin(async move {
                    let response = receiver.receive_request(req, &handler).await;
                    Ok(response.map(BeamsBody::json))
                }),
            },
        }
    }
}
