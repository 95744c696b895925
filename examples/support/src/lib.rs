//! What `example-axum` and `example-actix` share, so that both apps behave alike and each
//! framework's code only converts: where the Beams configuration comes from (the environment,
//! or an embedded [`beams_emulator`] when it is not set), `POST /notify`, the demo page and
//! its configuration.
//!
//! Like the auth route, every answer here is an `http::Response<String>` with JSON in Beams'
//! error shape; axum returns it as is and actix converts it with `beams_actix::into_actix`.
#![warn(missing_docs)]

pub mod hostile;
pub mod testing;

use std::sync::Arc;

use beams_core::config::{ENV_INSTANCE_ID, ENV_SECRET_KEY};
use beams_core::publish::{
    BeamsClient, Notification, PublishError, Publisher, WebNotification, WebPayload,
};
use beams_core::{BeamsAuth, BeamsConfig, UserId};
use beams_emulator::Emulator;
use http::{Response, StatusCode, header};

/// The demo page served at `GET /` by both apps.
pub const DEMO_PAGE: &str = include_str!("../../demo-page/index.html");

/// The Beams side of an example app: the auth route's configuration, the publish client and,
/// in emulator mode, the running emulator (kept alive as long as this value).
#[derive(Clone)]
pub struct DemoBeams {
    /// The auth route.
    pub auth: BeamsAuth,
    /// The publish client used by `POST /notify`.
    pub publisher: Arc<dyn Publisher>,
    emulator: Option<Arc<Emulator>>,
}

impl std::fmt::Debug for DemoBeams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoBeams")
            .field("auth", &self.auth)
            .field("emulator", &self.emulator)
            .finish_non_exhaustive()
    }
}

impl DemoBeams {
    /// Uses `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` (and `BEAMS_ENDPOINT`) when they are set;
    /// when neither of the two is set, starts an embedded emulator on `127.0.0.1` (port
    /// `BEAMS_EMULATOR_PORT`, default any free port) and uses that.
    pub async fn from_env_or_emulator() -> Result<Self, String> {
        let unset = |var| std::env::var_os(var).is_none();
        if unset(ENV_INSTANCE_ID) && unset(ENV_SECRET_KEY) {
            let port = match std::env::var("BEAMS_EMULATOR_PORT") {
                Ok(p) => p
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| format!("BEAMS_EMULATOR_PORT must be a port number, got {p:?}"))?,
                Err(_) => 0,
            };
            let emulator = Emulator::builder()
                .port(port)
                .start()
                .await
                .map_err(|e| format!("could not start the embedded Beams emulator: {e}"))?;
            return Self::with_emulator(emulator);
        }
        let config =
            BeamsConfig::from_env().map_err(|e| format!("invalid Beams configuration: {e}"))?;
        Self::new(config, None)
    }

    /// Uses a running emulator (tests start their own).
    pub fn with_emulator(emulator: Emulator) -> Result<Self, String> {
        let config = BeamsConfig::builder(emulator.instance_id(), emulator.secret_key())
            .base_url(emulator.base_url())
            .build()
            .map_err(|e| format!("emulator configuration refused: {e}"))?;
        Self::new(config, Some(emulator))
    }

    /// Uses `config`, publishing through a [`BeamsClient`].
    pub fn new(config: BeamsConfig, emulator: Option<Emulator>) -> Result<Self, String> {
        let client = BeamsClient::new(&config)
            .map_err(|e| format!("could not build the Beams client: {e}"))?;
        Ok(Self {
            auth: BeamsAuth::new(config),
            publisher: Arc::new(client),
            emulator: emulator.map(Arc::new),
        })
    }

    /// Replaces the publish client (tests use `FakePublisher`).
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
        let config = self.auth.config();
        match self.emulator() {
            Some(emu) => format!(
                "emulator mode: BEAMS_INSTANCE_ID/BEAMS_SECRET_KEY are not set, so an embedded Beams emulator serves {} (instance {})",
                emu.base_url(),
                emu.instance_id()
            ),
            None => format!(
                "Beams instance {} at {}",
                config.instance_id(),
                config.base_url()
            ),
        }
    }

    /// `GET /demo-config`: what the demo page needs to act as a web device.
    pub fn demo_config(&self, user: Option<&str>) -> Response<String> {
        let config = self.auth.config();
        let body = serde_json::json!({
            "mode": if self.emulator.is_some() { "emulator" } else { "beams" },
            "instanceId": config.instance_id(),
            "emulatorBaseUrl": self.emulator().map(|e| e.base_url()),
            "authPath": config.auth_path(),
            "user": user,
        });
        json(StatusCode::OK, body.to_string())
    }

    /// `POST /notify`: publishes `title`/`body` (defaults when empty) to the logged-in user.
    ///
    /// `200 {"publishId":…}`; `401` when nobody is logged in; `400` for input Beams would
    /// refuse; `502` (or `504` on a timeout) when Beams fails, with its reason in the
    /// description. Never a panic, never a hang: the client has a per-request timeout.
    pub async fn notify(
        &self,
        user: Option<&str>,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Response<String> {
        let Some(user) = user else {
            return error(
                StatusCode::UNAUTHORIZED,
                "You must be logged in to send yourself a notification.",
            );
        };
        let title = title
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("Hello from beams-rs");
        let body = body
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .unwrap_or("This notification was published to you.");
        let notification = Notification::new()
            .web(WebPayload::new().notification(WebNotification::new(title, body)));
        match self
            .publisher
            .publish_to_users(&[user], &notification)
            .await
        {
            Ok(published) => {
                tracing::info!(
                    publish_id = published.publish_id(),
                    "published to the logged-in user"
                );
                json(
                    StatusCode::OK,
                    serde_json::json!({ "publishId": published.publish_id() }).to_string(),
                )
            }
            Err(err) => {
                let status = notify_status(&err);
                tracing::warn!(error = %err, status = status.as_u16(), "publish failed");
                error(status, &err.to_string())
            }
        }
    }
}

/// The status `POST /notify` answers with for a failed publish.
pub fn notify_status(err: &PublishError) -> StatusCode {
    match err {
        PublishError::Validation(_) => StatusCode::BAD_REQUEST,
        PublishError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// `POST /login`'s check of its form, the same in both apps: the username as a Beams user id,
/// or the 400 to answer. `None` means the form was missing or unreadable.
///
/// ```
/// let user = example_support::login_user(Some("alice".to_owned())).unwrap();
/// assert_eq!(user.as_str(), "alice");
/// assert_eq!(example_support::login_user(Some(String::new())).unwrap_err().status(), 400);
/// assert_eq!(example_support::login_user(None).unwrap_err().status(), 400);
/// ```
#[allow(
    clippy::result_large_err,
    reason = "the Err is the response to send, moved once, like BeamsAuth::check_request's"
)]
pub fn login_user(username: Option<String>) -> Result<UserId, Response<String>> {
    let Some(username) = username else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Send a url-encoded form with a username field.",
        ));
    };
    UserId::new(username).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("The username is not a valid Beams user id: {e}."),
        )
    })
}

/// The 500 when the host's session store could not save a login.
pub fn session_not_saved() -> Response<String> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The session could not be saved.",
    )
}

/// `POST /login` and `POST /logout`'s answer: `200 {"user_id": …}`, who is logged in after
/// the request (`null` after logout), not cacheable.
pub fn logged_in_as(user: Option<&str>) -> Response<String> {
    json(
        StatusCode::OK,
        serde_json::json!({ "user_id": user }).to_string(),
    )
}

/// The demo page as a response.
pub fn demo_page() -> Response<String> {
    let mut res = Response::new(DEMO_PAGE.to_owned());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

/// An error in Beams' shape: `{"error":"<reason phrase>","description":"<sentence>"}`.
pub fn error(status: StatusCode, description: &str) -> Response<String> {
    let body = serde_json::json!({
        "error": status.canonical_reason().unwrap_or("Error"),
        "description": description,
    });
    json(status, body.to_string())
}

fn json(status: StatusCode, body: String) -> Response<String> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use beams_core::publish::FakePublisher;

    fn demo(fake: &Arc<FakePublisher>) -> DemoBeams {
        DemoBeams::new(BeamsConfig::new("inst", "secret").unwrap(), None)
            .unwrap()
            .with_publisher(fake.clone())
    }

    #[tokio::test]
    async fn notify_publishes_to_the_user_only() {
        let fake = Arc::new(FakePublisher::new());
        let res = demo(&fake).notify(Some("alice"), Some("T"), None).await;
        assert_eq!(res.status(), 200, "{}", res.body());
        assert_eq!(fake.users_published_to(), vec!["alice".to_owned()]);
        let call = &fake.calls()[0];
        assert!(format!("{call:?}").contains("This notification was published to you."));
    }

    #[tokio::test]
    async fn notify_errors_are_json() {
        let fake = Arc::new(FakePublisher::new());
        let res = demo(&fake).notify(None, None, None).await;
        assert_eq!(res.status(), 401);
        let v: serde_json::Value = serde_json::from_str(res.body()).unwrap();
        assert_eq!(v["error"], "Unauthorized");
        let long = "x".repeat(300_000);
        let res = demo(&fake).notify(Some("alice"), Some(&long), None).await;
        assert_eq!(res.status(), 400, "{}", res.body());
        assert!(fake.calls().is_empty());
    }

    #[tokio::test]
    async fn emulator_mode_publishes_to_the_emulator() {
        let emu = Emulator::builder().start().await.unwrap();
        let demo = DemoBeams::with_emulator(emu).unwrap();
        let res = demo.notify(Some("bob"), None, None).await;
        assert_eq!(res.status(), 200, "{}", res.body());
        let emu = demo.emulator().unwrap();
        assert_eq!(emu.publishes().len(), 1);
        let cfg: serde_json::Value =
            serde_json::from_str(demo.demo_config(Some("bob")).body()).unwrap();
        assert_eq!(cfg["mode"], "emulator");
        assert_eq!(cfg["emulatorBaseUrl"], emu.base_url());
        assert!(!demo.describe().contains(emu.secret_key()));
    }
}
