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
//!   With `REDIS_URL` it enqueues into the durable outbox instead and answers `202
//!   {"queued":"<id>"}`, honouring an `Idempotency-Key` header and a `delay_secs` field.
//! - `GET /notify/{id}` — an enqueued notification's state, for the user who sent it.
//! - `POST /pusher/beams-webhooks` — Beams' delivery reports (with `BEAMS_WEBHOOK_SECRET`,
//!   and always in emulator mode), mounted with one line of [`beams_axum::webhook_router`].
//! - `GET /delivery-report?publishId=…` — what they said about the logged-in user's publish.
//!
//! The demo's machinery (settings, the embedded emulator, session stores, the hardened
//! server) is in `example-support`, so this crate is only what an app of your own would hold.
#![warn(missing_docs)]

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::from_fn;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use beams_axum::UserId;
use beams_axum::webhook::Webhook;
use example_support::DemoBeams;
use example_support::api::{
    ApiError, FORM_LIMIT, IDEMPOTENCY_KEY, LoginForm, NotifyForm, ReportQuery, USER_KEY,
};
use example_support::axum::{form_error, no_store, refuse_cross_site};
use serde_json::json;
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore};

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3000;

/// The whole app: [`routes`] inside sessions kept in `store`.
pub fn app(beams: DemoBeams, store: impl SessionStore + Clone) -> Router {
    routes(beams).layer(sessions(store))
}

/// Cookie sessions kept in `store`, ended after a day without a request. Plain HTTP on
/// localhost: the cookie cannot be `Secure`. Behind TLS, keep the default.
pub fn sessions<S: SessionStore + Clone>(store: S) -> SessionManagerLayer<S> {
    SessionManagerLayer::new(store)
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(Duration::days(1)))
}

/// The routes; they read the session, so they go inside [`sessions`].
pub fn routes(beams: DemoBeams) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/notify", post(notify))
        .layer(from_fn(refuse_cross_site))
        .route("/", get(|| async { Html(example_support::DEMO_PAGE) }))
        .route("/notify/{id}", get(notification_status))
        .route("/demo-config", get(demo_config))
        .route("/delivery-report", get(delivery_report))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        // The Beams auth route: the logged-in user is whoever `login` stored. A session
        // store that fails is a 503, not "logged out".
        .merge(beams_axum::router(
            beams.auth.clone(),
            |session: Session| async move { session.get::<String>(USER_KEY).await },
        ))
        .merge(webhook_routes(&beams))
        .with_state(beams)
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

/// The logged-in user, or a `401` saying what logging in is needed for.
async fn require_user(session: &Session, to: &str) -> Result<String, ApiError> {
    let user = session.get(USER_KEY).await.map_err(ApiError::session)?;
    user.ok_or_else(|| ApiError::not_logged_in(to))
}

async fn demo_config(
    State(beams): State<DemoBeams>,
    session: Session,
) -> Result<impl IntoResponse, ApiError> {
    let user: Option<String> = session.get(USER_KEY).await.map_err(ApiError::session)?;
    Ok(no_store(beams.demo_config(user.as_deref())))
}

async fn delivery_report(
    State(beams): State<DemoBeams>,
    session: Session,
    Query(query): Query<ReportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let user = require_user(&session, "see your delivery reports").await?;
    Ok(no_store(beams.delivery_report(&query.publish_id, &user)))
}

async fn notify(
    State(beams): State<DemoBeams>,
    session: Session,
    headers: HeaderMap,
    form: Result<Form<NotifyForm>, FormRejection>,
) -> Result<Response, ApiError> {
    // No body at all means the default title and body; a body that is not a readable form
    // (JSON, text…) is refused.
    let form = match form {
        Ok(Form(form)) => form,
        Err(FormRejection::InvalidFormContentType(_))
            if !headers.contains_key(header::CONTENT_TYPE) =>
        {
            NotifyForm::default()
        }
        Err(rejection) => {
            let what = "Send title and body as a url-encoded form of at most 16 KiB.";
            return Err(form_error(&rejection, what));
        }
    };
    let user = require_user(&session, "send yourself a notification").await?;
    let idempotency_key = headers.get(IDEMPOTENCY_KEY).map(HeaderValue::as_bytes);
    let (status, body) = beams.notify(&user, &form, idempotency_key).await?;
    Ok((status, no_store(body)).into_response())
}

/// What became of a notification the logged-in user enqueued; anyone else's is a `404`.
async fn notification_status(
    State(beams): State<DemoBeams>,
    session: Session,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let user = require_user(&session, "see your notifications").await?;
    Ok(no_store(beams.notification_status(&user, &id).await?))
}

async fn login(
    session: Session,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Form(form) = form.map_err(|rejection| {
        form_error(&rejection, "Send a url-encoded form with a username field.")
    })?;
    let user = UserId::new(form.username).map_err(ApiError::username)?;
    // A new session id at login, so an id planted before login is worthless afterwards.
    session.cycle_id().await.map_err(ApiError::session)?;
    session
        .insert(USER_KEY, user.as_str())
        .await
        .map_err(ApiError::session)?;
    tracing::debug!(user_id = user.as_str(), "logged in");
    Ok(no_store(json!({ "user_id": user.as_str() })))
}

async fn logout(session: Session) -> Result<impl IntoResponse, ApiError> {
    // Deleted from the store first: if the store fails, the answer is a `503` and the session
    // is left as it was, cookie included (`flush` would empty it first, and the cookie would
    // be removed from a `503` that did not log out).
    session.delete().await.map_err(ApiError::session)?;
    session.flush().await.map_err(ApiError::session)?;
    Ok(no_store(json!({ "user_id": null })))
}
