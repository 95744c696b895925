//! The actix-web example app: server-side sessions with actix-session (so logout revokes the
//! session), a login form, and the Beams auth route mounted with one `.service(..)` line.
//!
//! | Route                         | What it does                                              |
//! |-------------------------------|-----------------------------------------------------------|
//! | `GET /`                       | the demo page                                             |
//! | `POST /login`                 | form field `username`: starts a session for that user     |
//! | `POST /logout`                | ends the session                                          |
//! | `GET /pusher/beams-auth`      | the Beams auth route (from `beams-actix`)                 |
//! | `POST /notify`                | publishes to the logged-in user (form `title`, `body`)    |
//! | `GET /notify/{id}`            | an enqueued notification's state, for its sender          |
//! | `GET /demo-config`            | what the demo page needs: mode, instance, emulator URL    |
//! | `POST /pusher/beams-webhooks` | Beams' delivery reports (`beams_actix::webhook_resource`) |
//! | `GET /delivery-report`        | what they said about the logged-in user's publish         |
//!
//! With `REDIS_URL`, `POST /notify` enqueues into the durable outbox and answers `202
//! {"queued":"<id>"}`, honouring an `Idempotency-Key` header and a `delay_secs` field.
//!
//! The demo's machinery (settings, the embedded emulator, session stores, server limits) is
//! in `example-support`, so this crate is only what an app of your own would hold.
#![warn(missing_docs)]

use actix_session::Session;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};
use beams_actix::UserId;
use beams_actix::webhook::Webhook;
use example_support::DemoBeams;
use example_support::actix::{
    Sessions, actix_status, form_error, json_no_store, refuse_cross_site, session_unavailable,
};
use example_support::api::{
    ApiError, FORM_LIMIT, IDEMPOTENCY_KEY, LoginForm, NotifyForm, ReportQuery, USER_KEY,
};
use serde_json::json;

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3001;

/// The whole app: [`routes`] inside the session middleware. Call it from `HttpServer::new`
/// with [`Sessions`] shared by all workers. (No access-log middleware: actix's `Logger`
/// formats every request even when `RUST_LOG` hides it; the app logs through `tracing`.)
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
        .wrap(sessions.middleware())
        // A session store that fails: the JSON `503` with `Retry-After`, not actix-session's
        // empty `500`.
        .wrap(from_fn(session_unavailable))
}

/// The app's routes, without middleware.
pub fn routes(beams: DemoBeams) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config: &mut web::ServiceConfig| {
        let auth = beams.auth.clone();
        let webhooks = beams.webhooks.clone();
        let reports = beams.reports.clone();
        config
            .app_data(web::Data::new(beams))
            .app_data(web::FormConfig::default().limit(FORM_LIMIT))
            .route("/", web::get().to(index))
            .route("/demo-config", web::get().to(demo_config))
            .route("/delivery-report", web::get().to(delivery_report))
            .route("/notify/{id}", web::get().to(notification_status))
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
    }
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(example_support::DEMO_PAGE)
}

/// The logged-in user, or a `401` saying what logging in is needed for.
fn require_user(session: &Session, to: &str) -> Result<String, ApiError> {
    let user = session.get(USER_KEY).map_err(ApiError::session)?;
    user.ok_or_else(|| ApiError::not_logged_in(to))
}

async fn demo_config(
    beams: web::Data<DemoBeams>,
    session: Session,
) -> Result<HttpResponse, ApiError> {
    let user: Option<String> = session.get(USER_KEY).map_err(ApiError::session)?;
    let config = beams.demo_config(user.as_deref());
    Ok(json_no_store(StatusCode::OK, &config))
}

async fn delivery_report(
    beams: web::Data<DemoBeams>,
    session: Session,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = require_user(&session, "see your delivery reports")?;
    let report = beams.delivery_report(&query.publish_id, &user);
    Ok(json_no_store(StatusCode::OK, &report))
}

async fn notify(
    req: HttpRequest,
    beams: web::Data<DemoBeams>,
    session: Session,
    form: Result<web::Form<NotifyForm>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    // No body at all means the default title and body; a body that is not a readable form
    // is refused.
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(_) if !req.headers().contains_key(header::CONTENT_TYPE) => NotifyForm::default(),
        Err(error) => {
            let what = "Send title and body as a url-encoded form of at most 16 KiB.";
            return Err(form_error(&error, what));
        }
    };
    let user = require_user(&session, "send yourself a notification")?;
    let idempotency_key = req.headers().get(IDEMPOTENCY_KEY).map(|v| v.as_bytes());
    let (status, body) = beams.notify(&user, &form, idempotency_key).await?;
    Ok(json_no_store(actix_status(status), &body))
}

/// What became of a notification the logged-in user enqueued; anyone else's is a `404`.
async fn notification_status(
    beams: web::Data<DemoBeams>,
    session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = require_user(&session, "see your notifications")?;
    let body = beams.notification_status(&user, &id).await?;
    Ok(json_no_store(StatusCode::OK, &body))
}

async fn login(
    session: Session,
    form: Result<web::Form<LoginForm>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let form =
        form.map_err(|error| form_error(&error, "Send a url-encoded form with a username field."))?;
    let user = UserId::new(form.into_inner().username).map_err(ApiError::username)?;
    // A new session id on every login (no session fixation).
    session.renew();
    session
        .insert(USER_KEY, user.as_str())
        .map_err(ApiError::session)?;
    tracing::debug!(user_id = user.as_str(), "logged in");
    Ok(json_no_store(
        StatusCode::OK,
        &json!({ "user_id": user.as_str() }),
    ))
}

/// Ends the session. The session middleware deletes it from the store after this answer; if the
/// store fails, the answer becomes a `503` (see `session_unavailable`) and the cookie stays.
async fn logout(session: Session) -> HttpResponse {
    session.purge();
    json_no_store(StatusCode::OK, &json!({ "user_id": null }))
}
