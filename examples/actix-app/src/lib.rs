//! The actix-web example app: cookie sessions with actix-session, a login form, and the
//! Beams auth route mounted with one `.service(..)` line.
//!
//! | Route                      | What it does                                              |
//! |----------------------------|-----------------------------------------------------------|
//! | `GET /`                    | the demo page                                             |
//! | `POST /login`              | form field `username`: starts a session for that user     |
//! | `POST /logout`             | ends the session                                          |
//! | `GET /pusher/beams-auth`   | the Beams auth route (from `beams-actix`)                 |
//!
//! The binary (`cargo run -p example-actix`) listens on `127.0.0.1:$PORT` (default 3001) and
//! prints `listening on http://127.0.0.1:<port>` once it accepts connections.
#![warn(missing_docs)]

use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
use actix_web::body::MessageBody;
use actix_web::cookie::Key;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, middleware, web};
use beams_core::{BeamsAuth, BeamsConfig, UserId};

/// The port used when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3001;

/// The session key under which the logged-in user's id is stored.
pub const USER_KEY: &str = "user_id";

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "beams-example-session";

const INDEX_HTML: &str = include_str!("../static/index.html");

/// Where the Beams configuration comes from: `BEAMS_INSTANCE_ID`, `BEAMS_SECRET_KEY` and the
/// optional `BEAMS_ENDPOINT`.
///
/// When neither of the two required variables is set there is nothing to talk to yet, and
/// this says so. (This is the one place that decides; an embedded emulator would start
/// here.)
pub fn beams_config_from_env_or_default() -> Result<BeamsConfig, String> {
    use beams_core::config::{ENV_INSTANCE_ID, ENV_SECRET_KEY};
    let unset = |var| std::env::var_os(var).is_none();
    if unset(ENV_INSTANCE_ID) && unset(ENV_SECRET_KEY) {
        return Err(format!(
            "{ENV_INSTANCE_ID} and {ENV_SECRET_KEY} are not set. Set them to your Beams \
             instance's id and secret key (Beams dashboard → Keys); set BEAMS_ENDPOINT too to \
             use another Beams-compatible server."
        ));
    }
    BeamsConfig::from_env().map_err(|error| format!("invalid Beams configuration: {error}"))
}

/// The port from `PORT` ([`DEFAULT_PORT`] when unset; `0` picks a free port).
pub fn port_from_env() -> Result<u16, String> {
    match std::env::var("PORT") {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_PORT),
        Ok(port) => port
            .trim()
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {port:?}")),
        Err(std::env::VarError::NotUnicode(_)) => Err("PORT is not valid Unicode".to_owned()),
    }
}

/// The session layer: signed cookies holding the session itself (no server-side store).
///
/// The cookie is not marked `Secure` because the example serves plain http on localhost.
pub fn session_middleware(key: Key) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(SESSION_COOKIE.to_owned())
        .cookie_secure(false)
        .build()
}

/// The app's routes, without middleware.
pub fn routes(beams: BeamsAuth) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config: &mut web::ServiceConfig| {
        config
            .route("/", web::get().to(index))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            // POST /notify (publish to the logged-in user) is added here with the publish
            // client.
            //
            // The Beams auth route: the logged-in user is whoever `login` stored.
            .service(beams_actix::service(beams, |session: Session| async move {
                session.get::<String>(USER_KEY).ok().flatten()
            }));
    }
}

/// The whole app: [`routes`] inside the session middleware and a request logger. Call it
/// from `HttpServer::new` with a key shared by all workers.
pub fn app(
    beams: BeamsAuth,
    key: Key,
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
        .wrap(session_middleware(key))
        .wrap(middleware::Logger::default())
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INDEX_HTML)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
}

async fn login(
    session: Session,
    form: Result<web::Form<LoginForm>, actix_web::Error>,
) -> HttpResponse {
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(error) => {
            let status = error.as_response_error().status_code();
            return json_error(status, "Send a form with the field `username`.");
        }
    };
    let user = match UserId::new(form.username) {
        Ok(user) => user,
        Err(error) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid username: {error}."),
            );
        }
    };
    // A new session id on every login (no session fixation).
    session.renew();
    if let Err(error) = session.insert(USER_KEY, user.as_str()) {
        tracing::error!(%error, "could not store the session");
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The session could not be saved.",
        );
    }
    tracing::info!(user_id = user.as_str(), "logged in");
    HttpResponse::Ok().json(serde_json::json!({ "user_id": user.as_str() }))
}

async fn logout(session: Session) -> HttpResponse {
    session.purge();
    HttpResponse::NoContent().finish()
}

/// An error in the Beams shape, `{"error":"<reason phrase>","description":"<sentence>"}`.
fn json_error(status: StatusCode, description: &str) -> HttpResponse {
    let error = status.canonical_reason().unwrap_or("Error");
    HttpResponse::build(status).json(serde_json::json!({
        "error": error,
        "description": description,
    }))
}
