//! The README's actix-web quick start with a real `redis-server`: actix-session's
//! `RedisSessionStore` inside `beams_actix::TimeoutSessionStore`. With Redis frozen (`SIGSTOP`)
//! or killed, a token request or a login is a quick `5xx`, never a hang; once Redis is back,
//! logins and tokens work again at once.

use std::time::{Duration, Instant};

use actix_session::storage::RedisSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{Cookie, Key};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpResponse, test, web};
use beams_actix::{BeamsAuth, Instance, TimeoutSessionStore};
use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY};
use beams_tests::redis::RedisServer;

/// The store's bound on each call.
const STORE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a request may take while Redis is gone (the store's bound and a wide margin).
const BOUND: Duration = Duration::from_secs(5);

async fn login(session: Session, user: web::Path<String>) -> actix_web::Result<HttpResponse> {
    session.renew();
    session.insert("user_id", user.into_inner())?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /pusher/beams-auth?user_id=alice` with `cookie`, and how long it took.
async fn token<S>(app: &S, cookie: &Cookie<'static>) -> (u16, Duration)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let request = test::TestRequest::get()
        .uri("/pusher/beams-auth?user_id=alice")
        .cookie(cookie.clone())
        .to_request();
    let start = Instant::now();
    let status = match app.call(request).await {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    (status, start.elapsed())
}

/// `POST /login/<user>`: its status, its session cookie, how long it took.
async fn log_in<S>(app: &S, user: &str) -> (u16, Option<Cookie<'static>>, Duration)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let request = test::TestRequest::post()
        .uri(&format!("/login/{user}"))
        .to_request();
    let start = Instant::now();
    match app.call(request).await {
        Ok(response) => {
            let cookie = response.response().cookies().next().map(|c| c.into_owned());
            (response.status().as_u16(), cookie, start.elapsed())
        }
        Err(error) => (
            error.as_response_error().status_code().as_u16(),
            None,
            start.elapsed(),
        ),
    }
}

#[actix_web::test]
async fn a_frozen_or_killed_redis_is_a_quick_5xx_and_its_return_is_seen_at_once() {
    let mut redis = RedisServer::start();
    let instance = Instance::new(INSTANCE_ID, SECRET_KEY).expect("instance");
    let store = RedisSessionStore::new(redis.url()).await.expect("store");
    let store = TimeoutSessionStore::new(store, STORE_TIMEOUT);
    let app = test::init_service(
        App::new()
            .route("/login/{user}", web::post().to(login))
            .service(beams_actix::resource(
                BeamsAuth::new(&instance),
                |session: Session| async move { session.get::<String>("user_id") },
            ))
            .wrap(SessionMiddleware::new(store, Key::generate())),
    )
    .await;
    let (status, cookie, _) = log_in(&app, "alice").await;
    assert_eq!(status, 200);
    let cookie = cookie.expect("a session cookie");
    assert_eq!(token(&app, &cookie).await.0, 200);

    redis.pause();
    for _ in 0..3 {
        let (status, took) = token(&app, &cookie).await;
        assert!(
            status >= 500,
            "Redis frozen: the token request answered {status}"
        );
        assert!(
            took < BOUND,
            "Redis frozen: the token request took {took:?}"
        );
        let (status, _, took) = log_in(&app, "bob").await;
        assert!(status >= 500, "Redis frozen: the login answered {status}");
        assert!(took < BOUND, "Redis frozen: the login took {took:?}");
    }
    redis.resume();
    let (status, took) = token(&app, &cookie).await;
    assert_eq!(status, 200, "Redis thawed: took {took:?}");
    assert!(
        took < BOUND,
        "Redis thawed: the token request took {took:?}"
    );

    redis.kill();
    let (status, took) = token(&app, &cookie).await;
    assert!(
        status >= 500,
        "Redis killed: the token request answered {status}"
    );
    assert!(
        took < BOUND,
        "Redis killed: the token request took {took:?}"
    );

    // Back, empty (no persistence): the first login after it is not held up.
    redis.restart();
    let start = Instant::now();
    let cookie = loop {
        let (status, cookie, took) = log_in(&app, "alice").await;
        assert!(took < BOUND, "Redis back: a login took {took:?}");
        if status == 200 {
            break cookie.expect("a session cookie");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "Redis back: logins still answer {status}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("Redis back: a login worked after {:?}", start.elapsed());
    assert_eq!(token(&app, &cookie).await.0, 200);
}
