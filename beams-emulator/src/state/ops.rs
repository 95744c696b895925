//! The operations the HTTP layer performs on the state: faults, the rate limit, devices,
//! interests, reporting events and publishes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    DeviceRecord, EmulatorState, Inner, InterestError, MAX_DELIVERIES, MAX_DEVICES_PER_USER,
    MAX_EVENTS, MAX_INTERESTS_PER_DEVICE, MAX_PUBLISHES, RateCheck, RateWindow, SetUserError,
};
use crate::delivery::platform_payload;
use crate::model::{
    Delivery, Device, Fault, Platform, PublishTarget, RecordedPublish, ReportedEvent, now_ms,
};

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

    pub(crate) fn record_event(&self, body: Value) {
        let mut inner = self.inner();
        inner.events.push_back(ReportedEvent {
            body,
            received_at_ms: now_ms(),
        });
        while inner.events.len() > MAX_EVENTS {
            inner.events.pop_front();
        }
    }

    /// Register a device; returns it and its initial interest set.
    pub(crate) fn register(&self, platform: Platform, body: Value) -> (Device, Vec<String>) {
        let mut inner = self.inner();
        let token = body.get("token").and_then(Value::as_str).map(str::to_owned);
        let metadata = body.get("metadata").cloned().unwrap_or_else(|| json!({}));

        // Android re-registrations name the ids the app had before; Beams carries the old
        // device's interests over (`initialInterestSet`). Reuse that device.
        let previous = body
            .get("knownPreviousClientIds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|id| {
                inner
                    .devices
                    .get(*id)
                    .is_some_and(|r| r.device.platform == platform)
            })
            .map(str::to_owned);
        if let Some(id) = previous
            && let Some(record) = inner.devices.get_mut(&id)
        {
            record.device.token = token;
            record.device.metadata = metadata;
            record.device.registration = body;
            let interests = record.interests.iter().cloned().collect();
            return (record.snapshot(), interests);
        }

        let id = format!("{}-{}", platform.as_str(), uuid::Uuid::new_v4());
        let device = Device {
            id: id.clone(),
            platform,
            token,
            user_id: None,
            metadata,
            interests: Vec::new(),
            registration: body,
        };
        let seq = inner.next_device_seq;
        inner.next_device_seq += 1;
        inner.devices.insert(
            id,
            DeviceRecord {
                device: device.clone(),
                interests: BTreeSet::new(),
                seq,
            },
        );
        (device, Vec::new())
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
        if Self::record(&mut inner, device_id, Some(platform)).is_some() {
            inner.devices.remove(device_id);
        }
    }

    pub(crate) fn delete_user(&self, user_id: &str) -> usize {
        let mut inner = self.inner();
        let before = inner.devices.len();
        inner
            .devices
            .retain(|_, r| r.device.user_id.as_deref() != Some(user_id));
        before - inner.devices.len()
    }

    pub(crate) fn add_interest(
        &self,
        device_id: &str,
        platform: Option<Platform>,
        interest: &str,
    ) -> Result<(), InterestError> {
        let mut inner = self.inner();
        let record =
            Self::record(&mut inner, device_id, platform).ok_or(InterestError::DeviceNotFound)?;
        if !record.interests.contains(interest) {
            if record.interests.len() >= MAX_INTERESTS_PER_DEVICE {
                return Err(InterestError::TooMany);
            }
            record.interests.insert(interest.to_owned());
        }
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
        record.interests.remove(interest);
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
        let mut inner = self.inner();
        let record = Self::record(&mut inner, device_id, Some(platform))
            .ok_or(InterestError::DeviceNotFound)?;
        record.interests = interests;
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

    /// Record an accepted publish, route it and record its deliveries; returns the publish id.
    pub(crate) fn record_publish(
        &self,
        target: PublishTarget,
        body: Value,
        path: String,
        headers: BTreeMap<String, String>,
    ) -> String {
        let publish_id = format!("pubid-{}", uuid::Uuid::new_v4());
        let instance_id = self.instance_id().to_owned();
        let now = now_ms();
        let mut made = Vec::new();
        {
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
            for record in recipients {
                let platform = record.device.platform;
                let Some(Value::Object(payload)) = body.get(platform.payload_key()) else {
                    continue;
                };
                made.push(Delivery {
                    id: next_id,
                    publish_id: publish_id.clone(),
                    device_id: record.device.id.clone(),
                    platform,
                    user_id: record.device.user_id.clone(),
                    payload: platform_payload(platform, payload, &instance_id, &publish_id),
                    delivered_at_ms: now,
                });
                next_id += 1;
            }
            inner.next_delivery_id = next_id;
            inner.publishes.push_back(RecordedPublish {
                publish_id: publish_id.clone(),
                target,
                body,
                path,
                headers,
                received_at_ms: now,
                delivered_to: made.iter().map(|d| d.device_id.clone()).collect(),
            });
            while inner.publishes.len() > MAX_PUBLISHES {
                inner.publishes.pop_front();
            }
            inner.deliveries.extend(made.iter().cloned());
            while inner.deliveries.len() > MAX_DELIVERIES {
                inner.deliveries.pop_front();
            }
        }
        for delivery in made {
            // No receiver is fine.
            let _ = self.shared.deliveries_tx.send(delivery);
        }
        publish_id
    }
}
