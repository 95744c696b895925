//! The conformance table replayed straight through `BeamsAuth` (the two phases, as every
//! adapter runs them) and through the tower layer.
#![cfg(feature = "tower")]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use beams_core::tower::BeamsAuthLayer;
use beams_core::{SessionUser, UserId};
use beams_test_support::conformance::{
    self, CaseSession, Observed, rejection_from_headers, user_from_headers,
};
use http::{Request, Response};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt, service_fn};

/// Replays the table straight through `BeamsAuth`, the way the adapters do.
#[test]
fn core_passes_the_table() {
    let auth = conformance::auth();
    for case in conformance::cases() {
        let uri: http::Uri = case.uri().parse().unwrap();
        let method: http::Method = case.method.parse().unwrap();
        let headers = case.headers();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_bytes())
        };
        let res = match auth.check_request(&method, uri.query()) {
            Err(rejection) => rejection.to_response(),
            Ok(user) => match rejection_from_headers(get) {
                Some(status) => {
                    let status = http::StatusCode::from_u16(status).unwrap();
                    auth.extractor_rejected(user, status, "test::Session", "test")
                }
                None => {
                    let session: SessionUser = user_from_headers(get).into();
                    auth.authorize(user, session)
                }
            },
        };
        case.check(&Observed::from_http(&res)).unwrap();
    }
}

fn inner()
-> impl Service<Request<String>, Response = Response<String>, Error = Infallible, Future = impl Send>
+ Clone {
    service_fn(|req: Request<String>| async move {
        Ok::<_, Infallible>(Response::new(format!("inner {}", req.uri().path())))
    })
}

async fn resolve(parts: http::request::Parts) -> Result<Option<String>, String> {
    user_from_headers(|name| parts.headers.get(name).map(|v| v.as_bytes()))
}

#[tokio::test]
async fn the_tower_layer_replays_the_conformance_table() {
    // The layer's hook sees request parts; a rejected extractor has no equivalent here,
    // so rejection rows are checked through `BeamsAuth::extractor_rejected` in the replay above.
    let svc = BeamsAuthLayer::new(conformance::auth(), resolve).layer(inner());
    let mut checked = 0;
    for case in conformance::cases() {
        if matches!(case.session, CaseSession::Rejected(_)) {
            continue;
        }
        let mut req = Request::builder().method(case.method).uri(case.uri());
        for (k, v) in case.headers() {
            req = req.header(k, v);
        }
        let res = svc
            .clone()
            .oneshot(req.body(String::new()).unwrap())
            .await
            .unwrap();
        let (parts, body) = res.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        case.check(&Observed::from_http(&Response::from_parts(parts, body)))
            .unwrap();
        checked += 1;
    }
    assert!(checked >= 40, "{checked}");
}

#[tokio::test]
async fn the_tower_layer_forwards_other_paths_and_skips_the_hook_on_400() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let svc = BeamsAuthLayer::new(conformance::auth(), move |_parts: http::request::Parts| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Some(UserId::new("alice").unwrap()) }
    })
    .layer(inner());

    let res = svc
        .clone()
        .oneshot(
            Request::get("/pusher/beams-auth/x")
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"inner /pusher/beams-auth/x");

    let res = svc
        .clone()
        .oneshot(
            Request::get("/pusher/beams-auth?user_id=%ZZ")
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let res = svc
        .clone()
        .oneshot(
            Request::head("/pusher/beams-auth?user_id=alice")
                .body(String::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
