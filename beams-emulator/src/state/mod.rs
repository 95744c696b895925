//! The emulator's in-memory state: the typed, public view of it here, the operations the
//! HTTP layer performs on it in [`ops`].

mod ops;

pub(crate) use ops::{PublishOutcome, Registration};

use std::collections::{BTreeSet, HashMap, VecDeque};

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{broadcast, watch};

use crate::limits::{BoundedLog, Limits};
use crate::model::{
    Delivery, Device, Fault, RecordedPublish, ReportedEvent, WebhookAttempt, WebhookTarget,
};
use beams_core::Platform;

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
    pub(crate) limits: Limits,
    /// Origins allowed to use the inspection API from a browser (CORS).
    pub(crate) inspection_origins: Vec<String>,
    /// The webhooks called with Beams' events.
    pub(crate) webhooks: Vec<WebhookTarget>,
    /// Multiplies Beams' webhook retry delays (10, 30, 120 and 300 s).
    pub(crate) webhook_retry_scale: f64,
    /// Whether `GET /_emulator/users/{user}/token` issues tokens.
    pub(crate) issue_tokens: bool,
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
    /// Interest subscriptions over all devices.
    subscriptions: usize,
    publishes: BoundedLog<RecordedPublish>,
    deliveries: BoundedLog<Arc<Delivery>>,
    next_delivery_id: u64,
    events: BoundedLog<ReportedEvent>,
    webhook_attempts: BoundedLog<WebhookAttempt>,
    faults: VecDeque<Fault>,
    rate_limit: Option<u32>,
    rate: Option<RateWindow>,
}

pub(crate) struct Shared {
    pub(crate) settings: Settings,
    /// The HTTP client of the webhooks.
    pub(crate) webhook_client: reqwest::Client,
    inner: Mutex<Inner>,
    /// Every delivery, for [`EmulatorState::subscribe_deliveries`].
    deliveries_tx: broadcast::Sender<Arc<Delivery>>,
    /// One feed per device with a live stream open: a stream wakes only for its own device's
    /// deliveries, however many devices a publish reaches.
    device_feeds: Mutex<HashMap<String, broadcast::Sender<Arc<Delivery>>>>,
    /// One permit per open delivery stream ([`Limits::max_streams`](crate::Limits::max_streams)).
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
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
    /// Beams' limit of interests per device.
    TooMany,
    /// The emulator's limit of subscriptions over all devices.
    Full,
}

/// The emulator holds [`Limits::max_devices`] devices already.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DevicesFull;

/// A handle on the emulator's state: what it received and delivered, faults, and the router.
///
/// Cheap to clone (an `Arc`). A running [`Emulator`](crate::Emulator) hands it out through
/// [`state`](crate::Emulator::state). Obtain a state without a server through
/// [`EmulatorBuilder::build_state`](crate::EmulatorBuilder::build_state), to serve
/// [`router`](crate::router) from your own axum app.
///
/// ```
/// use beams_emulator::{Emulator, Platform};
///
/// let state = Emulator::builder().instance_id("my-instance").build_state()?;
/// let device = state.register_device(Platform::Web);
/// state.set_device_user(&device.id, "alice")?;
/// assert_eq!(state.user_devices("alice").len(), 1);
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
        let streams = Arc::new(tokio::sync::Semaphore::new(settings.limits.max_streams));
        Self {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    devices: HashMap::new(),
                    next_device_seq: 0,
                    subscriptions: 0,
                    publishes: BoundedLog::new(settings.limits.max_publish_bytes),
                    deliveries: BoundedLog::new(settings.limits.max_delivery_bytes),
                    next_delivery_id: 1,
                    events: BoundedLog::new(settings.limits.max_event_bytes),
                    webhook_attempts: BoundedLog::new(settings.limits.max_webhook_bytes),
                    faults: VecDeque::new(),
                    rate_limit,
                    rate: None,
                }),
                settings,
                webhook_client: reqwest::Client::new(),
                deliveries_tx,
                device_feeds: Mutex::new(HashMap::new()),
                streams,
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
        // Feeds whose streams all closed before any delivery came are dropped here; live
        // ones are bounded by the connection limit.
        if feeds.len() >= 1024 {
            feeds.retain(|_, feed| feed.receiver_count() > 0);
        }
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

    /// Every attempt at delivering a webhook, oldest first.
    pub fn webhook_attempts(&self) -> Vec<WebhookAttempt> {
        self.inner().webhook_attempts.iter().cloned().collect()
    }

    pub(crate) fn record_webhook_attempt(&self, attempt: WebhookAttempt, bytes: usize) {
        self.inner().webhook_attempts.push(attempt, bytes);
    }

    /// Register a device as the device API would, without HTTP. Counted against
    /// [`Limits::max_devices`], but never refused: the limit guards the open HTTP API.
    pub fn register_device(&self, platform: Platform) -> Device {
        let token = format!("emulator-token-{}", uuid::Uuid::new_v4().simple());
        let registration = ops::Registration {
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
    /// already has 5000 interests, or the emulator holds [`Limits::max_subscriptions`].
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

    /// Forget every device, publish, delivery, reporting event, webhook attempt and fault. Delivery ids keep
    /// increasing, so a reconnecting event stream never mistakes new deliveries for old ones.
    pub fn reset(&self) {
        let mut inner = self.inner();
        inner.devices.clear();
        inner.subscriptions = 0;
        inner.publishes.clear();
        inner.deliveries.clear();
        inner.events.clear();
        inner.webhook_attempts.clear();
        inner.faults.clear();
        inner.rate = None;
    }
}
