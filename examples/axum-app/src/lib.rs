//! An axum app with cookie-session logins and Pusher Beams authenticated users.
//!
//! Routes:
//!
//! - `GET /` — a small page with login and logout forms.
//! - `POST /login` — form field `username`: starts a session for that user.
//! - `POST /logout` — ends the session.
//! - `GET /pusher/beams-auth?user_id=…` — the Beams auth route, mounted with one line of
//!   [`beams_axum::router`], reading the user from the tower-sessions session.
//!
//! `cargo run -p example-axum` with `BEAMS_INSTANCE_ID` and `BEAMS_SECRET_KEY` set listens on
//! `127.0.0.1:$PORT` (default 3000).
#![warn(missing_docs)]

use std::io::{self, Write};

use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use beams_axum::{BeamsAuth, BeamsConfig, UserId};
use beams_core::config::{ENV_INSTANCE_ID, ENV_SECRET_KEY};
use serde::Deserialize;
use tokio::net::TcpListener;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// The session key under which the logged-in user's id is stored.
pub const SESSION_USER_KEY: &str = "user_id";

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3000;

/// The demo page.
const INDEX_HTML: &str = include_str!("../static/index.html");

/// Why the app cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Neither `BEAMS_INSTANCE_ID` nor `BEAMS_SECRET_KEY` is set.
    #[error(
        "{ENV_INSTANCE_ID} and {ENV_SECRET_KEY} are not set. Set both to your Beams instance's \
         id and secret key (optionally BEAMS_ENDPOINT for another Beams-compatible server)."
    )]
    NotConfigured,
    /// The Beams configuration in the environment is incomplete or invalid.
    #[error("invalid Beams configuration: {0}")]
    Config(#[from] beams_core::ConfigError),
    /// `PORT` is not a port number.
    #[error("PORT must be a number from 0 to 65535 (got {0:?})")]
    InvalidPort(String),
}

/// The app's Beams configuration: from `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` and the
/// optional `BEAMS_ENDPOINT`.
///
/// When neither of the two is set there is, for now, no default and the app refuses to start
/// with [`StartError::NotConfigured`].
// The one place that decides where the configuration comes from: a default for the unset
// case (an embedded emulator) goes here.
pub fn beams_config_from_env_or_default() -> Result<BeamsConfig, StartError> {
    let unset = |var| std::env::var_os(var).is_none();
    if unset(ENV_INSTANCE_ID) && unset(ENV_SECRET_KEY) {
        return Err(StartError::NotConfigured);
    }
    Ok(BeamsConfig::from_env()?)
}

/// The port from `PORT`, or [`DEFAULT_PORT`]. `PORT=0` picks a free port.
pub fn port_from_env() -> Result<u16, StartError> {
    match std::env::var("PORT") {
        Err(_) => Ok(DEFAULT_PORT),
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|_| StartError::InvalidPort(value)),
    }
}

/// Logs to stderr (stdout carries only the `listening on` line), filtered by `RUST_LOG`
/// (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .init();
}

/// The whole app: pages, login, logout and the Beams auth route, inside a cookie session.
pub fn app(beams: BeamsAuth) -> Router {
    // Plain HTTP on localhost: the cookie cannot be `Secure`. Behind TLS, keep the default.
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);

    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        // POST /notify (publish to the logged-in user) is added here with the publish client.
        .merge(beams_axum::router(beams, |session: Session| async move {
            session.get::<String>(SESSION_USER_KEY).await.ok().flatten()
        }))
        // After the routes, so the session wraps the Beams route too.
        .layer(sessions)
}

/// Serves `app` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: TcpListener, app: Router) -> io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Binds `127.0.0.1:port`, prints `listening on http://127.0.0.1:<port>` (the real port, also
/// for `PORT=0`) as the only line on stdout, and serves the app.
pub async fn run(beams: BeamsAuth, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(
        port,
        instance_id = beams.config().instance_id(),
        "example-axum started"
    );
    serve(listener, app(beams)).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
}

async fn login(session: Session, form: Result<Form<LoginForm>, FormRejection>) -> Response {
    let Ok(Form(LoginForm { username })) = form else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "Send a url-encoded form with a username field.",
        );
    };
    let user = match UserId::new(username) {
        Ok(user) => user,
        Err(error) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("The username is not a valid Beams user id: {error}."),
            );
        }
    };
    // A new session id at login, so an id planted before login is worthless afterwards.
    let saved = async {
        session.cycle_id().await?;
        session.insert(SESSION_USER_KEY, user.as_str()).await
    };
    if let Err(error) = saved.await {
        tracing::error!(%error, "could not save the login session");
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The session could not be saved.",
        );
    }
    tracing::debug!(user_id = user.as_str(), "logged in");
    logged_in_as(Some(user.as_str()))
}

async fn logout(session: Session) -> Response {
    if let Err(error) = session.flush().await {
        tracing::error!(%error, "could not end the session");
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The session could not be ended.",
        );
    }
    logged_in_as(None)
}

/// `{"user_id": …}`: who is logged in after the request.
fn logged_in_as(user: Option<&str>) -> Response {
    no_store(Json(serde_json::json!({ "user_id": user })).into_response())
}

/// An error in the Beams route's shape: `{"error":"<reason>","description":"<sentence>"}`.
fn json_error(status: StatusCode, description: &str) -> Response {
    let body = serde_json::json!({
        "error": status.canonical_reason().unwrap_or("Error"),
        "description": description,
    });
    no_store((status, Json(body)).into_response())
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
