//! The Beams side of an example app: the instance from the environment or an embedded
//! emulator, the auth route, the publish client, the outbox (with `REDIS_URL`), the webhook
//! receiver, and what `POST /notify` publishes.

use std::sync::Arc;
use std::time::Duration;

use beams_core::outbox::Outbox;
use beams_core::publish::{
    BeamsClient, Notification, Publisher, RedisRateLimiter, WebNotification, WebPayload,
};
use beams_core::webhook::WebhookReceiver;
use beams_core::{BeamsAuth, Instance};
use beams_emulator::{Emulator, WebhookTarget};
use http::StatusCode;

use crate::api::{ApiError, NotifyForm, status_body};
use crate::reports::DeliveryReports;
use crate::settings::{Settings, env_var};

/// The demo page served at `GET /` by both apps.
pub const DEMO_PAGE: &str = include_str!("../../demo-page/index.html");

/// The Beams side of an example app: the instance, the auth route, the publish client and,
/// in emulator mode, the running emulator (kept alive as long as this value).
#[derive(Clone)]
pub struct DemoBeams {
    /// The instance both the route and the client are built from.
    pub instance: Instance,
    /// The auth route.
    pub auth: BeamsAuth,
    /// The publish client used by `POST /notify` (and by the outbox worker).
    pub publisher: Arc<dyn Publisher>,
    /// With `REDIS_URL`: the durable outbox `POST /notify` enqueues into, drained by the
    /// worker every replica runs through [`publisher`](Self::publisher).
    pub outbox: Option<Outbox>,
    /// The webhook receiver, mounted at `/pusher/beams-webhooks` when there is one:
    /// with `BEAMS_WEBHOOK_SECRET` set, and always in emulator mode (the emulator calls it).
    pub webhooks: Option<WebhookReceiver>,
    /// What the webhooks reported, for the demo page.
    pub reports: DeliveryReports,
    emulator: Option<Arc<Emulator>>,
}

impl std::fmt::Debug for DemoBeams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoBeams")
            .field("instance", &self.instance)
            .field("auth", &self.auth)
            .field("webhooks", &self.webhooks)
            .field("outbox", &self.outbox)
            .field("emulator", &self.emulator)
            .finish_non_exhaustive()
    }
}

impl DemoBeams {
    /// Uses `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` (and `BEAMS_ENDPOINT`) when they are set;
    /// when neither of the two is set, starts an embedded emulator on `127.0.0.1` (port
    /// `BEAMS_EMULATOR_PORT`, default any free port) and uses that. The demo page, served at
    /// `app_origin` (`http://127.0.0.1:<port>`), may use the emulator's inspection API, and
    /// the emulator calls the app's webhook receiver at `{app_origin}/pusher/beams-webhooks`,
    /// signed with `BEAMS_WEBHOOK_SECRET` (or a generated secret). With `settings.redis_url`,
    /// the client's requests draw on one budget shared by every replica using that Redis, and
    /// `POST /notify` goes through the outbox there ([`outbox`]).
    pub async fn from_env_or_emulator(
        app_origin: &str,
        settings: &Settings,
    ) -> Result<Self, String> {
        let webhook_secret = env_var("BEAMS_WEBHOOK_SECRET");
        let redis_url = settings.redis_url.as_deref();
        let unset = |var| std::env::var_os(var).is_none();
        if unset("BEAMS_INSTANCE_ID") && unset("BEAMS_SECRET_KEY") {
            let port = match std::env::var("BEAMS_EMULATOR_PORT") {
                Ok(p) => p
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| format!("BEAMS_EMULATOR_PORT must be a port number, got {p:?}"))?,
                Err(_) => 0,
            };
            let localhost = app_origin.replacen("127.0.0.1", "localhost", 1);
            let secret =
                webhook_secret.unwrap_or_else(beams_emulator::EmulatorBuilder::generate_secret_key);
            let target =
                WebhookTarget::new(format!("{app_origin}{}", WebhookReceiver::DEFAULT_PATH))
                    .secret(secret.clone());
            let emulator = Emulator::builder()
                .port(port)
                .inspection_origin(app_origin)
                .inspection_origin(localhost)
                .webhook(target)
                .start()
                .await
                .map_err(|e| format!("could not start the embedded Beams emulator: {e}"))?;
            let instance = emulator_instance(&emulator)?;
            return Self::build(instance, Some(emulator), redis_url)?
                .with_webhooks(&secret)?
                .with_outbox_from(settings);
        }
        let instance =
            Instance::from_env().map_err(|e| format!("invalid Beams configuration: {e}"))?;
        let beams = Self::build(instance, None, redis_url)?;
        let beams = match webhook_secret {
            Some(secret) => beams.with_webhooks(&secret)?,
            None => beams,
        };
        beams.with_outbox_from(settings)
    }

    /// With `settings.redis_url`, the outbox for this instance ([`outbox`]).
    fn with_outbox_from(self, settings: &Settings) -> Result<Self, String> {
        match &settings.redis_url {
            Some(url) => {
                let outbox = outbox(url, self.instance.id(), settings)?;
                Ok(self.with_outbox(outbox))
            }
            None => Ok(self),
        }
    }

    /// `POST /notify` enqueues into `outbox` (tests bring their own).
    #[must_use]
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Receives webhooks signed with `secret`.
    pub fn with_webhooks(mut self, secret: &str) -> Result<Self, String> {
        let receiver = WebhookReceiver::new(secret)
            .map_err(|e| format!("invalid BEAMS_WEBHOOK_SECRET: {e}"))?;
        self.webhooks = Some(receiver);
        Ok(self)
    }

    /// Uses a running emulator (tests start their own).
    pub fn with_emulator(emulator: Emulator) -> Result<Self, String> {
        let instance = emulator_instance(&emulator)?;
        Self::new(instance, Some(emulator))
    }

    /// Uses `instance`, publishing through a [`BeamsClient`] that paces itself.
    pub fn new(instance: Instance, emulator: Option<Emulator>) -> Result<Self, String> {
        Self::build(instance, emulator, None)
    }

    /// With `redis_url`, the client's requests draw on one budget shared by every replica
    /// using that Redis ([`RedisRateLimiter`](beams_core::publish::RedisRateLimiter)).
    fn build(
        instance: Instance,
        emulator: Option<Emulator>,
        redis_url: Option<&str>,
    ) -> Result<Self, String> {
        let mut client = BeamsClient::builder(&instance);
        if let Some(url) = redis_url {
            let limiter = RedisRateLimiter::beams(url, instance.id())
                .map_err(|e| format!("REDIS_URL: {e}"))?;
            client = client.rate_limiter(Arc::new(limiter));
        }
        let client = client
            .build()
            .map_err(|e| format!("could not build the Beams client: {e}"))?;
        Ok(Self {
            auth: BeamsAuth::new(&instance),
            instance,
            publisher: Arc::new(client),
            outbox: None,
            webhooks: None,
            reports: DeliveryReports::default(),
            emulator: emulator.map(Arc::new),
        })
    }

    /// Replaces the publish client (tests use `FakePublisher`).
    #[must_use]
    pub fn with_publisher(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.publisher = publisher;
        self
    }

    /// The embedded emulator, in emulator mode.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_deref()
    }

    /// The line printed at start (never the secret).
    pub fn describe(&self) -> String {
        match self.emulator() {
            Some(emu) => format!(
                "emulator mode: BEAMS_INSTANCE_ID/BEAMS_SECRET_KEY are not set, so an embedded Beams emulator serves {} (instance {})",
                emu.base_url(),
                self.instance.id()
            ),
            None => format!(
                "Beams instance {} at {}",
                self.instance.id(),
                self.instance.endpoint()
            ),
        }
    }

    /// `GET /demo-config`'s body: what the demo page needs to act as a web device.
    pub fn demo_config(&self, user: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "mode": if self.emulator.is_some() { "emulator" } else { "beams" },
            "instanceId": self.instance.id(),
            "emulatorBaseUrl": self.emulator().map(Emulator::base_url),
            "authPath": self.auth.path(),
            "webhooks": self.webhooks.is_some(),
            "outbox": self.outbox.is_some(),
            "user": user,
        })
    }

    /// `POST /notify` for the logged-in `user`, decided once for both apps: with the outbox
    /// (`REDIS_URL`) it is stored first and answered `202 {"queued": id}`; without, it is
    /// published at once and answered `200 {"publishId": …}`.
    pub async fn notify(
        &self,
        user: &str,
        form: &NotifyForm,
        idempotency_key: Option<&[u8]>,
    ) -> Result<(StatusCode, serde_json::Value), ApiError> {
        if let Some(outbox) = &self.outbox {
            let publish = form.publish(user, idempotency_key)?;
            let enqueued = outbox
                .enqueue(publish)
                .await
                .map_err(|error| ApiError::outbox(&error))?;
            tracing::info!(id = enqueued.id(), "queued");
            return Ok((
                StatusCode::ACCEPTED,
                serde_json::json!({ "queued": enqueued.id() }),
            ));
        }
        let notification = form.direct(idempotency_key)?;
        let published = self
            .publisher
            .publish_to_users(&[user], &notification)
            .await
            .map_err(|error| ApiError::publish(&error))?;
        tracing::info!(publish_id = published.publish_id(), "published");
        Ok((
            StatusCode::OK,
            serde_json::json!({ "publishId": published.publish_id() }),
        ))
    }

    /// `GET /notify/{id}` for the logged-in `user`: its status if `user` enqueued it, else
    /// `404` (unknown, expired, someone else's, or no outbox).
    pub async fn notification_status(
        &self,
        user: &str,
        id: &str,
    ) -> Result<serde_json::Value, ApiError> {
        let outbox = self
            .outbox
            .as_ref()
            .ok_or_else(ApiError::unknown_notification)?;
        match outbox
            .status(id)
            .await
            .map_err(|error| ApiError::outbox(&error))?
        {
            Some(status) if status.tag() == Some(user) => Ok(status_body(&status)),
            _ => Err(ApiError::unknown_notification()),
        }
    }

    /// `GET /delivery-report?publishId=…`'s body: what the webhooks said about `user`'s
    /// publish so far, plus (in emulator mode) how many of the user's devices it reached.
    pub fn delivery_report(&self, publish_id: &str, user: &str) -> serde_json::Value {
        let report = self.reports.get(publish_id, user);
        let devices = self.emulator().and_then(|emu| {
            let state = emu.state();
            state.publish(publish_id).map(|publish| {
                publish
                    .delivered_to
                    .iter()
                    .filter(|id| {
                        state.deliveries(id).iter().any(|d| {
                            d.publish_id == publish_id && d.user_id.as_deref() == Some(user)
                        })
                    })
                    .count()
            })
        });
        serde_json::json!({
            "publishId": publish_id,
            "attempt": report.attempt,
            "devices": devices,
            "acknowledged": report.acknowledged,
            "opened": report.opened,
        })
    }
}

/// How long one of the outbox's Redis commands may take before `POST /notify` answers `503`.
pub const OUTBOX_REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// The outbox of `instance_id` in the Redis at `url`: its keys under
/// `{beams-outbox:<instance id>}` (one Redis Cluster slot; apps of other instances sharing the
/// Redis keep apart, and so do emulator-mode replicas, each with its own emulator), with
/// `OUTBOX_CLAIM_IDLE_SECS` and `OUTBOX_MAX_AGE_SECS` from `settings`, and Redis commands
/// bounded by [`OUTBOX_REDIS_TIMEOUT`].
///
/// ```
/// use example_support::{Settings, beams::outbox};
///
/// // Nothing is connected until it is used.
/// let queue = outbox("redis://127.0.0.1:6379", "my-instance", &Settings::default()).unwrap();
/// # let _ = queue;
/// assert!(outbox("not a url", "my-instance", &Settings::default()).is_err());
/// ```
pub fn outbox(url: &str, instance_id: &str, settings: &Settings) -> Result<Outbox, String> {
    Outbox::builder(url)
        .prefix(format!("{{beams-outbox:{instance_id}}}"))
        .claim_idle(settings.outbox_claim_idle)
        .max_age(settings.outbox_max_age)
        .redis_timeout(OUTBOX_REDIS_TIMEOUT)
        .build()
        .map_err(|e| format!("REDIS_URL (outbox): {e}"))
}

/// The instance a running emulator serves, with the emulator as its endpoint.
fn emulator_instance(emulator: &Emulator) -> Result<Instance, String> {
    let state = emulator.state();
    Instance::builder(state.instance_id(), state.secret_key())
        .endpoint(emulator.base_url())
        .build()
        .map_err(|e| format!("emulator configuration refused: {e}"))
}

/// The web notification `POST /notify` publishes: `title` and `body`, or defaults when they
/// are missing or blank.
pub fn notification(title: Option<&str>, body: Option<&str>) -> Notification {
    let title = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("Hello from beams-rs");
    let body = body
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or("This notification was published to you.");
    Notification::new().web(WebPayload::new().notification(WebNotification::new(title, body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::notify_status;
    use beams_core::publish::FakePublisher;

    #[tokio::test]
    async fn the_notification_has_defaults_and_publishes_to_the_emulator() {
        let emu = Emulator::builder().start().await.unwrap();
        let demo = DemoBeams::with_emulator(emu).unwrap();
        let published = demo
            .publisher
            .publish_to_users(&["bob"], &notification(Some("  "), None))
            .await
            .unwrap();
        let emu = demo.emulator().unwrap();
        let recorded = emu.state().publishes();
        assert_eq!(recorded[0].publish_id, published.publish_id());
        assert_eq!(
            recorded[0].body["web"]["notification"]["title"],
            "Hello from beams-rs"
        );
        let cfg = demo.demo_config(Some("bob"));
        assert_eq!(cfg["mode"], "emulator");
        assert_eq!(cfg["emulatorBaseUrl"], emu.base_url());
        assert!(!demo.describe().contains(emu.state().secret_key()));
    }

    #[tokio::test]
    async fn oversized_notifications_are_validation_errors() {
        let fake = Arc::new(FakePublisher::new());
        let demo = DemoBeams::new(Instance::new("inst", "secret").unwrap(), None)
            .unwrap()
            .with_publisher(fake.clone());
        let long = "x".repeat(300_000);
        let err = demo
            .publisher
            .publish_to_users(&["alice"], &notification(Some(&long), None))
            .await
            .unwrap_err();
        assert_eq!(notify_status(&err), 400);
        assert!(fake.calls().is_empty());
    }
}
