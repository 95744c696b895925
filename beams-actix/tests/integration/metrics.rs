//! Feature `metrics`: a known sequence of requests through the actix-web route, counted
//! exactly once each by outcome, with one duration sample per request.

use actix_web::App;
use actix_web::http::StatusCode;
use actix_web::test as actix_test;
use beams_test_support::conformance::{
    self as test_util, TEST_REJECT_HEADER, TEST_UNAVAILABLE_HEADER, TEST_USER_HEADER,
};

use crate::conformance::TestSession;
use beams_test_support::metrics::{expect, recorded};

/// A user id that must never appear in a label.
const USER: &str = "zz-distinctive-user-42";

#[test]
fn each_request_is_counted_once_by_outcome() {
    let uri = format!("/pusher/beams-auth?user_id={USER}");
    let get = |headers: &[(&'static str, &'static str)]| {
        let mut req = actix_test::TestRequest::get().uri(&uri);
        for header in headers {
            req = req.insert_header(*header);
        }
        req.to_request()
    };
    let requests = [
        (get(&[(TEST_USER_HEADER, USER)]), StatusCode::OK),
        (get(&[]), StatusCode::UNAUTHORIZED),
        (
            get(&[(TEST_USER_HEADER, "someone-else")]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            get(&[(TEST_REJECT_HEADER, "500")]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            actix_test::TestRequest::get()
                .uri("/pusher/beams-auth?user_id=%ZZ")
                .to_request(),
            StatusCode::BAD_REQUEST,
        ),
        (
            actix_test::TestRequest::post().uri(&uri).to_request(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            get(&[(TEST_UNAVAILABLE_HEADER, "1")]),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    // actix-web's test runtime runs on this thread, so the thread's recorder sees it all.
    let ((), rec) = recorded(|| {
        actix_web::rt::System::new().block_on(async {
            let app = actix_test::init_service(App::new().service(beams_actix::resource(
                test_util::auth(),
                |s: TestSession| async move { s.0 },
            )))
            .await;
            for (req, status) in requests {
                let res = actix_test::call_service(&app, req).await;
                assert_eq!(res.status(), status);
            }
        })
    });
    assert_eq!(
        rec.counters("beams_auth_requests_total"),
        expect(&[
            ("outcome=bad_request", 1),
            ("outcome=issued", 1),
            ("outcome=method_not_allowed", 1),
            ("outcome=unauthorized", 3),
            ("outcome=unavailable", 1),
        ])
    );
    assert_eq!(
        rec.samples("beams_auth_duration_seconds"),
        expect(&[("", 7)])
    );
    assert_eq!(
        rec.names(),
        ["beams_auth_duration_seconds", "beams_auth_requests_total"]
    );
    for (key, value) in rec.labels() {
        assert!(!value.contains("distinctive"), "{key}={value}");
        assert!(!value.contains("someone"), "{key}={value}");
    }
}
