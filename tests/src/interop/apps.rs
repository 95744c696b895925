//! Both example apps, in-process on `127.0.0.1:0`, in emulator mode with a fixed instance id
//! and secret (so tests can verify the tokens), and logged-in sessions.

use std::sync::Arc;

use beams_emulator::Emulator;
use example_support::DemoBeams;
use reqwest::cookie::{CookieStore, Jar};
use serde_json::Value;

/// The instance every interop app serves (UUID-shaped, like real instance ids).
pub const INSTANCE_ID: &str = "5c1d3e2a-8b7f-4a6e-9d0c-2f4b6a8c0e13";
/// Its secret key (64 upper-case hex characters, like real keys; used as UTF-8 bytes).
pub const SECRET_KEY: &str = "9A3F0C7E1B5D2846F0E9C8B7A6D5E4F30123456789ABCDEF0FEDCBA987654321";

/// The `iss` claim Beams expects for [`INSTANCE_ID`].
pub fn issuer() -> String {
    format!("https://{INSTANCE_ID}.pushnotifications.pusher.com")
}

/// An emulator for [`INSTANCE_ID`]/[`SECRET_KEY`] on `127.0.0.1:0`.
pub async fn emulator() -> Emulator {
    Emulator::builder()
        .instance_id(INSTANCE_ID)
        .secret_key(SECRET_KEY)
        .start()
        .await
        .expect("the emulator starts")
}

/// The example apps' Beams side in emulator mode (an emulator of its own, fixed instance).
pub async fn demo_beams() -> DemoBeams {
    DemoBeams::with_emulator(emulator().await).expect("emulator configuration")
}

/// Which example app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// `example-axum` (tower-sessions, in-memory moka store).
    Axum,
    /// `example-actix` (actix-session, in-memory server-side store).
    Actix,
}

impl Framework {
    /// Both apps.
    pub const BOTH: [Self; 2] = [Self::Axum, Self::Actix];

    /// `"axum"` or `"actix"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Axum => "axum",
            Self::Actix => "actix",
        }
    }
}

enum Running {
    Axum(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

/// A running example app; stopped on drop.
pub struct App {
    framework: Framework,
    base: String,
    beams: DemoBeams,
    running: Running,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("framework", &self.framework)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Starts `framework`'s app with `beams` on `127.0.0.1:0`. The axum app runs on the
    /// caller's tokio runtime; the actix app on its own thread with an actix system.
    pub async fn start(framework: Framework, beams: DemoBeams) -> Self {
        let (base, running) = match framework {
            Framework::Axum => {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .expect("bind 127.0.0.1:0");
                let port = listener.local_addr().expect("local address").port();
                let store = example_support::axum::memory_store(1_000);
                let router = example_axum::app(beams.clone(), store);
                let task = tokio::spawn(example_support::server::serve(
                    listener,
                    router,
                    &example_support::Settings::default(),
                    std::future::pending(),
                ));
                (format!("http://127.0.0.1:{port}"), Running::Axum(task))
            }
            Framework::Actix => {
                let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
                let port = listener.local_addr().expect("local address").port();
                let sessions = example_support::actix::Sessions::generate();
                let app_beams = beams.clone();
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::spawn(move || {
                    actix_web::rt::System::new().block_on(async move {
                        let server = actix_web::HttpServer::new(move || {
                            example_actix::app(app_beams.clone(), sessions.clone())
                        })
                        .workers(1)
                        .disable_signals()
                        .shutdown_timeout(1)
                        .listen(listener)
                        .expect("actix listens")
                        .run();
                        let _ = tx.send(server.handle());
                        let _ = server.await;
                    });
                });
                let handle = rx.await.expect("the actix server starts");
                (format!("http://127.0.0.1:{port}"), Running::Actix(handle))
            }
        };
        Self {
            framework,
            base,
            beams,
            running,
        }
    }

    /// Both apps, sharing `beams` (so one emulator and one instance).
    pub async fn start_both(beams: &DemoBeams) -> Vec<Self> {
        let mut apps = Vec::new();
        for framework in Framework::BOTH {
            apps.push(Self::start(framework, beams.clone()).await);
        }
        apps
    }

    /// Which app this is.
    pub fn framework(&self) -> Framework {
        self.framework
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The app's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The auth route's path (`/pusher/beams-auth`).
    pub fn auth_path(&self) -> &str {
        self.beams.auth.path()
    }

    /// The auth route's absolute URL, without a query.
    pub fn auth_url(&self) -> String {
        self.url(self.auth_path())
    }

    /// The app's Beams side (its emulator, publisher, auth configuration).
    pub fn beams(&self) -> &DemoBeams {
        &self.beams
    }

    /// Logs `user` in through `POST /login` with a fresh reqwest cookie jar.
    pub async fn login(&self, user: &str) -> Session {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .expect("reqwest client");
        let response = client
            .post(self.url("/login"))
            .form(&[("username", user)])
            .send()
            .await
            .expect("POST /login");
        let status = response.status();
        let body: Value = response.json().await.expect("login answers JSON");
        assert_eq!(
            status,
            200,
            "{}: login as {user:?}: {body}",
            self.framework.name()
        );
        assert_eq!(
            body["user_id"],
            user,
            "{}: login echo",
            self.framework.name()
        );
        let url: reqwest::Url = self.base.parse().expect("base URL");
        let cookie = jar
            .cookies(&url)
            .unwrap_or_else(|| panic!("{}: login set no cookie", self.framework.name()))
            .to_str()
            .expect("ASCII cookie")
            .to_owned();
        Session {
            client,
            cookie,
            user: user.to_owned(),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        match &self.running {
            Running::Axum(task) => task.abort(),
            // `stop` sends the command at once; its future only waits for completion.
            Running::Actix(handle) => drop(handle.stop(false)),
        }
    }
}

/// A logged-in user of one app.
#[derive(Debug, Clone)]
pub struct Session {
    /// A client carrying the session cookie.
    pub client: reqwest::Client,
    /// The `Cookie` header value of the session.
    pub cookie: String,
    /// Who is logged in.
    pub user: String,
}
