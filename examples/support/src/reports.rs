//! [`DeliveryReports`]: what Beams' webhooks said about each publish, for the demo page.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use beams_core::webhook::{Webhook, WebhookEvent};

/// The most (publish, user) reports remembered, over all publishes; the oldest publishes are
/// forgotten first. About a megabyte: webhooks may come from anyone who holds the secret, or
/// report users the app never published to.
const CAPACITY: usize = 10_000;

/// The most users remembered for one publish: Beams' limit on a publish's users.
const USERS_PER_PUBLISH: usize = 1_000;

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
    /// Reports over all publishes.
    entries: usize,
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
                        if let Some(report) = inner.report(&attempt.publish_id, user) {
                            report.attempt = Some(outcome);
                        }
                    }
                }
            }
            WebhookEvent::UserNotificationAcknowledgement(n) => {
                if let Some(report) = inner.report(&n.publish_id, &n.user_id) {
                    report.acknowledged = true;
                }
            }
            WebhookEvent::UserNotificationOpen(n) => {
                if let Some(report) = inner.report(&n.publish_id, &n.user_id) {
                    report.opened = true;
                }
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
    /// The report of `user` in `publish_id`, created if there is room; `None` when that publish
    /// already has [`USERS_PER_PUBLISH`] other users.
    fn report(&mut self, publish_id: &str, user: &str) -> Option<&mut DeliveryReport> {
        let known = self
            .by_publish
            .get(publish_id)
            .map(|users| (users.len(), users.contains_key(user)));
        match known {
            Some((_, true)) => {}
            Some((users, false)) if users >= USERS_PER_PUBLISH => return None,
            _ => {
                // Room for one more report: forget the oldest other publishes.
                while self.entries >= CAPACITY {
                    let Some(oldest) = self.order.iter().position(|p| p != publish_id) else {
                        break;
                    };
                    let oldest = self.order.remove(oldest).expect("a position in the queue");
                    self.entries -= self.by_publish.remove(&oldest).map_or(0, |u| u.len());
                }
                if known.is_none() {
                    self.order.push_back(publish_id.to_owned());
                }
                self.entries += 1;
            }
        }
        Some(
            self.by_publish
                .entry(publish_id.to_owned())
                .or_default()
                .entry(user.to_owned())
                .or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_bounded_per_publish_and_in_all() {
        let mut inner = Inner::default();
        // 5 000 forged acknowledgements for one publish keep Beams' 1 000 users at most.
        for i in 0..5_000 {
            if let Some(report) = inner.report("p1", &format!("u{i}")) {
                report.acknowledged = true;
            }
        }
        assert_eq!(inner.by_publish["p1"].len(), USERS_PER_PUBLISH);
        assert!(
            inner.report("p1", "u0").is_some(),
            "a known user is still updated"
        );
        assert!(inner.report("p1", "u4999").is_none());
        // Many publishes: the oldest are forgotten, the count stays bounded and exact.
        for p in 0..100 {
            for u in 0..200 {
                let _ = inner.report(&format!("q{p}"), &format!("u{u}"));
            }
        }
        let total: usize = inner.by_publish.values().map(HashMap::len).sum();
        assert_eq!(total, inner.entries);
        assert!(total <= CAPACITY, "{total}");
        assert_eq!(
            inner.by_publish["q99"].len(),
            200,
            "the newest publish is whole"
        );
        assert!(
            !inner.by_publish.contains_key("p1"),
            "the oldest is forgotten"
        );
        assert_eq!(inner.order.len(), inner.by_publish.len());
    }
}
