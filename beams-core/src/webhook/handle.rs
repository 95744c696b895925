//! The host's webhook handler.

use std::fmt;
use std::future::Future;

use super::Webhook;

/// What a webhook handler returns: `()` (it took the event) or a `Result` whose error means
/// it could not, so that the receiver answers `500` and Beams retries.
pub trait IntoWebhookResult {
    /// `Ok` when the event was taken, else the error's text for the log.
    fn into_webhook_result(self) -> Result<(), String>;
}

impl IntoWebhookResult for () {
    fn into_webhook_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> IntoWebhookResult for Result<(), E> {
    fn into_webhook_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// The host's handler of verified webhooks. Any `Fn(Webhook) -> impl Future` closure whose
/// output is `()` or `Result<(), E: Display>` implements it. Keep it quick (Beams wants an
/// answer within three seconds) and idempotent on the event id (Beams retries).
///
/// ```
/// use beams_core::webhook::{HandleWebhook, Webhook, WebhookEvent};
///
/// let handler = |webhook: Webhook| async move {
///     if let WebhookEvent::PublishToUsersAttempt(attempt) = webhook.event {
///         for user in attempt.users_no_devices {
///             println!("{user} has no devices for {}", attempt.publish_id);
///         }
///     }
/// };
/// # fn is_handler(_: impl HandleWebhook) {}
/// # is_handler(handler);
/// ```
pub trait HandleWebhook {
    /// What the handler returns.
    type Output: IntoWebhookResult;
    /// The future returned by [`handle`](Self::handle).
    type Future: Future<Output = Self::Output>;

    /// Takes one verified webhook.
    fn handle(&self, webhook: Webhook) -> Self::Future;
}

impl<F, Fut> HandleWebhook for F
where
    F: Fn(Webhook) -> Fut,
    Fut: Future,
    Fut::Output: IntoWebhookResult,
{
    type Output = Fut::Output;
    type Future = Fut;

    fn handle(&self, webhook: Webhook) -> Fut {
        self(webhook)
    }
}
