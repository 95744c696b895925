//! The Beams auth route in an app that logs users in with actix-identity.
//!
//! ```text
//! BEAMS_INSTANCE_ID=… BEAMS_SECRET_KEY=… cargo run -p beams-actix --example identity
//! curl -c jar -X POST 'http://127.0.0.1:8080/login?user=alice'
//! curl -b jar 'http://127.0.0.1:8080/pusher/beams-auth?user_id=alice'   # {"token":"…"}
//! curl -b jar 'http://127.0.0.1:8080/pusher/beams-auth?user_id=bob'     # 401
//! ```

use actix_identity::{Identity, IdentityMiddleware};
use actix_session::{SessionMiddleware, storage::CookieSessionStore};
use actix_web::cookie::Key;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use beams_actix::{BeamsAuth, Instance};

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

/// Stands in for a real login: trusts the `user` query parameter.
async fn login(req: HttpRequest, form: web::Query<Login>) -> actix_web::Result<HttpResponse> {
    Identity::login(&req.extensions(), form.into_inner().user)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn logout(id: Identity) -> HttpResponse {
    id.logout();
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let beams = match Instance::from_env() {
        Ok(instance) => BeamsAuth::new(&instance),
        Err(error) => {
            eprintln!("Beams configuration: {error}");
            std::process::exit(2);
        }
    };
    let key = Key::generate();

    HttpServer::new(move || {
        App::new()
            // The logged-in user is the identity's id; no identity → the extractor fails
            // with 401 and the route answers 401.
            .service(beams_actix::resource(
                beams.clone(),
                |id: Identity| async move { id.id().ok() },
            ))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            // IdentityMiddleware needs the session, so SessionMiddleware must run first:
            // in actix-web the middleware registered last runs first.
            .wrap(IdentityMiddleware::default())
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    // Plain http on localhost; use secure cookies behind TLS.
                    .cookie_secure(false)
                    .build(),
            )
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
