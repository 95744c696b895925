//! The conformance table through beams-axum and beams-actix side by side: for every case
//! both must answer with the same status, the same route headers and the same body, byte for
//! byte (the token's value aside, since its `exp` may tick between the two).

use std::future::{Ready, ready};

use actix_web::FromRequest;
use axum::extract::FromRequestParts;
use beams_test_support::conformance::{
    self as test_util, Case, Observed, rejection_from_headers, user_from_headers,
};
use tower::ServiceExt;

/// The test session for axum: reads the conformance headers.
struct AxumSession(Result<Option<String>, String>);

impl<S: Send + Sync> FromRequestParts<S> for AxumSession {
    type Rejection = (axum::http::StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let get = |name: &str| parts.headers.get(name).map(|v| v.as_bytes());
        match rejection_from_headers(get) {
            Some(status) => Err((
                axum::http::StatusCode::from_u16(status).unwrap(),
                "test extractor rejected the request",
            )),
            None => Ok(Self(user_from_headers(get))),
        }
    }
}

/// The same test session for actix-web.
struct ActixSession(Result<Option<String>, String>);

impl FromRequest for ActixSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let get = |name: &str| req.headers().get(name).map(|v| v.as_bytes());
        ready(match rejection_from_headers(get) {
            Some(status) => {
                let status = actix_web::http::StatusCode::from_u16(status).unwrap();
                Err(actix_web::error::InternalError::new(
                    "test extractor rejected the request",
                    status,
                )
                .into())
            }
            None => Ok(Self(user_from_headers(get))),
        })
    }
}

fn axum_request(case: &Case, method: &str) -> axum::http::Request<axum::body::Body> {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(case.uri());
    for (name, value) in case.headers() {
        req = req.header(name, value);
    }
    req.body(axum::body::Body::empty()).unwrap()
}

fn actix_request(case: &Case, method: &str) -> actix_web::test::TestRequest {
    let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = actix_web::test::TestRequest::default()
        .method(method)
        .uri(&case.uri());
    for (name, value) in case.headers() {
        req = req.insert_header((name, value));
    }
    req
}

async fn axum_observe(app: &axum::Router, req: axum::http::Request<axum::body::Body>) -> Observed {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    Observed::from_http(&axum::http::Response::from_parts(parts, body))
}

async fn actix_observe(res: actix_web::dev::ServiceResponse) -> Observed {
    let (head, body) = res.into_parts().1.into_parts();
    let body = actix_web::body::to_bytes(body).await.unwrap().to_vec();
    Observed::from_parts(
        head.status().as_u16(),
        head.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes())),
        body,
    )
}

#[actix_web::test]
async fn both_adapters_answer_every_case_identically() {
    let axum_app: axum::Router =
        beams_axum::router(test_util::auth(), |s: AxumSession| async move { s.0 });
    let actix_app = actix_web::test::init_service(actix_web::App::new().service(
        beams_actix::resource(test_util::auth(), |s: ActixSession| async move { s.0 }),
    ))
    .await;

    let cases = test_util::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let from_axum = axum_observe(&axum_app, axum_request(case, case.method)).await;
        let req = actix_request(case, case.method).to_request();
        let from_actix = actix_observe(actix_web::test::call_service(&actix_app, req).await).await;

        for (adapter, observed) in [("axum", &from_axum), ("actix", &from_actix)] {
            if let Err(e) = case.check(observed) {
                failures.push(format!("{adapter}: {e}"));
            }
        }
        if from_axum.normalized() != from_actix.normalized() {
            failures.push(format!(
                "case `{}`: axum {:?} != actix {:?}",
                case.name,
                from_axum.normalized(),
                from_actix.normalized()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(cases.len() >= 40);
}

/// HEAD is answered like GET by both. Bodies are not compared: axum's router drops a HEAD
/// body itself, actix-web leaves that to its HTTP codec (outside a test service).
#[actix_web::test]
async fn both_adapters_answer_head_identically() {
    let axum_app: axum::Router =
        beams_axum::router(test_util::auth(), |s: AxumSession| async move { s.0 });
    let actix_app = actix_web::test::init_service(actix_web::App::new().service(
        beams_actix::resource(test_util::auth(), |s: ActixSession| async move { s.0 }),
    ))
    .await;

    for case in test_util::cases().iter().filter(|c| c.method == "GET") {
        let from_axum = axum_observe(&axum_app, axum_request(case, "HEAD"))
            .await
            .normalized();
        let req = actix_request(case, "HEAD").to_request();
        let from_actix = actix_observe(actix_web::test::call_service(&actix_app, req).await)
            .await
            .normalized();
        assert_eq!(from_axum.status, case.status(), "{}", case.name);
        assert_eq!(
            (from_axum.status, &from_axum.headers),
            (from_actix.status, &from_actix.headers),
            "case `{}`",
            case.name
        );
    }
}
