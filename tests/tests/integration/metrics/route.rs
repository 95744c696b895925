//! The auth route through the tower layer: a known sequence, each request counted once.

use std::convert::Infallible;

use beams_core::tower::BeamsAuthLayer;
use beams_test_support::conformance::{
    self as test_util, TEST_UNAVAILABLE_HEADER, TEST_USER_HEADER, user_from_headers,
};
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::{USER, block_on};
use beams_test_support::metrics::{expect, recorded};

/// The tower layer's hook: the session the test headers name. (The tower layer has no
/// separate extractor: a host's failing extractor is its hook's error.)
async fn hook(parts: http::request::Parts) -> Result<Option<String>, String> {
    user_from_headers(|name| parts.headers.get(name).map(|v| v.as_bytes()))
}

fn get(query: &str, headers: &[(&str, &str)]) -> Request<String> {
    let mut req = Request::get(format!("/pusher/beams-auth?{query}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(String::new()).unwrap()
}

#[test]
fn tower_layer_counts_each_request_once() {
    let app = ServiceBuilder::new()
        .layer(BeamsAuthLayer::new(test_util::auth(), hook))
        .service(service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::from("app")))
        }));
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
        (get("user_id=%ZZ", &[]), StatusCode::BAD_REQUEST),
        (get("", &[]), StatusCode::BAD_REQUEST),
        (
            Request::post(format!("/pusher/beams-auth?{user_query}"))
                .body(String::new())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            get(&user_query, &[(TEST_UNAVAILABLE_HEADER, "1")]),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        // Not the route: forwarded, not counted.
        (
            Request::get("/other").body(String::new()).unwrap(),
            StatusCode::OK,
        ),
    ];
    let ((), rec) = recorded(|| {
        block_on(async {
            for (req, status) in requests {
                let res = app.clone().oneshot(req).await.unwrap();
                assert_eq!(res.status(), status);
            }
        })
    });
    assert_eq!(
        rec.counters("beams_auth_requests_total"),
        expect(&[
            ("outcome=bad_request", 2),
            ("outcome=issued", 1),
            ("outcome=method_not_allowed", 1),
            ("outcome=unauthorized", 2),
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
}

/// beams-core's two phases as a host's own adapter runs them: the extractor's rejection is
/// `unauthorized`, and phase 1 alone counts its rejections.
#[test]
fn core_phases_count_where_they_decide() {
    let auth = test_util::auth();
    let ((), rec) = recorded(|| {
        let requested = auth
            .check_request(&http::Method::GET, Some("user_id=alice"))
            .unwrap();
        let res = auth.extractor_rejected(
            requested,
            StatusCode::INTERNAL_SERVER_ERROR,
            "test::Session",
            "test",
        );
        assert_eq!(res.status(), 401);
        let requested = auth
            .check_request(&http::Method::HEAD, Some("user_id=alice"))
            .unwrap();
        // Taking the user out of a request counts nothing.
        assert_eq!(requested.into_user().as_str(), "alice");
        assert!(
            auth.check_request(&http::Method::DELETE, Some("user_id=alice"))
                .is_err()
        );
    });
    assert_eq!(
        rec.counters("beams_auth_requests_total"),
        expect(&[
            ("outcome=method_not_allowed", 1),
            ("outcome=unauthorized", 1)
        ])
    );
    assert_eq!(
        rec.samples("beams_auth_duration_seconds"),
        expect(&[("", 2)])
    );
}
