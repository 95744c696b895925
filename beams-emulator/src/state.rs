//! The emulator's in-memory state and the typed access to it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};

use crate::model::{
    Delivery, Device, Fault, Platform, PublishTarget, RecordedPublish, ReportedEvent, now_ms,
};

/// The most publishes kept; older ones are forgotten first.
const MAX_PUBLISHES: usize = 10_000;
/// The most deliveries kept; older ones are forgotten first.
const MAX_DELIVERIES: usize = 100_000;
/// The most reporting events kept.
const MAX_EVENTS: usize = 10_000;

/// A secret that never shows itself in `Debug`.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Settings fixed when the state is built.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) instance_id: String,
    pub(crate) secret: Secret,
    pub(crate) vapid_public_key: String,
    pub(crate) sse_keep_alive: Duration,
    pub(crate) jwt_leeway_secs: i64,
}

#[derive(Debug)]
struct DeviceRecord {
    device: Device,
    interests: BTreeSet<String>,
    seq: u64,
}

impl DeviceRecord {
    fn snapshot(&self) -> Device {
        let mut d = self.device.clone();
        d.interests = self.interests.iter().cloned().collect();
        d
    }
}

#[derive(Debug)]
struct RateWindow {
    started: Instant,
    count: u32,
}

#[derive(Debug)]
struct Inner {
    devices: HashMap<String, DeviceRecord>,
    next_device_seq: u64,
    publishes: VecDeque<RecordedPublish>,
    deliveries: VecDeque<Delivery>,
    next_delivery_id: u64,
    events: VecDeque<ReportedEvent>,
    faults: VecDeque<Fault>,
    rate_limit: Option<u32>,
    rate: Option<RateWindow>,
}

pub(crate) struct Shared {
    pub(crate) settings: Settings,
    inner: Mutex<Inner>,
    deliveries_tx: broadcast::Sender<Delivery>,
    pub(crate) shutdown: watch::Sender<bool>,
}

/// The outcome of checking the rate limit.
pub(crate) enum RateCheck {
    Allowed,
    Limited,
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
    TooMany,
}

/// A handle on the emulator's state: what it received and delivered, faults, and the router.
///
/// Cheap to clone (an `Arc`). A running [`Emulator`](crate::Emulator) dereferences to its state, so
/// these methods are available on it directly. Obtain a state without a server through
/// [`EmulatorBuilder::build`](crate::EmulatorBuilder::build), to serve [`router`](Self::router) from
/// your own axum app.
///
/// ```
/// use beams_emulator::{Emulator, Platform};
///
/// let state = Emulator::builder().instance_id("my-instance").build()?;
/// let device = state.register_device(Platform::Web);
/// state.set_device_user(&device.id, "alice")?;
/// assert_eq!(state.user_devices("alice").len(), 1);
/// let app: axum::Router = state.router(); // serve it where you like
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct EmulatorState {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorState")
            .field("instance_id", &self.shared.settings.instance_id)
            .field("secret_key", &self.shared.settings.secret)
            .finish_non_exhaustive()
    }
}

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

impl EmulatorState {
    pub(crate) fn new(settings: Settings, rate_limit: Option<u32>) -> Self {
        let (deliveries_tx, _) = broadcast::channel(1024);
        let (shutdown, _) = watch::channel(false);
        EmulatorState {
            shared: Arc::new(Shared {
                settings,
                inner: Mutex::new(Inner {
                    devices: HashMap::new(),
                    next_device_seq: 0,
                    publishes: VecDeque::new(),
                    deliveries: VecDeque::new(),
                    next_delivery_id: 1,
                    events: VecDeque::new(),
                    faults: VecDeque::new(),
                    rate_limit,
                    rate: None,
                }),
                deliveries_tx,
                shutdown,
            }),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // to an emulator; keep serving.
        self.shared
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The instance id this emulator serves.
    pub fn instance_id(&self) -> &str {
        &self.shared.settings.instance_id
    }

    /// The secret key publishers must send as `Authorization: Bearer <secret>` and that Beams
    /// Tokens must be signed with.
    pub fn secret_key(&self) -> &str {
        &self.shared.settings.secret.0
    }

    /// The VAPID public key served at `GET …/web-vapid-public-key` (base64url).
    pub fn vapid_public_key(&self) -> &str {
        &self.shared.settings.vapid_public_key
    }

    /// The emulator as an axum [`Router`](axum::Router), to nest or merge into your own app. It
    /// serves every endpoint; the paths are absolute (`/publish_api/…`, `/_emulator/…`), so merge
    /// it or use it as a fallback rather than nesting it under a prefix.
    ///
    /// Without the emulator's own server, an injected "drop" fault cannot close the socket before
    /// the response head; it then aborts the response body instead.
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.clone())
    }

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

    /// The deliveries made to a device, oldest first (kept after the device is deleted).
    pub fn deliveries(&self, device_id: &str) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.device_id == device_id)
            .cloned()
            .collect()
    }

    /// The deliveries made to a user's devices, oldest first.
    pub fn user_deliveries(&self, user_id: &str) -> Vec<Delivery> {
        self.inner()
            .deliveries
            .iter()
            .filter(|d| d.user_id.as_deref() == Some(user_id))
            .cloned()
            .collect()
    }

    /// Every delivery, oldest first.
    pub fn all_deliveries(&self) -> Vec<Delivery> {
        self.inner().deliveries.iter().cloned().collect()
    }

    /// The deliveries after `after_id` to a device.
    pub(crate) fn deliveries_after(&self, device_id: &str, after_id: u64) -> Vec<Delivery> {
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
    pub fn subscribe_deliveries(&self) -> broadcast::Receiver<Delivery> {
        self.shared.deliveries_tx.subscribe()
    }

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

    /// The reporting events received, oldest first.
    pub fn reported_events(&self) -> Vec<ReportedEvent> {
        self.inner().events.iter().cloned().collect()
    }

    /// Register a device as the device API would, without HTTP.
    pub fn register_device(&self, platform: Platform) -> Device {
        let body = json!({"token": format!("emulator-token-{}", uuid::Uuid::new_v4().simple())});
        self.register(platform, body).0
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

    /// Subscribe a device to an interest, without HTTP. Returns `false` if the device is unknown or
    /// already has 5000 interests.
    pub fn add_device_interest(&self, device_id: &str, interest: &str) -> bool {
        self.add_interest(device_id, None, interest).is_ok()
    }

    /// Queue a fault for the next matching requests (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.inner().faults.push_back(fault);
    }

    /// The faults still queued, with their remaining counts.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.inner().faults.iter().cloned().collect()
    }

    /// Remove every queued fault.
    pub fn clear_faults(&self) {
        self.inner().faults.clear();
    }

    /// Turn the rate limit on (`Some(requests per second)`) or off (`None`). It applies to the
    /// publish and customer APIs and answers `429 {"description":"max 100 RPS"}` (with the limit
    /// used).
    pub fn set_rate_limit(&self, requests_per_second: Option<u32>) {
        let mut inner = self.inner();
        inner.rate_limit = requests_per_second;
        inner.rate = None;
    }

    /// Forget every device, publish, delivery, reporting event and fault. Delivery ids keep
    /// increasing, so a reconnecting event stream never mistakes new deliveries for old ones.
    pub fn reset(&self) {
        let mut inner = self.inner();
        inner.devices.clear();
        inner.publishes.clear();
        inner.deliveries.clear();
        inner.events.clear();
        inner.faults.clear();
        inner.rate = None;
    }

    // ---- internal operations used by the HTTP layer -------------------------------------------

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

/// Build the payload a device of `platform` receives for a publish.
fn platform_payload(
    platform: Platform,
    payload: &Map<String, Value>,
    instance_id: &str,
    publish_id: &str,
) -> Value {
    let non_empty_object =
        |v: Option<&Value>| v.and_then(Value::as_object).is_some_and(|o| !o.is_empty());
    let has_data = non_empty_object(payload.get("data"));
    let has_displayable_content = match platform {
        Platform::Web | Platform::Fcm => non_empty_object(payload.get("notification")),
        Platform::Apns => payload
            .get("aps")
            .and_then(Value::as_object)
            .and_then(|aps| aps.get("alert"))
            .is_some_and(|alert| !alert.is_null()),
    };
    let metadata = json!({
        "instanceId": instance_id,
        "publishId": publish_id,
        "hasDisplayableContent": has_displayable_content,
        "hasData": has_data,
    });
    match platform {
        Platform::Web => {
            let mut data = Map::new();
            data.insert("pusher".to_owned(), metadata);
            if let Some(Value::Object(customer)) = payload.get("data") {
                for (k, v) in customer {
                    if k != "pusher" {
                        data.insert(k.clone(), v.clone());
                    }
                }
            }
            let mut out = Map::new();
            if let Some(notification) = payload.get("notification") {
                out.insert("notification".to_owned(), notification.clone());
            }
            out.insert("data".to_owned(), Value::Object(data));
            Value::Object(out)
        }
        Platform::Fcm | Platform::Apns => {
            let mut out = payload.clone();
            let mut data = match out.remove("data") {
                Some(Value::Object(d)) => d,
                _ => Map::new(),
            };
            let pusher = if platform == Platform::Fcm {
                // FCM data values are strings; the Android SDK parses this one as JSON.
                Value::String(metadata.to_string())
            } else {
                metadata
            };
            data.insert("pusher".to_owned(), pusher);
            out.insert("data".to_owned(), Value::Object(data));
            Value::Object(out)
        }
    }
}
