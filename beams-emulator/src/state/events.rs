//! Reporting events and webhook attempts, as received and made.

use serde_json::Value;

use super::{EmulatorState, RECORD_OVERHEAD};
use crate::limits::value_bytes;
use crate::model::{ReportedEvent, WebhookAttempt, now_ms};

impl EmulatorState {
    /// The reporting events received, oldest first.
    pub fn reported_events(&self) -> Vec<ReportedEvent> {
        self.inner().events.iter().cloned().collect()
    }

    /// Every attempt at delivering a webhook, oldest first.
    pub fn webhook_attempts(&self) -> Vec<WebhookAttempt> {
        self.inner().webhook_attempts.iter().cloned().collect()
    }

    /// The webhook events pending and dropped (see [`Limits`](crate::Limits)'
    /// `max_pending_webhooks`, `max_pending_webhook_bytes` and `max_webhook_connections`).
    pub fn webhook_stats(&self) -> crate::WebhookStats {
        self.shared.webhooks.stats()
    }

    pub(crate) fn record_webhook_attempt(&self, attempt: WebhookAttempt, bytes: usize) {
        self.inner().webhook_attempts.push(attempt, bytes);
    }

    /// Records a reporting event.
    pub(crate) fn record_event(&self, body: Value) {
        let bytes = value_bytes(&body) + RECORD_OVERHEAD;
        let event = ReportedEvent {
            body,
            received_at_ms: now_ms(),
        };
        self.inner().events.push(event, bytes);
    }
}
