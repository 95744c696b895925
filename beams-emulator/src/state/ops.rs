//! The operations the HTTP layer performs on the state: faults, the rate limit, devices,
//! interests, reporting events and publishes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    DeviceRecord, DevicesFull, EmulatorState, Inner, InterestError, MAX_DEVICES_PER_USER,
    MAX_INTERESTS_PER_DEVICE, RateCheck, RateWindow, SetUserError,
};
use crate::limits::{strings_bytes, value_bytes};
use crate::model::{
    Delivery, Device, Fault, PublishTarget, RecordedPublish, ReportedEvent, now_ms,
};
use crate::payload::platform_payload;
use beams_core::Platform;

impl EmulatorState {
    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut inner = self.inner();
        let index = inner.faults.iter().position(|f| f.matches(method, path))?;
        let fault = &mut inner.faults[index];
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            inner.faults.remove(index);
        }
        Some(taken)
    }

    pub(crate) fn check_rate(&self) -> (RateCheck, u32) {
        let mut inner = self.inner();
        let Some(limit) = inner.rate_limit else {
            return (RateCheck::Allowed, 0);
        };
        let now = Instant::now();
        if inner
            .rate
            .as_ref()
            .is_none_or(|w| now.duration_since(w.started) >= Duration::from_secs(1))
        {
            inner.rate = None;
        }
        let window = inner.rate.get_or_insert(RateWindow {
            started: now,
            count: 0,
        });
        window.count += 1;
        if window.count > limit {
            (RateCheck::Limited, limit)
        } else {
            (RateCheck::Allowed, limit)
        }
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

    /// Registers a device; returns it and its initial interest set. With `enforce_limit`, a
    /// registration past [`Limits::max_devices`](crate::Limits::max_devices) is refused.
    ///
    /// An Android SDK re-registering names the ids it had before (`knownPreviousClientIds`);
    /// the new device starts with the interests of the first of them that exists on the same
    /// platform (`initialInterestSet`). The previous device is left as it is — its token,
    /// its user and its interests — and the user is never carried over: knowing a device's
    /// id must not let a caller take it, or its user's notifications, over.
    pub(crate) fn register(
        &self,
        platform: Platform,
        registration: Registration,
        enforce_limit: bool,
    ) -> Result<(Device, Vec<String>), DevicesFull> {
        let mut inner = self.inner();
        if enforce_limit && inner.devices.len() >= self.settings().limits.max_devices {
            return Err(DevicesFull);
        }
        let initial: BTreeSet<String> = registration
            .known_previous_ids
            .iter()
            .find_map(|id| {
                inner
                    .devices
                    .get(id)
                    .filter(|r| r.device.platform == platform)
            })
            .map(|r| r.interests.clone())
            .unwrap_or_default();
        if enforce_limit
            && inner.subscriptions + initial.len() > self.settings().limits.max_subscriptions
        {
            return Err(DevicesFull);
        }
        inner.subscriptions += initial.len();

        let id = format!("{}-{}", platform.as_str(), uuid::Uuid::new_v4());
        let device = Device {
            id: id.clone(),
            platform,
            token: Some(registration.token),
            user_id: None,
            metadata: registration.metadata,
            interests: initial.iter().cloned().collect(),
        };
        let interests = device.interests.clone();
        let seq = inner.next_device_seq;
        inner.next_device_seq += 1;
        inner.devices.insert(
            id,
            DeviceRecord {
                device: device.clone(),
                interests: initial,
                seq,
            },
        );
        Ok((device, interests))
    }

    /// Look a device up, requiring the platform if given.
    fn record<'a>(
        inner: &'a mut Inner,
        device_id: &str,
        platform: Option<Platform>,
    ) -> Option<&'a mut DeviceRecord> {
        inner
            .devices
            .get_mut(device_id)
            .filter(|r| platform.is_none_or(|p| r.device.platform == p))
    }

    pub(crate) fn device_on(&self, device_id: &str, platform: Platform) -> Option<Device> {
        let mut inner = self.inner();
        Self::record(&mut inner, device_id, Some(platform)).map(|r| r.snapshot())
    }

    pub(crate) fn set_user(
        &self,
        device_id: &str,
        platform: Option<Platform>,
        user_id: &str,
    ) -> Result<(), SetUserError> {
        let mut inner = self.inner();
        let Some(record) = Self::record(&mut inner, device_id, platform) else {
            return Err(SetUserError::DeviceNotFound);
        };
        match record.device.user_id.as_deref() {
            Some(existing) if existing == user_id => return Ok(()),
            Some(_) => return Err(SetUserError::AlreadyAssociated),
            None => {}
        }
        let device_platform = record.device.platform;
        let count = inner
            .devices
            .values()
            .filter(|r| {
                r.device.platform == device_platform && r.device.user_id.as_deref() == Some(user_id)
            })
            .count();
        if count >= MAX_DEVICES_PER_USER {
            return Err(SetUserError::TooManyDevices);
        }
        if let Some(record) = inner.devices.get_mut(device_id) {
            record.device.user_id = Some(user_id.to_owned());
        }
        Ok(())
    }

    pub(crate) fn delete_device(&self, device_id: &str, platform: Platform) {
        let mut inner = self.inner();
        if Self::record(&mut inner, device_id, Some(platform)).is_some()
            && let Some(record) = inner.devices.remove(device_id)
        {
            inner.subscriptions -= record.interests.len();
        }
    }

    pub(crate) fn delete_user(&self, user_id: &str) -> usize {
        let mut inner = self.inner();
        let before = inner.devices.len();
        let mut unsubscribed = 0;
        inner.devices.retain(|_, r| {
            let keep = r.device.user_id.as_deref() != Some(user_id);
            if !keep {
                unsubscribed += r.interests.len();
            }
            keep
        });
        inner.subscriptions -= unsubscribed;
        before - inner.devices.len()
    }

    pub(crate) fn add_interest(
        &self,
        device_id: &str,
        platform: Option<Platform>,
        interest: &str,
    ) -> Result<(), InterestError> {
        let max = self.settings().limits.max_subscriptions;
        let mut inner = self.inner();
        let full = inner.subscriptions >= max;
        let record =
            Self::record(&mut inner, device_id, platform).ok_or(InterestError::DeviceNotFound)?;
        if record.interests.contains(interest) {
            return Ok(());
        }
        if record.interests.len() >= MAX_INTERESTS_PER_DEVICE {
            return Err(InterestError::TooMany);
        }
        if full {
            return Err(InterestError::Full);
        }
        record.interests.insert(interest.to_owned());
        inner.subscriptions += 1;
        Ok(())
    }

    pub(crate) fn remove_interest(
        &self,
        device_id: &str,
        platform: Platform,
        interest: &str,
    ) -> Result<(), InterestError> {
        let mut inner = self.inner();
        let record = Self::record(&mut inner, device_id, Some(platform))
            .ok_or(InterestError::DeviceNotFound)?;
        if record.interests.remove(interest) {
            inner.subscriptions -= 1;
        }
        Ok(())
    }

    pub(crate) fn replace_interests(
        &self,
        device_id: &str,
        platform: Platform,
        interests: BTreeSet<String>,
    ) -> Result<(), InterestError> {
        if interests.len() > MAX_INTERESTS_PER_DEVICE {
            return Err(InterestError::TooMany);
        }
        let max = self.settings().limits.max_subscriptions;
        let mut inner = self.inner();
        let others = inner.subscriptions;
        let record = Self::record(&mut inner, device_id, Some(platform))
            .ok_or(InterestError::DeviceNotFound)?;
        let others = others - record.interests.len();
        if others + interests.len() > max {
            return Err(InterestError::Full);
        }
        record.interests = interests;
        inner.subscriptions = others + record_len(&inner, device_id);
        Ok(())
    }

    pub(crate) fn update_device(
        &self,
        device_id: &str,
        platform: Platform,
        update: impl FnOnce(&mut Device),
    ) -> bool {
        let mut inner = self.inner();
        match Self::record(&mut inner, device_id, Some(platform)) {
            Some(record) => {
                update(&mut record.device);
                true
            }
            None => false,
        }
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
            users: users.map(|(delivered, no_devices)| UsersOutcome {
                delivered,
                no_devices,
            }),
        }
    }
}

/// What a record costs besides its variable parts (ids, numbers, allocation overhead).
const RECORD_OVERHEAD: usize = 256;

fn record_len(inner: &Inner, device_id: &str) -> usize {
    inner
        .devices
        .get(device_id)
        .map_or(0, |r| r.interests.len())
}

/// A device registration as the device API received it, validated.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) token: String,
    pub(crate) metadata: Value,
    pub(crate) known_previous_ids: Vec<String>,
}

/// What became of an accepted publish.
#[derive(Debug)]
pub(crate) struct PublishOutcome {
    pub(crate) publish_id: String,
    /// For a publish to users.
    pub(crate) users: Option<UsersOutcome>,
}

/// Which users of a publish to users were delivered to.
#[derive(Debug)]
pub(crate) struct UsersOutcome {
    pub(crate) delivered: Vec<String>,
    pub(crate) no_devices: Vec<String>,
}
