//! The route with real session extractors: actix-session's `!Send` `Session` and
//! actix-identity's `Identity`, logging in and out through cookies.

use actix_identity::{Identity, IdentityMiddleware};
use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
use actix_web::cookie::{Cookie, Key};
use actix_web::dev::ServiceResponse;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, test, web};
use beams_test_support::conformance as test_util;

fn session_middleware(key: &Key) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
        .cookie_secure(false)
        .build()
}

fn cookie(res: &ServiceResponse) -> Cookie<'static> {
    res.response()
        .cookies()
        .next()
        .expect("a session cookie")
        .into_owned()
}

async fn status_and_body(res: ServiceResponse) -> (u16, String) {
    let status = res.status().as_u16();
    let body = test::read_body(res).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn actix_session() {
    async fn login(session: Session, user: web::Path<String>) -> HttpResponse {
        session.renew();
        session.insert("user_id", user.into_inner()).unwrap();
        HttpResponse::NoContent().finish()
    }
    async fn logout(session: Session) -> HttpResponse {
        session.purge();
        HttpResponse::NoContent().finish()
    }

    let key = Key::generate();
    let app = test::init_service(
        App::new()
            .service(beams_actix::resource(
                test_util::auth(),
                |session: Session| async move { session.get::<String>("user_id") },
            ))
            .route("/login/{user}", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .wrap(session_middleware(&key)),
    )
    .await;
    let auth = |user: &str| format!("/pusher/beams-auth?user_id={user}");

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri(&auth("alice")).to_request(),
    )
    .await;
    let (status, body) = status_and_body(res).await;
    assert_eq!(status, 401);
    assert!(body.contains("You must be logged in"), "{body}");

    let login = test::TestRequest::post().uri("/login/alice").to_request();
    let session = cookie(&test::call_service(&app, login).await);

    let req = test::TestRequest::get()
        .uri(&auth("alice"))
        .cookie(session.clone());
    let (status, body) = status_and_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 200, "{body}");
    test_util::verify_token_body(&body, "alice").unwrap();

    let req = test::TestRequest::get()
        .uri(&auth("bob"))
        .cookie(session.clone());
    let (status, body) = status_and_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 401);
    assert!(body.contains("not the logged-in user"), "{body}");

    let req = test::TestRequest::post().uri("/logout").cookie(session);
    let emptied = cookie(&test::call_service(&app, req.to_request()).await);
    let req = test::TestRequest::get().uri(&auth("alice")).cookie(emptied);
    assert_eq!(
        test::call_service(&app, req.to_request())
            .await
            .status()
            .as_u16(),
        401
    );
}

#[actix_web::test]
async fn actix_identity() {
    async fn login(req: HttpRequest, user: web::Path<String>) -> HttpResponse {
        Identity::login(&req.extensions(), user.into_inner()).unwrap();
        HttpResponse::NoContent().finish()
    }

    let key = Key::generate();
    let app = test::init_service(
        App::new()
            .service(beams_actix::resource(
                test_util::auth(),
                |id: Identity| async move { id.id().ok() },
            ))
            .route("/login/{user}", web::post().to(login))
            .wrap(IdentityMiddleware::default())
            .wrap(session_middleware(&key)),
    )
    .await;

    // No identity: actix-identity's extractor rejects with 401, answered with our 401.
    let req = test::TestRequest::get().uri("/pusher/beams-auth?user_id=alice");
    let (status, body) = status_and_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 401);
    assert!(body.contains("could not be read"), "{body}");

    let login = test::TestRequest::post().uri("/login/alice").to_request();
    let session = cookie(&test::call_service(&app, login).await);
    let req = test::TestRequest::get()
        .uri("/pusher/beams-auth?user_id=alice")
        .cookie(session);
    let (status, body) = status_and_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 200, "{body}");
    test_util::verify_token_body(&body, "alice").unwrap();
}

#[actix_web::test]
async fn optional_identity_reads_as_logged_out() {
    let key = Key::generate();
    let app = test::init_service(
        App::new()
            .service(beams_actix::resource(
                test_util::auth(),
                |id: Option<Identity>| async move { id.and_then(|id| id.id().ok()) },
            ))
            .wrap(IdentityMiddleware::default())
            .wrap(session_middleware(&key)),
    )
    .await;
    let req = test::TestRequest::get().uri("/pusher/beams-auth?user_id=alice");
    let (status, body) = status_and_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 401);
    assert!(body.contains("You must be logged in"), "{body}");
}
