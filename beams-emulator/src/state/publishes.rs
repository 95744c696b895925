//! Publishes: routing one to the matching devices, the deliveries it makes, and the live
//! feeds that hand them to event streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, MutexGuard};

use beams_core::Platform;
use serde_json::Value;
use tokio::sync::broadcast;

use super::{DeviceRecord, EmulatorState, RECORD_OVERHEAD};
use crate::limits::{strings_bytes, value_bytes};
use crate::model::{Delivery, PublishTarget, RecordedPublish, now_ms};
use crate::payload::platform_payload;

impl EmulatorState {
    /// Every accepted publish, oldest first.
    pub fn publishes(&self) -> Vec<RecordedPublish> {
        self.inner().publishes.iter().cloned().collect()
    }

    /// The accepted publish with this id.
    pub fn publish(&self, publish_id: &str) -> Option<RecordedPublish> {
        self.inner()
            .publishes
            .iter()
            .find(|p| p.publish_id == publish_id)
            .cloned()
    }

    /// Whether the device, now belonging to `user_id`, was delivered that publish (as far as
    /// the bounded history still holds it): what a reporting-API event must show before it
    /// becomes a user's acknowledgement or open.
    pub(crate) fn delivered_to_user(
        &self,
        device_id: &str,
        publish_id: &str,
        user_id: &str,
    ) -> bool {
        let inner = self.inner();
        inner
            .devices
            .get(device_id)
            .is_some_and(|d| d.device.user_id.as_deref() == Some(user_id))
            && inner.deliveries.iter().any(|d| {
                d.device_id == device_id
                    && d.publish_id == publish_id
                    && d.user_id.as_deref() == Some(user_id)
            })
    }

    /// The deliveries made to a device, oldest first (kept after the device is deleted).
    pub fn deliveries(&self, device_id: &str) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.device_id == device_id)
            .map(|d| Delivery::clone(d))
            .collect()
    }

    /// The deliveries made to a user's devices, oldest first.
    pub fn user_deliveries(&self, user_id: &str) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.user_id.as_deref() == Some(user_id))
            .map(|d| Delivery::clone(d))
            .collect()
    }

    /// Every delivery, oldest first.
    pub fn all_deliveries(&self) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .map(|d| Delivery::clone(d))
            .collect()
    }

    /// The deliveries after `after_id` to a device.
    pub(crate) fn deliveries_after(&self, device_id: &str, after_id: u64) -> Vec<Arc<Delivery>> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.device_id == device_id && d.id > after_id)
            .cloned()
            .collect()
    }

    /// The id of the latest delivery made (0 before the first).
    pub(crate) fn last_delivery_id(&self) -> u64 {
        self.inner().next_delivery_id - 1
    }

    /// A live feed of every delivery from now on (a `tokio` broadcast receiver; slow receivers
    /// lag rather than block the emulator).
    pub fn subscribe_deliveries(&self) -> broadcast::Receiver<Arc<Delivery>> {
        self.shared.deliveries_tx.subscribe()
    }

    /// A live feed of one device's deliveries from now on.
    pub(crate) fn subscribe_device(&self, device_id: &str) -> broadcast::Receiver<Arc<Delivery>> {
        let mut feeds = self.feeds();
        // Feeds whose streams all closed are dropped here (or at their next delivery), so the
        // map holds the devices with an open stream, at most `Limits::max_streams`, and one
        // more at most: each new subscriber costs a pass over the open streams.
        feeds.retain(|_, feed| feed.receiver_count() > 0);
        match feeds.get(device_id) {
            Some(feed) => feed.subscribe(),
            None => {
                let (feed, receiver) = broadcast::channel(256);
                feeds.insert(device_id.to_owned(), feed);
                receiver
            }
        }
    }

    /// Hands new deliveries to the live feeds that want them.
    pub(crate) fn broadcast(&self, made: &[Arc<Delivery>]) {
        if self.shared.deliveries_tx.receiver_count() > 0 {
            for delivery in made {
                // A receiver gone in between is fine.
                let _ = self.shared.deliveries_tx.send(Arc::clone(delivery));
            }
        }
        let mut feeds = self.feeds();
        if feeds.is_empty() {
            return;
        }
        for delivery in made {
            if let Some(feed) = feeds.get(&delivery.device_id)
                && feed.send(Arc::clone(delivery)).is_err()
            {
                // Every stream of this device has closed.
                feeds.remove(&delivery.device_id);
            }
        }
    }

    fn feeds(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<Delivery>>>> {
        self.shared
            .device_feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records an accepted publish, routes it and records its deliveries.
    pub(crate) fn record_publish(
        &self,
        target: PublishTarget,
        body: Value,
        path: String,
        headers: BTreeMap<String, String>,
    ) -> PublishOutcome {
        let publish_id = format!("pubid-{}", uuid::Uuid::new_v4());
        let instance_id = self.instance_id().to_owned();
        let now = now_ms();
        let mut made = Vec::new();
        let users = {
            let mut inner = self.inner();
            let mut recipients: Vec<&DeviceRecord> = inner
                .devices
                .values()
                .filter(|r| match &target {
                    PublishTarget::Users(users) => {
                        r.device.user_id.as_ref().is_some_and(|u| users.contains(u))
                    }
                    PublishTarget::Interests(interests) => {
                        interests.iter().any(|i| r.interests.contains(i))
                    }
                })
                .collect();
            recipients.sort_by_key(|r| r.seq);
            let mut next_id = inner.next_delivery_id;
            let mut payloads: BTreeMap<Platform, Value> = BTreeMap::new();
            for record in recipients {
                let platform = record.device.platform;
                let Some(Value::Object(payload)) = body.get(platform.as_str()) else {
                    continue;
                };
                // The same for every device of the platform: built once, copied per device.
                let payload = payloads
                    .entry(platform)
                    .or_insert_with(|| {
                        platform_payload(platform, payload, &instance_id, &publish_id)
                    })
                    .clone();
                made.push(Arc::new(Delivery {
                    id: next_id,
                    publish_id: publish_id.clone(),
                    device_id: record.device.id.clone(),
                    platform,
                    user_id: record.device.user_id.clone(),
                    payload,
                    delivered_at_ms: now,
                }));
                next_id += 1;
            }
            inner.next_delivery_id = next_id;
            // Per user: delivered when a device of theirs got it, else "no devices" (none at
            // all, or none of a platform the publish has a payload for).
            let users = match &target {
                PublishTarget::Users(users) => {
                    Some(users.iter().cloned().partition::<Vec<_>, _>(|user| {
                        made.iter().any(|d| d.user_id.as_ref() == Some(user))
                    }))
                }
                PublishTarget::Interests(_) => None,
            };
            let delivered_to: Vec<String> = made.iter().map(|d| d.device_id.clone()).collect();
            let target_bytes = match &target {
                PublishTarget::Users(users) | PublishTarget::Interests(users) => {
                    strings_bytes(users)
                }
            };
            let publish_bytes =
                value_bytes(&body) + target_bytes + strings_bytes(&delivered_to) + RECORD_OVERHEAD;
            inner.publishes.push(
                RecordedPublish {
                    publish_id: publish_id.clone(),
                    target,
                    body,
                    path,
                    headers,
                    received_at_ms: now,
                    delivered_to,
                },
                publish_bytes,
            );
            // What a delivery holds is its platform's payload plus the metadata; measured
            // once per platform.
            let mut payload_bytes = BTreeMap::new();
            for delivery in &made {
                let bytes = *payload_bytes
                    .entry(delivery.platform)
                    .or_insert_with(|| value_bytes(&delivery.payload));
                let size = bytes + delivery.device_id.len() + RECORD_OVERHEAD;
                inner.deliveries.push(Arc::clone(delivery), size);
            }
            users
        };
        self.broadcast(&made);
        PublishOutcome {
            publish_id,
            devices: made.len(),
            users: users.map(|(delivered, no_devices)| UsersOutcome {
                delivered,
                no_devices,
            }),
        }
    }
}

/// What became of an accepted publish.
#[derive(Debug)]
pub(crate) struct PublishOutcome {
    pub(crate) publish_id: String,
    /// How many devices it was delivered to.
    pub(crate) devices: usize,
    /// For a publish to users.
    pub(crate) users: Option<UsersOutcome>,
}

/// Which users of a publish to users were delivered to.
#[derive(Debug)]
pub(crate) struct UsersOutcome {
    pub(crate) delivered: Vec<String>,
    pub(crate) no_devices: Vec<String>,
}

#[cfg(test)]
mod tests {
    use crate::Emulator;

    #[test]
    fn closed_streams_leave_no_feed_behind() {
        let state = Emulator::builder().build_state().unwrap();
        let id = "x".repeat(60_000);
        for i in 0..2_000 {
            drop(state.subscribe_device(&format!("{id}{i}")));
        }
        let open = state.subscribe_device("web-open");
        // Only the open stream's feed is left: 2 000 closed ones of 60 KB ids are gone.
        assert_eq!(state.feeds().len(), 1);
        drop(open);
    }
}
