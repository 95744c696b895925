//! Devices: registration, users, interests, metadata and deletion.

use std::collections::BTreeSet;

use beams_core::Platform;
use serde_json::{Value, json};

use super::{EmulatorState, Inner};
use crate::model::Device;

impl EmulatorState {
    /// Every registered device, in registration order.
    pub fn devices(&self) -> Vec<Device> {
        let inner = self.inner();
        let mut records: Vec<&DeviceRecord> = inner.devices.values().collect();
        records.sort_by_key(|r| r.seq);
        records.into_iter().map(DeviceRecord::snapshot).collect()
    }

    /// The device with this id.
    pub fn device(&self, device_id: &str) -> Option<Device> {
        self.inner()
            .devices
            .get(device_id)
            .map(DeviceRecord::snapshot)
    }

    /// A user's devices, in registration order.
    pub fn user_devices(&self, user_id: &str) -> Vec<Device> {
        self.devices()
            .into_iter()
            .filter(|d| d.user_id.as_deref() == Some(user_id))
            .collect()
    }

    /// Register a device as the device API would, without HTTP. Counted against
    /// [`Limits::max_devices`](crate::Limits::max_devices), but never refused: the limit guards the open HTTP API.
    pub fn register_device(&self, platform: Platform) -> Device {
        let token = format!("emulator-token-{}", uuid::Uuid::new_v4().simple());
        let registration = Registration {
            token,
            metadata: json!({}),
            known_previous_ids: Vec::new(),
        };
        self.register(platform, registration, false)
            .map(|(device, _)| device)
            .unwrap_or_else(|DevicesFull| {
                unreachable!("the library's registrations are not refused")
            })
    }

    /// Associate a device with a user, as a verified `PUT …/user` would, without a token.
    pub fn set_device_user(&self, device_id: &str, user_id: &str) -> Result<(), SetUserRefused> {
        if user_id.is_empty() || user_id.len() > 164 {
            return Err(SetUserRefused::InvalidUserId);
        }
        self.set_user(device_id, None, user_id)
            .map_err(|e| match e {
                SetUserError::DeviceNotFound => SetUserRefused::DeviceNotFound,
                SetUserError::AlreadyAssociated => SetUserRefused::AlreadyAssociated,
                SetUserError::TooManyDevices => SetUserRefused::TooManyDevices,
            })
    }

    /// Subscribe a device to an interest, without HTTP. Returns `false` if the device is unknown,
    /// already has 5000 interests, or the emulator holds [`Limits::max_subscriptions`](crate::Limits::max_subscriptions).
    pub fn add_device_interest(&self, device_id: &str, interest: &str) -> bool {
        self.add_interest(device_id, None, interest).is_ok()
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
}

#[derive(Debug)]
pub(super) struct DeviceRecord {
    pub(super) device: Device,
    pub(super) interests: BTreeSet<String>,
    /// Registration order.
    pub(super) seq: u64,
}

impl DeviceRecord {
    fn snapshot(&self) -> Device {
        let mut d = self.device.clone();
        d.interests = self.interests.iter().cloned().collect();
        d
    }
}

/// What a set-user request did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SetUserError {
    DeviceNotFound,
    AlreadyAssociated,
    TooManyDevices,
}

/// Why an interest change was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InterestError {
    DeviceNotFound,
    /// Beams' limit of interests per device.
    TooMany,
    /// The emulator's limit of subscriptions over all devices.
    Full,
}

/// The emulator holds [`Limits::max_devices`] devices already.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DevicesFull;

/// The error of [`EmulatorState::set_device_user`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetUserRefused {
    /// No device has that id.
    #[error("device not found")]
    DeviceNotFound,
    /// The device already belongs to another user.
    #[error("A User Id is already associated with this device.")]
    AlreadyAssociated,
    /// The user already has 100 devices on that platform.
    #[error("User already has reached the maximum of 100 devices")]
    TooManyDevices,
    /// The user id is empty or longer than 164 bytes.
    #[error("user id must be between 1-164 bytes long")]
    InvalidUserId,
}

/// Beams' documented limit of devices per user and platform.
pub(crate) const MAX_DEVICES_PER_USER: usize = 100;
/// Beams' documented limit of interests per device.
pub(crate) const MAX_INTERESTS_PER_DEVICE: usize = 5000;

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
