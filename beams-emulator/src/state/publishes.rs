//! Publishes: routing one to the matching devices, the deliveries it makes, and the live
//! feeds that hand them to event streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, MutexGuard};

use beams_core::Platform;
use serde_json::Value;
use tokio::sync::broadcast;

use super::{DeviceRecord, EmulatorState};
use crate::limits::{btree_bytes, heap_bytes, strings_bytes, value_bytes};
use crate::model::{Delivery, KeptDelivery, PublishTarget, RecordedPublish, now_ms};
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
                    && *d.publish_id == *publish_id
                    && d.user_id.as_deref() == Some(user_id)
            })
    }

    /// The deliveries made to a device, oldest first (kept after the device is deleted).
    pub fn deliveries(&self, device_id: &str) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.device_id == device_id)
            .map(|d| d.to_delivery())
            .collect()
    }

    /// The deliveries made to a user's devices, oldest first.
    pub fn user_deliveries(&self, user_id: &str) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.user_id.as_deref() == Some(user_id))
            .map(|d| d.to_delivery())
            .collect()
    }

    /// Every delivery, oldest first.
    pub fn all_deliveries(&self) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .map(|d| d.to_delivery())
            .collect()
    }

    /// The deliveries after `after_id` to a device.
    pub(crate) fn deliveries_after(
        &self,
        device_id: &str,
        after_id: u64,
    ) -> Vec<Arc<KeptDelivery>> {
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
    /// lag rather than block the emulator). While one is open, each delivery is copied, its
    /// payload included, for it, and up to 1 024 of them wait for the slowest receiver:
    /// memory outside the [`Limits`](crate::Limits).
    pub fn subscribe_deliveries(&self) -> broadcast::Receiver<Arc<Delivery>> {
        self.shared.deliveries_tx.subscribe()
    }

    /// A live feed of one device's deliveries from now on.
    pub(crate) fn subscribe_device(
        &self,
        device_id: &str,
    ) -> broadcast::Receiver<Arc<KeptDelivery>> {
        let mut feeds = self.feeds();
        // Feeds whose streams all closed are dropped here (or at their next delivery), so the
        // map holds the devices with an open stream, at most `Limits::max_streams`, and one
        // more at most: each new subscriber costs a pass over the open streams.
        feeds.retain(|_, feed| feed.receiver_count() > 0);
        match feeds.get(device_id) {
            Some(feed) => feed.subscribe(),
            None => {
                // A stream that falls behind reads the history again: a short buffer is
                // enough, and keeps few deliveries alive past their eviction.
                let (feed, receiver) = broadcast::channel(64);
                feeds.insert(device_id.to_owned(), feed);
                receiver
            }
        }
    }

    /// Hands new deliveries to the live feeds that want them.
    pub(crate) fn broadcast(&self, made: &[Arc<KeptDelivery>]) {
        if self.shared.deliveries_tx.receiver_count() > 0 {
            for delivery in made {
                // A receiver gone in between is fine.
                let _ = self
                    .shared
                    .deliveries_tx
                    .send(Arc::new(delivery.to_delivery()));
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

    fn feeds(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<KeptDelivery>>>> {
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
        let shared_id: Arc<str> = Arc::from(publish_id.as_str());
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
            let mut payloads: BTreeMap<Platform, Arc<Value>> = BTreeMap::new();
            for record in recipients {
                let platform = record.device.platform;
                let Some(Value::Object(payload)) = body.get(platform.as_str()) else {
                    continue;
                };
                // The same for every device of the platform: built once, shared by all.
                let payload = payloads.entry(platform).or_insert_with(|| {
                    Arc::new(platform_payload(
                        platform,
                        payload,
                        &instance_id,
                        &publish_id,
                    ))
                });
                made.push(Arc::new(KeptDelivery {
                    id: next_id,
                    publish_id: Arc::clone(&shared_id),
                    device_id: record.device.id.clone(),
                    platform,
                    user_id: record.device.user_id.clone(),
                    payload: Arc::clone(payload),
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
            let record = RecordedPublish {
                publish_id: publish_id.clone(),
                target,
                body,
                path,
                headers,
                received_at_ms: now,
                delivered_to,
            };
            let publish_bytes = publish_bytes(&record);
            inner.publishes.push(record, publish_bytes);
            keep_deliveries(&mut inner.deliveries, &made, &payloads);
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

/// What a recorded publish holds: its slot in the log (whose buffer may be twice as long as
/// it is full), its body, targets, headers, path and the ids it was delivered to.
fn publish_bytes(record: &RecordedPublish) -> usize {
    let (PublishTarget::Users(targets) | PublishTarget::Interests(targets)) = &record.target;
    2 * size_of::<(RecordedPublish, usize)>()
        + value_bytes(&record.body)
        + heap_bytes(record.publish_id.capacity())
        + strings_bytes(targets)
        + strings_bytes(&record.delivered_to)
        + heap_bytes(record.path.capacity())
        + btree_bytes::<String, String>(record.headers.len())
        + record
            .headers
            .iter()
            .map(|(k, v)| heap_bytes(k.capacity()) + heap_bytes(v.capacity()))
            .sum::<usize>()
}

/// Keeps a publish's deliveries in the log. Each counts what is its own (its allocation, its
/// device and user ids, its slot in the log); the payload of its platform and the publish id,
/// shared by the publish's deliveries, are counted once, with the last of them: the log drops
/// the oldest first, so that one goes last, when the shared parts are freed. When that last
/// one is too large for the whole budget, none of the platform's deliveries is kept.
fn keep_deliveries(
    log: &mut crate::limits::BoundedLog<Arc<KeptDelivery>>,
    made: &[Arc<KeptDelivery>],
    payloads: &BTreeMap<Platform, Arc<Value>>,
) {
    let Some(last) = made.last() else {
        return;
    };
    // An `Arc`'s allocation holds its two counts before the value.
    let publish_id_bytes = heap_bytes(2 * size_of::<usize>() + last.publish_id.len());
    let mut last_of: BTreeMap<Platform, (usize, usize)> = BTreeMap::new();
    for (index, delivery) in made.iter().enumerate() {
        last_of
            .entry(delivery.platform)
            .or_insert_with(|| {
                let payload = &payloads[&delivery.platform];
                let shared = heap_bytes(2 * size_of::<usize>() + size_of::<Value>())
                    + value_bytes(payload)
                    - size_of::<Value>();
                (index, shared)
            })
            .0 = index;
    }
    let own = |delivery: &KeptDelivery| {
        heap_bytes(2 * size_of::<usize>() + size_of::<KeptDelivery>())
            + heap_bytes(delivery.device_id.capacity())
            + delivery
                .user_id
                .as_ref()
                .map_or(0, |u| heap_bytes(u.capacity()))
            + 2 * size_of::<(Arc<KeptDelivery>, usize)>()
    };
    let too_large: Vec<Platform> = last_of
        .iter()
        .filter(|(_, (index, shared))| {
            own(&made[*index]) + shared + publish_id_bytes > log.budget()
        })
        .map(|(platform, _)| *platform)
        .collect();
    for (index, delivery) in made.iter().enumerate() {
        if too_large.contains(&delivery.platform) {
            continue;
        }
        let mut size = own(delivery);
        if let Some((_, shared)) = last_of
            .get(&delivery.platform)
            .filter(|(last, _)| *last == index)
        {
            size += shared;
        }
        if index == made.len() - 1 {
            size += publish_id_bytes;
        }
        log.push(Arc::clone(delivery), size);
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
    use std::collections::BTreeMap;

    use serde_json::json;

    use crate::model::PublishTarget;
    use crate::{Emulator, Platform};

    /// What a publish to 200 devices really leaves allocated (its record, its deliveries and
    /// everything they hold, as the allocator sees them) is what the budgets count, within a
    /// factor of two: the stated bounds are resident ones.
    #[test]
    fn the_budgets_count_what_a_publish_really_keeps() {
        let state = Emulator::builder().build_state().unwrap();
        for _ in 0..200 {
            let device = state.register_device(Platform::Web);
            state.add_device_interest(&device.id, "news");
        }
        let kept = allocation_counter::measure(|| {
            let data: serde_json::Map<_, _> = (0..20)
                .map(|i| {
                    (
                        format!("field_{i:02}"),
                        json!(format!("value {i} of the data")),
                    )
                })
                .collect();
            let body = json!({
                "interests": ["news"],
                "web": {
                    "notification": {"title": "Shipped", "body": "A parcel is on its way. ".repeat(40)},
                    "data": data,
                },
            });
            let headers = BTreeMap::from([
                ("content-type".to_owned(), "application/json".to_owned()),
                ("authorization".to_owned(), "Bearer [redacted]".to_owned()),
            ]);
            let outcome = state.record_publish(
                PublishTarget::Interests(vec!["news".to_owned()]),
                body,
                "/publish_api/v1/instances/x/publishes/interests".to_owned(),
                headers,
            );
            assert_eq!(outcome.devices, 200);
        });
        // Each allocation also costs the allocator a header and rounding: 16 bytes on average.
        let real = usize::try_from(kept.bytes_current + 16 * kept.count_current).unwrap();
        let counted = {
            let inner = state.inner();
            inner.deliveries.bytes() + inner.publishes.bytes()
        };
        assert!(
            counted >= real,
            "counted {counted} bytes, {real} really kept ({kept:?})"
        );
        assert!(
            counted <= 2 * real,
            "counted {counted} bytes, only {real} really kept"
        );
    }

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
