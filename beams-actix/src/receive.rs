//! The webhook receiver: beams-core's [`WebhookReceiver`] as an actix-web [`Resource`].

use std::rc::Rc;

use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::{FromRequest, HttpRequest, Resource, web};
use beams_core::webhook::{HandleWebhook, WebhookReceiver};

use crate::response::into_actix;

/// The headers the receiver reads, copied from actix-web's `http` 0.2 map into beams-core's.
const WEBHOOK_HEADERS: [&str; 4] = [
    "webhook-signature",
    "webhook-id-uuid",
    "webhook-request-id-uuid",
    "webhook-event-type",
];

/// The webhook receiver as a [`Resource`] at [`WebhookReceiver::path`] (default
/// `/pusher/beams-webhooks`), for `App::service` or `Scope::service`. Verified webhooks go
/// to `handler`, whose future need not be `Send`; see [`beams_core::webhook`] for what is
/// answered when.
///
/// ```
/// use actix_web::{App, test};
/// use beams_actix::webhook::{Webhook, WebhookReceiver};
///
/// # actix_web::rt::System::new().block_on(async {
/// // Usually the secret comes from the environment (e.g. BEAMS_WEBHOOK_SECRET).
/// let receiver = WebhookReceiver::new("my-webhook-secret").expect("a non-empty secret");
/// let app = test::init_service(App::new().service(beams_actix::webhook_resource(
///     receiver,
///     |webhook: Webhook| async move {
///         // Record it and return at once: Beams wants an answer within 3 seconds, and
///         // retries (same event_id) when it gets none.
///         println!("{:?}", webhook.event);
///     },
/// )))
/// .await;
///
/// // Not signed: refused before the handler runs.
/// let req = test::TestRequest::post().uri("/pusher/beams-webhooks").set_payload("{}").to_request();
/// assert_eq!(test::call_service(&app, req).await.status().as_u16(), 401);
/// # });
/// ```
#[must_use = "the receiver is served only once the Resource is registered with `.service(..)`"]
pub fn webhook_resource<H>(receiver: WebhookReceiver, handler: H) -> Resource
where
    H: HandleWebhook + 'static,
{
    let path = receiver.path().to_owned();
    let state = Rc::new((receiver, handler));
    Resource::new(path).route(web::route().service(fn_service(move |req: ServiceRequest| {
        let state = Rc::clone(&state);
        async move {
            let (req, payload) = req.into_parts();
            let response = receive(&state.0, &state.1, &req, payload).await;
            Ok::<_, std::convert::Infallible>(ServiceResponse::new(req, into_actix(response)))
        }
    })))
}

async fn receive<H: HandleWebhook>(
    receiver: &WebhookReceiver,
    handler: &H,
    req: &HttpRequest,
    mut payload: actix_web::dev::Payload,
) -> http::Response<String> {
    let length = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let method =
        http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or(http::Method::GET);
    if let Err(rejection) = receiver.check_head(&method, length) {
        return rejection.to_response();
    }
    let Ok(payload) = <web::Payload as FromRequest>::from_request(req, &mut payload).await else {
        return receiver.answer_unreadable();
    };
    // The outer error is the limit, the inner one the connection.
    let body = match payload.to_bytes_limited(receiver.body_limit()).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return receiver.answer_unreadable(),
        Err(_) => return receiver.answer_too_large(),
    };
    let mut headers = http::HeaderMap::new();
    for name in WEBHOOK_HEADERS {
        if let Some(value) = req.headers().get(name)
            && let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes())
        {
            headers.insert(name, value);
        }
    }
    receiver.receive(&headers, &body, handler).await
}
