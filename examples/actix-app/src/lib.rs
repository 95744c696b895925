//! The actix-web example app: server-side sessions with actix-session (an in-memory store, so
//! logout revokes the session), a login form, and the Beams auth route mounted with one
//! `.service(..)` line.
//!
//! | Route                      | What it does                                              |
//! |----------------------------|-----------------------------------------------------------|
//! | `GET /`                    | the demo page                                             |
//! | `POST /login`              | form field `username`: starts a session for that user     |
//! | `POST /logout`             | ends the session                                          |
//! | `GET /pusher/beams-auth`   | the Beams auth route (from `beams-actix`)                 |
//! | `POST /notify`             | publishes to the logged-in user (form `title`, `body`)    |
//! | `GET /demo-config`         | what the demo page needs: mode, instance, emulator URL    |
//! | `POST /pusher/beams-webhooks` | Beams' delivery reports (`beams_actix::webhook_resource`) |
//! | `GET /delivery-report`     | what they said about the logged-in user's publish         |
//!
//! Without `BEAMS_INSTANCE_ID` and `BEAMS_SECRET_KEY` the binary starts an embedded Beams
//! emulator (see [`example_support::DemoBeams`]).
//!
//! The binary (`cargo run -p example-actix`) listens on `127.0.0.1:$PORT` (default 3001) and
//! prints `listening on http://127.0.0.1:<port>` once it accepts connections.
#![warn(missing_docs)]

mod store;

pub use store::{AppStore, MemorySessionStore, REDIS_TIMEOUT};

use actix_session::{Session, SessionMiddleware};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::Key;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, ResponseError, web};
use beams_actix::UserId;
use beams_actix::webhook::Webhook;
use example_support::{DemoBeams, Settings};

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3001;

/// The session key under which the logged-in user's id is stored.
pub const USER_KEY: &str = "user_id";

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "beams-example-session";

/// `SESSION_KEY`: the key that signs and encrypts the session cookie, at least 64 bytes;
/// every replica must have the same one. `None` when unset (the app then generates one, good
/// for one process only).
pub fn session_key_from_env() -> Result<Option<Key>, String> {
    example_support::env_var("SESSION_KEY")
        .map(|key| {
            Key::try_from(key.as_bytes()).map_err(|_| {
                format!(
                    "SESSION_KEY must be at least 64 bytes (got {}); generate one with \
                     `head -c 48 /dev/urandom | base64`",
                    key.len()
                )
            })
        })
        .transpose()
}

/// What the session middleware of every worker shares: the key that encrypts the session
/// cookie and the server-side store the cookie points into. Build one per process and clone it
/// into each worker (`HttpServer::new` runs its factory once per worker).
#[derive(Clone)]
pub struct Sessions {
    key: Key,
    store: AppStore,
}

impl Sessions {
    /// Sessions encrypted with `key`, in `store`.
    pub fn new(key: Key, store: AppStore) -> Self {
        Self { key, store }
    }

    /// Sessions that last as long as the process: a fresh random key and an empty in-memory
    /// store.
    pub fn generate() -> Self {
        Self::new(
            Key::generate(),
            AppStore::Memory(MemorySessionStore::new(Settings::DEFAULT_SESSION_CAPACITY)),
        )
    }

    /// The sessions `settings` ask for: in Redis with `REDIS_URL`, else in memory; with
    /// `session_key` (from [`session_key_from_env`]), else a generated one.
    pub async fn from_settings(
        settings: &Settings,
        session_key: Option<Key>,
    ) -> Result<Self, String> {
        let store = match &settings.redis_url {
            Some(url) => AppStore::redis(url).await?,
            None => AppStore::Memory(MemorySessionStore::new(settings.session_capacity)),
        };
        if settings.redis_url.is_some() && session_key.is_none() {
            tracing::warn!(
                "REDIS_URL is set without SESSION_KEY: the generated cookie key is this process's \
                 own, so other replicas cannot read its sessions"
            );
        }
        let key = session_key.unwrap_or_else(Key::generate);
        Ok(Self::new(key, store))
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Sessions")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The session layer: the cookie carries an encrypted random key, the session stays in
/// `sessions`' store, and logout deletes it there, so a copy of the cookie taken before logout
/// is worthless afterwards. A store that cannot be read fails the request with actix-session's
/// own `500` before any handler runs.
///
/// The cookie is not marked `Secure` because the example serves plain http on localhost.
pub fn session_middleware(sessions: &Sessions) -> SessionMiddleware<AppStore> {
    SessionMiddleware::builder(sessions.store.clone(), sessions.key.clone())
        .cookie_name(SESSION_COOKIE.to_owned())
        .cookie_secure(false)
        .build()
}

/// The largest form `POST /login` and `POST /notify` read; bigger ones get a `413`.
pub const FORM_LIMIT: usize = 16 * 1024;

/// The app's routes, without middleware.
pub fn routes(beams: DemoBeams) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config: &mut web::ServiceConfig| {
        let auth = beams.auth.clone();
        let bench_auth = auth.clone();
        let webhooks = beams.webhooks.clone();
        let reports = beams.reports.clone();
        config
            .app_data(web::Data::new(beams))
            .app_data(web::FormConfig::default().limit(FORM_LIMIT))
            .route("/", web::get().to(index))
            .route("/demo-config", web::get().to(demo_config))
            .route("/delivery-report", web::get().to(delivery_report))
            .route(
                "/login",
                web::post().to(login).wrap(from_fn(refuse_cross_site)),
            )
            .route(
                "/logout",
                web::post().to(logout).wrap(from_fn(refuse_cross_site)),
            )
            .route(
                "/notify",
                web::post().to(notify).wrap(from_fn(refuse_cross_site)),
            )
            // The Beams auth route: the logged-in user is whoever `login` stored.
            .service(beams_actix::resource(auth, |session: Session| async move {
                session.get::<String>(USER_KEY)
            }));
        // Beams' delivery reports, when the app has a webhook secret: verified by beams-actix,
        // recorded for the demo page (quickly: Beams wants an answer within 3 s).
        if let Some(receiver) = webhooks {
            config.service(beams_actix::webhook_resource(
                receiver,
                move |webhook: Webhook| {
                    reports.record(&webhook);
                    std::future::ready(())
                },
            ));
        }
        // Benchmark only, after every other route (bench/load.sh; needs BEAMS_BENCH_ROUTES=1).
        bench_routes(config, &bench_auth);
    }
}

/// The whole app: [`routes`] inside the session middleware. (No access-log middleware:
/// actix's `Logger` formats every request even when `RUST_LOG` hides it, about 8% of the
/// route's instructions; like the axum app, this one logs through `tracing`.) Call it
/// from `HttpServer::new` with [`Sessions`] shared by all workers.
pub fn app(
    beams: DemoBeams,
    sessions: Sessions,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .configure(routes(beams))
        .wrap(session_middleware(&sessions))
}

/// Refuses a state-changing request from another site with a `403` (see
/// [`example_support::is_cross_site`]).
async fn refuse_cross_site(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes());
    if example_support::is_cross_site(header("sec-fetch-site"), header("origin"), header("host")) {
        let refusal = AppError::new(
            StatusCode::FORBIDDEN,
            "Cross-site requests may not change the session or publish.",
        );
        return Ok(request.into_response(refusal.error_response()));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// Answers `408` when a request, its body included, has not been handled within `limit`:
/// actix-web bounds only the request head, so a client sending its body a byte at a time
/// would otherwise hold its connection for as long as it likes. Wrap the app with
/// `from_fn(move |req, next| deadline(limit, req, next))`.
pub async fn deadline(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // On time-out the request is gone with the dropped future (and cannot be cloned before
    // routing), so the answer goes back as an error, which actix turns into the response.
    match actix_web::rt::time::timeout(limit, next.call(request)).await {
        Ok(response) => Ok(response?.map_into_boxed_body()),
        Err(_) => Err(AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "The request was not complete in time.",
        )
        .into()),
    }
}

/// An error answer in the auth route's shape: `{"error":"<reason>","description":"…"}`.
#[derive(Debug)]
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
    fn form(error: &actix_web::Error, what: &str) -> Self {
        let status = match error.as_response_error().status_code() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, what)
    }

    fn session(error: impl std::fmt::Debug) -> Self {
        tracing::error!(?error, "the session could not be read or written");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The session store is unavailable. Try again shortly.",
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.description)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = serde_json::json!({
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "description": self.description,
        });
        json_no_store(self.status, &body)
    }
}

/// JSON that no cache keeps.
fn json_no_store(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body)
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(example_support::DEMO_PAGE)
}

fn session_user(session: &Session) -> Result<Option<String>, AppError> {
    session.get::<String>(USER_KEY).map_err(AppError::session)
}

/// The logged-in user, or a `401` saying what logging in is needed for.
fn require_user(session: &Session, to: &str) -> Result<String, AppError> {
    session_user(session)?.ok_or_else(|| {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            format!("You must be logged in to {to}."),
        )
    })
}

async fn demo_config(
    beams: web::Data<DemoBeams>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let user = session_user(&session)?;
    Ok(json_no_store(
        StatusCode::OK,
        &beams.demo_config(user.as_deref()),
    ))
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    #[serde(rename = "publishId")]
    publish_id: String,
}

/// `GET /delivery-report?publishId=…`: what the webhooks said about the logged-in user's
/// publish.
async fn delivery_report(
    beams: web::Data<DemoBeams>,
    session: Session,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let user = require_user(&session, "see your delivery reports")?;
    Ok(json_no_store(
        StatusCode::OK,
        &beams.delivery_report(&query.publish_id, &user),
    ))
}

#[derive(serde::Deserialize)]
struct NotifyForm {
    title: Option<String>,
    body: Option<String>,
}

async fn notify(
    req: HttpRequest,
    beams: web::Data<DemoBeams>,
    session: Session,
    form: Result<web::Form<NotifyForm>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    // No body at all means the default title and body; a body that is not a readable form
    // is refused.
    let form = match form {
        Ok(form) => Some(form.into_inner()),
        Err(_) if !req.headers().contains_key(header::CONTENT_TYPE) => None,
        Err(error) => {
            return Err(AppError::form(
                &error,
                "Send title and body as a url-encoded form of at most 16 KiB.",
            ));
        }
    };
    let user = require_user(&session, "send yourself a notification")?;
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
            Ok(json_no_store(
                StatusCode::OK,
                &serde_json::json!({ "publishId": published.publish_id() }),
            ))
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

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
}

async fn login(
    session: Session,
    form: Result<web::Form<LoginForm>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { username } = form
        .map_err(|error| AppError::form(&error, "Send a url-encoded form with a username field."))?
        .into_inner();
    let user = UserId::new(username).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            format!("The username is not a valid Beams user id: {e}."),
        )
    })?;
    // A new session id on every login (no session fixation).
    session.renew();
    session
        .insert(USER_KEY, user.as_str())
        .map_err(AppError::session)?;
    tracing::debug!(user_id = user.as_str(), "logged in");
    Ok(json_no_store(
        StatusCode::OK,
        &serde_json::json!({ "user_id": user.as_str() }),
    ))
}

async fn logout(session: Session) -> HttpResponse {
    session.purge();
    json_no_store(StatusCode::OK, &serde_json::json!({ "user_id": null }))
}

// ---- Benchmark only (bench/load.sh) -------------------------------------------------------
// `GET /bench/bare`, mounted only when `BEAMS_BENCH_ROUTES=1`: the same session extractor as
// the Beams route, answering a JSON body and headers of the same size as the route's, without
// the query check and the token. The route-vs-bare throughput ratio is the route's own cost.

/// The user `bench/load.sh` logs in as; `/bench/bare` answers with a body as long as this
/// user's `{"token":"…"}`.
pub const BENCH_USER: &str = "bench-user";

fn bench_routes(config: &mut web::ServiceConfig, auth: &beams_actix::BeamsAuth) {
    if std::env::var_os("BEAMS_BENCH_ROUTES").is_none_or(|v| v != "1") {
        return;
    }
    let user = UserId::new(BENCH_USER).expect("a valid user id");
    let token_len = auth.issuer().issue(&user).map_or(0, |t| t.as_str().len());
    let body: std::rc::Rc<str> = format!("{{\"token\":\"{}\"}}", "x".repeat(token_len)).into();
    config.route(
        "/bench/bare",
        web::get().to(move |session: Session| {
            let body = body.clone();
            async move {
                let mut res = match session.get::<String>(USER_KEY) {
                    Ok(Some(_)) => HttpResponse::Ok(),
                    _ => HttpResponse::Unauthorized(),
                };
                res.insert_header((header::CONTENT_TYPE, "application/json"))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .body(body.to_string())
            }
        }),
    );
}
