//! An axum app with cookie-session logins and Pusher Beams authenticated users.
//!
//! Routes:
//!
//! - `GET /` — the demo page (it acts as a web device in emulator mode).
//! - `GET /demo-config` — what the demo page needs: mode, instance id, emulator URL, user.
//! - `POST /login` — form field `username`: starts a session for that user.
//! - `POST /logout` — ends the session.
//! - `GET /pusher/beams-auth?user_id=…` — the Beams auth route, mounted with one line of
//!   [`beams_axum::router`], reading the user from the tower-sessions session.
//! - `POST /notify` — form fields `title`, `body` (optional): publishes to the logged-in user.
//!
//! `cargo run -p example-axum` listens on `127.0.0.1:$PORT` (default 3000). With
//! `BEAMS_INSTANCE_ID` and `BEAMS_SECRET_KEY` set it uses that Beams instance (and
//! `BEAMS_ENDPOINT`); without them it starts an embedded Beams emulator
//! ([`example_support::DemoBeams`]).
#![warn(missing_docs)]

use std::io::{self, Write};

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use beams_axum::UserId;
use example_support::DemoBeams;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// The session key under which the logged-in user's id is stored.
pub const SESSION_USER_KEY: &str = "user_id";

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3000;

/// The largest form `POST /login` and `POST /notify` read; bigger ones get a `413`.
pub const FORM_LIMIT: usize = 16 * 1024;

/// `PORT` is not a port number.
#[derive(Debug, thiserror::Error)]
#[error("PORT must be a number from 0 to 65535 (got {0:?})")]
pub struct InvalidPort(pub String);

/// The port from `PORT`, or [`DEFAULT_PORT`]. `PORT=0` picks a free port.
pub fn port_from_env() -> Result<u16, InvalidPort> {
    match std::env::var("PORT") {
        Err(_) => Ok(DEFAULT_PORT),
        Ok(value) => value.trim().parse().map_err(|_| InvalidPort(value)),
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

/// The whole app: pages, login, logout, notify and the Beams auth route, inside a cookie
/// session.
pub fn app(beams: DemoBeams) -> Router {
    // Plain HTTP on localhost: the cookie cannot be `Secure`. Behind TLS, keep the default.
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);

    Router::new()
        .route("/", get(index))
        .route("/demo-config", get(demo_config))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/notify", post(notify))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        // The Beams auth route: the logged-in user is whoever `login` stored. A session
        // store that fails is a 503, not "logged out".
        .merge(beams_axum::router(
            beams.auth.clone(),
            |session: Session| async move { session.get::<String>(SESSION_USER_KEY).await },
        ))
        .merge(bench_routes(&beams))
        .with_state(beams)
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
pub async fn run(beams: DemoBeams, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on http://127.0.0.1:{port}")?;
    stdout.flush()?;
    drop(stdout);
    eprintln!("example-axum: {}", beams.describe());
    eprintln!("example-axum: open http://127.0.0.1:{port} for the demo");
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

/// An error answer in the auth route's shape: `{"error":"<reason>","description":"…"}`.
struct AppError {
    status: StatusCode,
    description: String,
}

impl AppError {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    /// A form that could not be read: `413` when too large, else `400`.
    fn form(rejection: &FormRejection, what: &str) -> Self {
        let status = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, what)
    }

    fn session(error: tower_sessions::session::Error) -> Self {
        tracing::error!(?error, "the session store failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The session store is unavailable. Try again shortly.",
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "description": self.description,
        });
        (self.status, no_store(Json(body))).into_response()
    }
}

/// JSON that no cache keeps.
fn no_store(json: Json<Value>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], json)
}

async fn index() -> Html<&'static str> {
    Html(example_support::DEMO_PAGE)
}

async fn demo_config(
    State(beams): State<DemoBeams>,
    session: Session,
) -> Result<impl IntoResponse, AppError> {
    let user: Option<String> = session
        .get(SESSION_USER_KEY)
        .await
        .map_err(AppError::session)?;
    Ok(no_store(Json(beams.demo_config(user.as_deref()))))
}

#[derive(Deserialize)]
struct NotifyForm {
    title: Option<String>,
    body: Option<String>,
}

async fn notify(
    State(beams): State<DemoBeams>,
    session: Session,
    form: Result<Form<NotifyForm>, FormRejection>,
) -> Result<impl IntoResponse, AppError> {
    // No body at all means the default title and body; a body that is not a readable form
    // is refused.
    let form = match form {
        Ok(Form(form)) => Some(form),
        Err(FormRejection::InvalidFormContentType(_)) => None,
        Err(rejection) => {
            return Err(AppError::form(
                &rejection,
                "Send title and body as a url-encoded form of at most 16 KiB.",
            ));
        }
    };
    let user: Option<String> = session
        .get(SESSION_USER_KEY)
        .await
        .map_err(AppError::session)?;
    let Some(user) = user else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "You must be logged in to send yourself a notification.",
        ));
    };
    let notification = example_support::notification(
        form.as_ref().and_then(|f| f.title.as_deref()),
        form.as_ref().and_then(|f| f.body.as_deref()),
    );
    match beams
        .publisher
        .publish_to_users(&[user.as_str()], &notification)
        .await
    {
        Ok(published) => {
            tracing::info!(publish_id = published.publish_id(), "published");
            Ok(no_store(Json(
                json!({ "publishId": published.publish_id() }),
            )))
        }
        Err(error) => {
            let status = example_support::notify_status(&error);
            // Debug: Beams' own text is escaped, so it cannot forge log lines.
            tracing::warn!(?error, status, "publish failed");
            Err(AppError::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                error.to_string(),
            ))
        }
    }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
}

async fn login(
    session: Session,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<impl IntoResponse, AppError> {
    let Form(LoginForm { username }) = form.map_err(|rejection| {
        AppError::form(&rejection, "Send a url-encoded form with a username field.")
    })?;
    let user = UserId::new(username).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            format!("The username is not a valid Beams user id: {e}."),
        )
    })?;
    // A new session id at login, so an id planted before login is worthless afterwards.
    session.cycle_id().await.map_err(AppError::session)?;
    session
        .insert(SESSION_USER_KEY, user.as_str())
        .await
        .map_err(AppError::session)?;
    tracing::debug!(user_id = user.as_str(), "logged in");
    Ok(no_store(Json(json!({ "user_id": user.as_str() }))))
}

async fn logout(session: Session) -> Result<impl IntoResponse, AppError> {
    session.flush().await.map_err(AppError::session)?;
    Ok(no_store(Json(json!({ "user_id": null }))))
}

// ---- Benchmark only (bench/load.sh) -------------------------------------------------------
// `GET /bench/bare`, mounted only when `BEAMS_BENCH_ROUTES=1`: the same session extractor as
// the Beams route, answering a JSON body and headers of the same size as the route's, without
// the query check and the token. The route-vs-bare throughput ratio is the route's own cost.

/// The user `bench/load.sh` logs in as; `/bench/bare` answers with a body as long as this
/// user's `{"token":"…"}`.
pub const BENCH_USER: &str = "bench-user";

fn bench_routes(beams: &DemoBeams) -> Router<DemoBeams> {
    if std::env::var_os("BEAMS_BENCH_ROUTES").is_none_or(|v| v != "1") {
        return Router::new();
    }
    let user = UserId::new(BENCH_USER).expect("a valid user id");
    let token_len = beams
        .auth
        .issuer()
        .issue(&user)
        .map_or(0, |t| t.as_str().len());
    let body: std::sync::Arc<str> = format!("{{\"token\":\"{}\"}}", "x".repeat(token_len)).into();
    Router::new().route(
        "/bench/bare",
        get(move |session: Session| async move {
            let status = match session.get::<String>(SESSION_USER_KEY).await {
                Ok(Some(_)) => StatusCode::OK,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut res = http::Response::new(body.to_string());
            *res.status_mut() = status;
            let headers = res.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            res
        }),
    )
}
