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
//! - `POST /pusher/beams-webhooks` — Beams' delivery reports (with `BEAMS_WEBHOOK_SECRET`,
//!   and always in emulator mode), mounted with one line of [`beams_axum::webhook_router`].
//! - `GET /delivery-report?publishId=…` — what they said about the logged-in user's publish.
//!
//! `cargo run -p example-axum` listens on `127.0.0.1:$PORT` (default 3000). With
//! `BEAMS_INSTANCE_ID` and `BEAMS_SECRET_KEY` set it uses that Beams instance (and
//! `BEAMS_ENDPOINT`); without them it starts an embedded Beams emulator
//! ([`example_support::DemoBeams`]). With `REDIS_URL` set, sessions live in that Redis, so
//! several replicas share them; otherwise in this process's memory, at most
//! `SESSION_CAPACITY` (default 10 000) at once.
#![warn(missing_docs)]

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use beams_axum::UserId;
use beams_axum::webhook::Webhook;
use example_support::{DemoBeams, Settings};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::cookie::time;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore};
use tower_sessions_moka_store::MokaStore;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike, Config, Pool, ReconnectPolicy,
};

/// The session key under which the logged-in user's id is stored.
pub const SESSION_USER_KEY: &str = "user_id";

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3000;

/// The largest form `POST /login` and `POST /notify` read; bigger ones get a `413`.
pub const FORM_LIMIT: usize = 16 * 1024;

/// How long a request head may take to arrive, and how long a kept-alive connection may idle.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections served at once; at the limit the server stops accepting until one
/// ends.
pub const MAX_CONNECTIONS: usize = 1024;

/// How long one session-store operation may take before the request is answered `503`.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(500);

/// Sessions end after this long without a request.
const SESSION_IDLE: time::Duration = time::Duration::days(1);

/// The whole app: pages, login, logout, notify and the Beams auth route, inside sessions
/// kept in `store`.
pub fn app<S: SessionStore + Clone>(beams: DemoBeams, store: S) -> Router {
    // Plain HTTP on localhost: the cookie cannot be `Secure`. Behind TLS, keep the default.
    let sessions = SessionManagerLayer::new(store)
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));

    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/notify", post(notify))
        .layer(middleware::from_fn(refuse_cross_site))
        .route("/", get(index))
        .route("/demo-config", get(demo_config))
        .route("/delivery-report", get(delivery_report))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        // The Beams auth route: the logged-in user is whoever `login` stored. A session
        // store that fails is a 503, not "logged out".
        .merge(beams_axum::router(
            beams.auth.clone(),
            |session: Session| async move { session.get::<String>(SESSION_USER_KEY).await },
        ))
        .merge(webhook_routes(&beams))
        .merge(bench_routes(&beams))
        .with_state(beams)
        // After the routes, so the session wraps the Beams route too.
        .layer(sessions)
}

/// Sessions in memory: at most `capacity`, each dropped when it expires.
pub fn memory_store(capacity: u64) -> MokaStore {
    MokaStore::new(Some(capacity))
}

/// Sessions in the Redis at `url`, shared by every replica. Each operation gives up after
/// [`STORE_TIMEOUT`] (so a Redis that is down or paused makes requests fail quickly, never
/// hang), and the connection is re-established in the background when Redis returns.
pub async fn redis_store(url: &str) -> Result<RedisStore<Pool>, String> {
    let config = Config::from_url(url).map_err(|e| format!("REDIS_URL: {e}"))?;
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = STORE_TIMEOUT;
            c.internal_command_timeout = STORE_TIMEOUT;
        })
        .with_performance_config(|p| p.default_command_timeout = STORE_TIMEOUT)
        .set_policy(ReconnectPolicy::new_constant(0, 200))
        .build_pool(2)
        .map_err(|e| format!("REDIS_URL: {e}"))?;
    pool.connect();
    if tokio::time::timeout(Duration::from_secs(2), pool.wait_for_connect())
        .await
        .is_err()
    {
        tracing::warn!("Redis is not reachable yet; session requests answer 503 until it is");
    }
    Ok(RedisStore::new(pool))
}

/// Binds `127.0.0.1:port`, builds the app, prints `listening on http://127.0.0.1:<port>` (the
/// real port, also for `PORT=0`) as the only line on stdout, and serves until Ctrl-C or
/// SIGTERM.
pub async fn run(settings: Settings) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", settings.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", settings.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let origin = format!("http://127.0.0.1:{port}");
    let beams = DemoBeams::from_env_or_emulator(&origin, &settings).await?;
    eprintln!("example-axum: {}", beams.describe());
    let app = match &settings.redis_url {
        Some(url) => {
            eprintln!("example-axum: sessions in Redis");
            app(beams, redis_store(url).await?)
        }
        None => app(beams, memory_store(settings.session_capacity)),
    };
    // A request, its body included, gets `request_timeout`; then `408` (hyper closes a
    // connection whose body was not read to the end).
    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        settings.request_timeout,
    ));
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {origin}").map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    drop(stdout);
    eprintln!("example-axum: open {origin} for the demo");
    serve(listener, app, shutdown_signal()).await;
    Ok(())
}

/// Serves `app` on `listener` until `shutdown` completes: hyper's HTTP/1 with a header-read
/// timeout on a timer (a client that sends nothing, sends its request head slowly, or idles
/// between requests is closed after [`HEADER_READ_TIMEOUT`]) and at most
/// [`MAX_CONNECTIONS`] connections at once; in-flight requests finish on shutdown.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, typically: wait instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = graceful.watch(
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone())),
        );
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(?error, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
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

/// Refuses a state-changing request from another site with a `403` (see
/// [`example_support::is_cross_site`]).
async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
    let cross_site = example_support::is_cross_site(
        header("sec-fetch-site"),
        header(header::ORIGIN.as_str()),
        header(header::HOST.as_str()),
    );
    if cross_site {
        return AppError::new(
            StatusCode::FORBIDDEN,
            "Cross-site requests may not change the session or publish.",
        )
        .into_response();
    }
    next.run(request).await
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

/// Who is logged in; a store that cannot be read is a `503`.
async fn session_user(session: &Session) -> Result<Option<String>, AppError> {
    session
        .get::<String>(SESSION_USER_KEY)
        .await
        .map_err(AppError::session)
}

/// The logged-in user, or a `401` saying what logging in is needed for.
async fn require_user(session: &Session, to: &str) -> Result<String, AppError> {
    session_user(session).await?.ok_or_else(|| {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            format!("You must be logged in to {to}."),
        )
    })
}

async fn demo_config(
    State(beams): State<DemoBeams>,
    session: Session,
) -> Result<impl IntoResponse, AppError> {
    let user = session_user(&session).await?;
    Ok(no_store(Json(beams.demo_config(user.as_deref()))))
}

/// `POST /pusher/beams-webhooks`, when the app has a webhook secret: Beams' delivery reports,
/// verified by beams-axum, recorded for the demo page (quickly: Beams wants an answer within
/// 3 s).
fn webhook_routes(beams: &DemoBeams) -> Router<DemoBeams> {
    let Some(receiver) = beams.webhooks.clone() else {
        return Router::new();
    };
    let reports = beams.reports.clone();
    beams_axum::webhook_router(receiver, move |webhook: Webhook| {
        reports.record(&webhook);
        std::future::ready(())
    })
}

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(rename = "publishId")]
    publish_id: String,
}

/// `GET /delivery-report?publishId=…`: what the webhooks said about the logged-in user's
/// publish.
async fn delivery_report(
    State(beams): State<DemoBeams>,
    session: Session,
    Query(query): Query<ReportQuery>,
) -> Result<impl IntoResponse, AppError> {
    let user = require_user(&session, "see your delivery reports").await?;
    Ok(no_store(Json(
        beams.delivery_report(&query.publish_id, &user),
    )))
}

#[derive(Deserialize)]
struct NotifyForm {
    title: Option<String>,
    body: Option<String>,
}

async fn notify(
    State(beams): State<DemoBeams>,
    session: Session,
    headers: HeaderMap,
    form: Result<Form<NotifyForm>, FormRejection>,
) -> Result<impl IntoResponse, AppError> {
    // No body at all means the default title and body; a body that is not a readable form
    // (JSON, text…) is refused.
    let form = match form {
        Ok(Form(form)) => Some(form),
        Err(FormRejection::InvalidFormContentType(_))
            if !headers.contains_key(header::CONTENT_TYPE) =>
        {
            None
        }
        Err(rejection) => {
            return Err(AppError::form(
                &rejection,
                "Send title and body as a url-encoded form of at most 16 KiB.",
            ));
        }
    };
    let user = require_user(&session, "send yourself a notification").await?;
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
