//! The emulator's in-memory state, [`EmulatorState`]: its settings and lock here, what it
//! keeps by subject — [`devices`] and their interests, [`publishes`] and their deliveries,
//! [`faults`] and the rate limit, [`events`] (reporting events and webhook attempts).

mod devices;
mod events;
mod faults;
mod publishes;

pub use devices::SetUserRefused;
pub(crate) use devices::{
    DevicesFull, InterestError, MAX_INTERESTS_PER_DEVICE, Registration, SetUserError,
};
pub(crate) use faults::RateCheck;
pub(crate) use publishes::PublishOutcome;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::limits::{BoundedLog, Limits};
use crate::model::{
    Delivery, Fault, KeptDelivery, RecordedPublish, ReportedEvent, WebhookAttempt, WebhookTarget,
};
use devices::DeviceRecord;
use faults::RateWindow;

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
struct Inner {
    devices: HashMap<String, DeviceRecord>,
    next_device_seq: u64,
    /// Interest subscriptions over all devices.
    subscriptions: usize,
    publishes: BoundedLog<RecordedPublish>,
    deliveries: BoundedLog<Arc<KeptDelivery>>,
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
    /// The webhook events pending, within their bounds.
    pub(crate) webhooks: crate::webhook::WebhookQueue,
    inner: Mutex<Inner>,
    /// Every delivery, for [`EmulatorState::subscribe_deliveries`].
    deliveries_tx: broadcast::Sender<Arc<Delivery>>,
    /// One feed per device with a live stream open: a stream wakes only for its own device's
    /// deliveries, however many devices a publish reaches.
    device_feeds: Mutex<HashMap<String, broadcast::Sender<Arc<KeptDelivery>>>>,
    /// One permit per open delivery stream ([`Limits::max_streams`](crate::Limits::max_streams)).
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
    pub(crate) shutdown: watch::Sender<bool>,
}

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
                webhooks: crate::webhook::WebhookQueue::new(&settings.limits),
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

    /// Forget every device, publish, delivery, reporting event, webhook attempt and fault, and
    /// the count of dropped webhook events (pending ones are still sent). Delivery ids keep
    /// increasing, so a reconnecting event stream never mistakes new deliveries for old ones.
    pub fn reset(&self) {
        let mut inner = self.inner();
        inner.devices.clear();
        inner.subscriptions = 0;
        inner.publishes.clear();
        inner.deliveries.clear();
        inner.events.clear();
        inner.webhook_attempts.clear();
        self.shared.webhooks.reset_dropped();
        inner.faults.clear();
        inner.rate = None;
    }
}

/// What a record costs besides its variable parts (ids, numbers, allocation overhead).
const RECORD_OVERHEAD: usize = 256;
