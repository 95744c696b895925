//! The conformance table replayed through actix-web, plus the adapter's own rules: what runs
//! when, HEAD, the three ways of mounting, and the response conversion.

use std::cell::Cell;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::dev::{Payload, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{App, FromRequest, HttpRequest, error, test, web};
use beams_actix::BeamsAuth;
use beams_test_support::conformance::{
    self as test_util, Observed, core_answer, rejection_from_headers, user_from_headers,
};

/// A session extractor driven by the test headers: fails with the status in
/// `x-test-reject`, else yields the user in `x-test-user` (or nobody, or a store that is
/// "down"). It counts its runs in the `Calls` app data, when present.
pub(crate) struct TestSession(pub(crate) Result<Option<String>, String>);

#[derive(Clone, Default)]
struct Calls {
    extractor: Rc<Cell<u32>>,
    hook: Rc<Cell<u32>>,
}

impl FromRequest for TestSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(calls) = req.app_data::<Calls>() {
            calls.extractor.set(calls.extractor.get() + 1);
        }
        let get = |name: &str| req.headers().get(name).map(|v| v.as_bytes());
        ready(match rejection_from_headers(get) {
            Some(status) => {
                let status = StatusCode::from_u16(status).unwrap();
                Err(error::InternalError::new("test extractor rejected the request", status).into())
            }
            None => Ok(Self(user_from_headers(get))),
        })
    }
}

async fn resolve(session: TestSession) -> Result<Option<String>, String> {
    session.0
}

fn counting_hook(
    calls: Calls,
) -> impl Fn(TestSession) -> Ready<Result<Option<String>, String>> + Clone {
    move |session: TestSession| {
        calls.hook.set(calls.hook.get() + 1);
        ready(session.0)
    }
}

async fn observe(res: ServiceResponse) -> Observed {
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

fn request(case: &test_util::Case) -> test::TestRequest {
    let mut req = test::TestRequest::default()
        .method(Method::from_bytes(case.method.as_bytes()).unwrap())
        .uri(&case.uri());
    for (name, value) in case.headers() {
        req = req.insert_header((name, value));
    }
    req
}

/// A GET for `uri` as alice.
fn as_alice(uri: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header((test_util::TEST_USER_HEADER, "alice"))
}

/// Sends a GET as alice and observes the answer.
macro_rules! get {
    ($app:expr, $uri:expr) => {
        observe(test::call_service($app, as_alice($uri).to_request()).await).await
    };
}

fn assert_issued(observed: &Observed, user: &str) {
    assert_eq!(observed.status, 200, "{observed:?}");
    test_util::verify_token_body(std::str::from_utf8(&observed.body).unwrap(), user).unwrap();
}

#[actix_web::test]
async fn conformance_table_through_service() {
    let app =
        test::init_service(App::new().service(beams_actix::resource(test_util::auth(), resolve)))
            .await;
    let mut failures = Vec::new();
    for case in test_util::cases() {
        let observed = observe(test::call_service(&app, request(&case).to_request()).await).await;
        if let Err(e) = case.check(&observed) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[actix_web::test]
async fn conformance_table_through_scope_alone_and_in_a_host_scope() {
    // The same route one level down: `/beams-auth` inside the host's `/pusher` scope.
    let relative = BeamsAuth::builder(&test_util::instance())
        .path("/beams-auth")
        .build()
        .unwrap();
    let in_host_scope = test::init_service(
        App::new().service(web::scope("/pusher").service(beams_actix::scope(relative, resolve))),
    )
    .await;
    let via_scope =
        test::init_service(App::new().service(beams_actix::scope(test_util::auth(), resolve)))
            .await;
    for case in test_util::cases() {
        let observed =
            observe(test::call_service(&in_host_scope, request(&case).to_request()).await).await;
        case.check(&observed).unwrap();
        let observed =
            observe(test::call_service(&via_scope, request(&case).to_request()).await).await;
        case.check(&observed).unwrap();
    }
}

#[actix_web::test]
async fn extractor_and_hook_run_only_for_a_valid_get() {
    let calls = Calls::default();
    let app = test::init_service(App::new().app_data(calls.clone()).service(
        beams_actix::resource(test_util::auth(), counting_hook(calls.clone())),
    ))
    .await;
    let runs = || (calls.extractor.get(), calls.hook.get());

    for uri in [
        "/pusher/beams-auth",
        "/pusher/beams-auth?user_id=%ZZ",
        "/pusher/beams-auth?user_id=",
    ] {
        assert_eq!(get!(&app, uri).status, 400);
    }
    assert_eq!(
        runs(),
        (0, 0),
        "a 400 must not run the extractor or the hook"
    );

    let post = test::TestRequest::post()
        .uri("/pusher/beams-auth?user_id=alice")
        .to_request();
    assert_eq!(test::call_service(&app, post).await.status().as_u16(), 405);
    assert_eq!(
        runs(),
        (0, 0),
        "a 405 must not run the extractor or the hook"
    );

    let rejected = test::TestRequest::get()
        .uri("/pusher/beams-auth?user_id=alice")
        .insert_header((test_util::TEST_REJECT_HEADER, "500"))
        .to_request();
    assert_eq!(
        test::call_service(&app, rejected).await.status().as_u16(),
        401
    );
    assert_eq!(runs(), (1, 0), "a failed extractor must not run the hook");

    assert_issued(&get!(&app, "/pusher/beams-auth?user_id=alice"), "alice");
    assert_eq!(runs(), (2, 1));
}

#[actix_web::test]
async fn head_is_answered_like_get() {
    let app =
        test::init_service(App::new().service(beams_actix::resource(test_util::auth(), resolve)))
            .await;
    let head = |uri: &str| {
        test::TestRequest::default()
            .method(Method::HEAD)
            .uri(uri)
            .insert_header((test_util::TEST_USER_HEADER, "alice"))
            .to_request()
    };
    // The test service keeps the body; a real server drops it for HEAD.
    let ok =
        observe(test::call_service(&app, head("/pusher/beams-auth?user_id=alice")).await).await;
    assert_issued(&ok, "alice");
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let bad = observe(test::call_service(&app, head("/pusher/beams-auth")).await).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("content-type"), Some("application/json"));
}

#[actix_web::test]
async fn every_other_method_gets_the_json_405() {
    let app =
        test::init_service(App::new().service(beams_actix::resource(test_util::auth(), resolve)))
            .await;
    for method in [
        "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND",
    ] {
        let req = test::TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri("/pusher/beams-auth?user_id=alice")
            .to_request();
        let observed = observe(test::call_service(&app, req).await).await;
        assert_eq!(observed.status, 405, "{method}");
        assert_eq!(observed.header("allow"), Some("GET"), "{method}");
        assert_eq!(
            observed.body,
            br#"{"error":"Method Not Allowed","description":"Use GET to request a Beams Token."}"#,
            "{method}"
        );
    }
}

#[actix_web::test]
async fn mounts_at_the_configured_path_and_leaves_others_alone() {
    let custom = BeamsAuth::builder(&test_util::instance())
        .path("/api/v1/beams-token")
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .service(beams_actix::resource(custom.clone(), resolve))
            .route("/other", web::get().to(|| async { "other" })),
    )
    .await;
    assert_issued(&get!(&app, "/api/v1/beams-token?user_id=alice"), "alice");
    assert_eq!(get!(&app, "/pusher/beams-auth?user_id=alice").status, 404);
    assert_eq!(get!(&app, "/other").body, b"other");

    // `scope` claims its own paths only: the host's routes beside and after it still answer.
    let app = test::init_service(
        App::new()
            .service(beams_actix::scope(custom, resolve))
            .route("/api/other", web::get().to(|| async { "other" }))
            .route("/api/v1/mine", web::get().to(|| async { "mine" })),
    )
    .await;
    assert_issued(&get!(&app, "/api/v1/beams-token?user_id=alice"), "alice");
    assert_eq!(get!(&app, "/api/v1/other").status, 404);
    assert_eq!(get!(&app, "/api/other").body, b"other");
    assert_eq!(get!(&app, "/api/v1/mine").body, b"mine");
}

#[actix_web::test]
async fn scope_with_a_single_segment_path() {
    let top = BeamsAuth::builder(&test_util::instance())
        .path("/beams-auth")
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .service(beams_actix::scope(top, resolve))
            .route("/", web::get().to(|| async { "home" }))
            .route("/beams", web::get().to(|| async { "beams" })),
    )
    .await;
    assert_issued(&get!(&app, "/beams-auth?user_id=alice"), "alice");
    assert_eq!(get!(&app, "/").body, b"home");
    assert_eq!(get!(&app, "/beams").body, b"beams");
}

#[actix_web::test]
async fn scope_and_resource_inside_a_host_scope() {
    let relative = BeamsAuth::builder(&test_util::instance())
        .path("/beams-auth")
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/pusher")
                    .service(beams_actix::scope(relative.clone(), resolve))
                    .route("/mine", web::get().to(|| async { "mine" })),
            )
            .service(web::scope("/api").service(beams_actix::resource(relative, resolve))),
    )
    .await;
    assert_issued(&get!(&app, "/pusher/beams-auth?user_id=alice"), "alice");
    assert_issued(&get!(&app, "/api/beams-auth?user_id=alice"), "alice");
    assert_eq!(get!(&app, "/pusher/mine").body, b"mine");
}

#[actix_web::test]
async fn extractor_errors_keep_their_status_for_the_log_and_answer_401() {
    let app =
        test::init_service(App::new().service(beams_actix::resource(test_util::auth(), resolve)))
            .await;
    for status in ["400", "401", "403", "500", "503"] {
        let req = test::TestRequest::get()
            .uri("/pusher/beams-auth?user_id=alice")
            .insert_header((test_util::TEST_REJECT_HEADER, status))
            .to_request();
        let observed = observe(test::call_service(&app, req).await).await;
        assert_eq!(observed.status, 401, "{status}");
        assert_eq!(
            observed.body,
            br#"{"error":"Unauthorized","description":"The login session could not be read."}"#
        );
    }
}

/// Each case's answer through the adapter is beams-core's own, byte for byte (token aside).
#[actix_web::test]
async fn answers_are_beams_cores_own() {
    let auth = test_util::auth();
    let app =
        test::init_service(App::new().service(beams_actix::resource(auth.clone(), resolve))).await;
    for case in test_util::cases() {
        let observed = observe(test::call_service(&app, request(&case).to_request()).await).await;
        assert_eq!(
            observed.normalized(),
            core_answer(&auth, &case).normalized(),
            "case `{}` differs from beams-core's answer",
            case.name
        );
    }
}
