//! [`DeliveryReports`]: what Beams' webhooks said about each publish, for the demo page.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use beams_core::webhook::{Webhook, WebhookEvent};

/// The most publishes remembered; the oldest are forgotten first.
const CAPACITY: usize = 10_000;

/// What is known about one user's part in one publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// From `v1.PublishToUsersAttempt`: `"delivered"`, `"no_devices"` or `"failed"`.
    pub attempt: Option<&'static str>,
    /// A `v1.UserNotificationAcknowledgement` arrived.
    pub acknowledged: bool,
    /// A `v1.UserNotificationOpen` arrived.
    pub opened: bool,
}

/// What the webhooks reported, per publish and user; bounded, oldest publishes out first.
/// Recording is idempotent, so Beams' retries of an event change nothing.
#[derive(Debug, Clone, Default)]
pub struct DeliveryReports {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    by_publish: HashMap<String, HashMap<String, DeliveryReport>>,
    order: VecDeque<String>,
}

impl DeliveryReports {
    /// Records what `webhook` says.
    pub fn record(&self, webhook: &Webhook) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match &webhook.event {
            WebhookEvent::PublishToUsersAttempt(attempt) => {
                for (users, outcome) in [
                    (&attempt.users_delivered_to_gateway, "delivered"),
                    (&attempt.users_no_devices, "no_devices"),
                    (&attempt.users_gateway_failed, "failed"),
                ] {
                    for user in users {
                        inner.report(&attempt.publish_id, user).attempt = Some(outcome);
                    }
                }
            }
            WebhookEvent::UserNotificationAcknowledgement(n) => {
                inner.report(&n.publish_id, &n.user_id).acknowledged = true;
            }
            WebhookEvent::UserNotificationOpen(n) => {
                inner.report(&n.publish_id, &n.user_id).opened = true;
            }
            _ => {}
        }
    }

    /// What is known about `user`'s part in `publish_id` (nothing yet: the default).
    pub fn get(&self, publish_id: &str, user: &str) -> DeliveryReport {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .by_publish
            .get(publish_id)
            .and_then(|users| users.get(user))
            .cloned()
            .unwrap_or_default()
    }
}

impl Inner {
    fn report(&mut self, publish_id: &str, user: &str) -> &mut DeliveryReport {
        if !self.by_publish.contains_key(publish_id) {
            if self.order.len() >= CAPACITY
                && let Some(oldest) = self.order.pop_front()
            {
                self.by_publish.remove(&oldest);
            }
            self.order.push_back(publish_id.to_owned());
        }
        self.by_publish
            .entry(publish_id.to_owned())
            .or_default()
            .entry(user.to_owned())
            .or_default()
    }
}
