//! Feature `metrics`: a known sequence of requests through the axum route, counted exactly
//! once each by outcome, with one duration sample per request.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use beams_test_support::conformance::{
    self as test_util, TEST_REJECT_HEADER, TEST_UNAVAILABLE_HEADER, TEST_USER_HEADER,
};
use tower::ServiceExt;

use crate::route::TestSession;
use beams_test_support::metrics::{expect, recorded};

/// A user id that must never appear in a label.
const USER: &str = "zz-distinctive-user-42";

fn get(query: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get(format!("/pusher/beams-auth?{query}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Body::empty()).unwrap()
}

#[test]
fn each_request_is_counted_once_by_outcome() {
    let app: Router = beams_axum::router(test_util::auth(), |s: TestSession| async move { s.0 });
    let user_query = format!("user_id={USER}");
    let requests = [
        (
            get(&user_query, &[(TEST_USER_HEADER, USER)]),
            StatusCode::OK,
        ),
        (get(&user_query, &[]), StatusCode::UNAUTHORIZED),
        (
            get(&user_query, &[(TEST_USER_HEADER, "someone-else")]),
            StatusCode::UNAUTHORIZED,
        ),
        (
            get(&user_query, &[(TEST_REJECT_HEADER, "500")]),
            StatusCode::UNAUTHORIZED,
        ),
        (get("user_id=%ZZ", &[]), StatusCode::BAD_REQUEST),
        (
            Request::post(format!("/pusher/beams-auth?{user_query}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            get(&user_query, &[(TEST_UNAVAILABLE_HEADER, "1")]),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ((), rec) = recorded(|| {
        runtime.block_on(async {
            for (req, status) in requests {
                let res = app.clone().oneshot(req).await.unwrap();
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
