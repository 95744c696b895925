//! The auth route through real axum routers: the conformance table, host state, the order of
//! checks, HEAD, tower-sessions and the host's own `State`.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Request, Response, StatusCode};
use axum::routing::{get, post};
use beams_axum::BeamsAuth;
use beams_test_support::conformance::{
    self as test_util, Observed, core_answer, rejection_from_headers, user_from_headers,
    verify_token_body,
};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

const DEFAULT_AUTH_PATH: &str = BeamsAuth::DEFAULT_PATH;

/// The test extractor: the session named by the table's request headers (a store that is
/// "down" included), or a rejection with the status they ask for. Works with any state.
pub(crate) struct TestSession(pub(crate) Result<Option<String>, String>);

impl<S: Send + Sync> FromRequestParts<S> for TestSession {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let get = |name: &str| parts.headers.get(name).map(|v| v.as_bytes());
        match rejection_from_headers(get) {
            Some(status) => Err((
                StatusCode::from_u16(status).unwrap(),
                "test extractor rejected the request",
            )),
            None => Ok(Self(user_from_headers(get))),
        }
    }
}

async fn send(app: &Router, req: Request<Body>) -> Response<Bytes> {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn get_with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

/// The route's 401 when the host's session extractor failed.
fn assert_session_not_read(res: &Response<Bytes>) {
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.body().as_ref(),
        br#"{"error":"Unauthorized","description":"The login session could not be read."}"#
    );
}

/// The warning logged when tower-sessions' `Session` cannot be extracted.
fn assert_warned_about_the_session_layer(log: &str) {
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("status=500"), "{log}");
    assert!(log.contains("SessionManagerLayer"), "{log}");
    assert!(log.contains("extractor=\"tower_sessions"), "{log}");
}

/// `POST /login` with body `alice` on an app whose login answers 204 (`what` names that
/// expectation): the session cookie (`name=value`).
async fn login_alice(app: &Router, what: &str) -> String {
    let res = send(
        app,
        Request::post("/login").body(Body::from("alice")).unwrap(),
    )
    .await;
    assert_eq!(res.status(), 204, "{what}");
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// Sends every case of the table to `app` with the route at `path`, checks it against the
/// table, and checks that the answer is beams-core's own, byte for byte (token aside).
async fn replay(app: Router, path: &str) {
    let auth = test_util::auth();
    let cases = test_util::cases();
    assert!(cases.len() >= 40);
    for case in &cases {
        let uri = case.uri().replacen(DEFAULT_AUTH_PATH, path, 1);
        let mut req = Request::builder().method(case.method).uri(uri);
        for (name, value) in case.headers() {
            req = req.header(name, value);
        }
        let res = send(&app, req.body(Body::empty()).unwrap()).await;
        let observed = Observed::from_http(&res);
        case.check(&observed).unwrap();
        assert_eq!(
            observed.normalized(),
            core_answer(&auth, case).normalized(),
            "case `{}` differs from beams-core's answer",
            case.name
        );
    }
}

#[tokio::test]
async fn conformance_table_through_router() {
    let app = Router::new()
        .route("/", get(|| async { "host page" }))
        .merge(beams_axum::router(
            test_util::auth(),
            |s: TestSession| async move { s.0 },
        ));
    replay(app, DEFAULT_AUTH_PATH).await;
}

#[tokio::test]
async fn conformance_table_through_handler_at_a_custom_path() {
    let app = Router::new()
        .route(
            "/api/beams-token",
            beams_axum::method_router(test_util::auth(), |s: TestSession| async move { s.0 }),
        )
        .route(DEFAULT_AUTH_PATH, get(|| async { "the host's own route" }));
    replay(app, "/api/beams-token").await;
}

#[tokio::test]
async fn router_uses_the_configured_path() {
    let beams = BeamsAuth::builder(&test_util::instance())
        .path("/beams/token")
        .build()
        .unwrap();
    let app: Router = beams_axum::router(beams, |s: TestSession| async move { s.0 });
    let ok = Request::get("/beams/token?user_id=alice")
        .header(test_util::TEST_USER_HEADER, "alice")
        .body(Body::empty())
        .unwrap();
    let res = send(&app, ok).await;
    assert_eq!(res.status(), 200);
    verify_token_body(std::str::from_utf8(res.body()).unwrap(), "alice").unwrap();
    assert_eq!(
        send(&app, get_req("/pusher/beams-auth?user_id=alice"))
            .await
            .status(),
        404
    );
}

/// The host's state, which its extractor reads.
#[derive(Clone)]
struct HostState {
    tokens: Arc<HashMap<&'static str, &'static str>>,
    extracted: Arc<AtomicUsize>,
}

/// A host extractor that exists only for `HostState`.
struct HostUser(Option<String>);

impl FromRequestParts<HostState> for HostUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &HostState) -> Result<Self, StatusCode> {
        state.extracted.fetch_add(1, Ordering::SeqCst);
        let token = parts
            .headers
            .get("x-api-token")
            .and_then(|v| v.to_str().ok());
        Ok(Self(
            token
                .and_then(|t| state.tokens.get(t))
                .map(|u| (*u).to_owned()),
        ))
    }
}

fn host_app(resolved: Arc<AtomicUsize>) -> (Router, HostState) {
    let state = HostState {
        tokens: Arc::new(HashMap::from([("t-alice", "alice")])),
        extracted: Arc::default(),
    };
    let app = Router::new()
        .merge(beams_axum::router(test_util::auth(), move |u: HostUser| {
            let resolved = Arc::clone(&resolved);
            async move {
                resolved.fetch_add(1, Ordering::SeqCst);
                u.0
            }
        }))
        .with_state(state.clone());
    (app, state)
}

fn with_token(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("x-api-token", token)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn extractor_runs_against_the_host_state() {
    let (app, _) = host_app(Arc::default());
    let res = send(
        &app,
        with_token("/pusher/beams-auth?user_id=alice", "t-alice"),
    )
    .await;
    assert_eq!(res.status(), 200);
    verify_token_body(std::str::from_utf8(res.body()).unwrap(), "alice").unwrap();

    let res = send(
        &app,
        with_token("/pusher/beams-auth?user_id=alice", "unknown"),
    )
    .await;
    assert_eq!(res.status(), 401);
    let res = send(
        &app,
        with_token("/pusher/beams-auth?user_id=bob", "t-alice"),
    )
    .await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn bad_query_and_bad_method_run_neither_extractor_nor_hook() {
    let resolved = Arc::new(AtomicUsize::new(0));
    let (app, state) = host_app(Arc::clone(&resolved));

    for uri in [
        "/pusher/beams-auth",
        "/pusher/beams-auth?user_id=%ZZ",
        "/pusher/beams-auth?user_id=",
    ] {
        assert_eq!(
            send(&app, with_token(uri, "t-alice")).await.status(),
            400,
            "{uri}"
        );
    }
    let post = Request::post("/pusher/beams-auth?user_id=alice")
        .header("x-api-token", "t-alice")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, post).await.status(), 405);
    assert_eq!(state.extracted.load(Ordering::SeqCst), 0);
    assert_eq!(resolved.load(Ordering::SeqCst), 0);

    assert_eq!(
        send(
            &app,
            with_token("/pusher/beams-auth?user_id=alice", "t-alice")
        )
        .await
        .status(),
        200
    );
    assert_eq!(state.extracted.load(Ordering::SeqCst), 1);
    assert_eq!(resolved.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rejecting_extractor_skips_the_hook() {
    let resolved = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&resolved);
    let app: Router = beams_axum::router(test_util::auth(), move |s: TestSession| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { s.0 }
    });
    let req = Request::get("/pusher/beams-auth?user_id=alice")
        .header(test_util::TEST_REJECT_HEADER, "500")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status(), 401);
    assert_eq!(resolved.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn head_is_served_like_get() {
    let app: Router = beams_axum::router(test_util::auth(), |s: TestSession| async move { s.0 });
    let get = Request::get("/pusher/beams-auth?user_id=alice")
        .header(test_util::TEST_USER_HEADER, "alice")
        .body(Body::empty())
        .unwrap();
    let got = send(&app, get).await;
    let head = Request::head("/pusher/beams-auth?user_id=alice")
        .header(test_util::TEST_USER_HEADER, "alice")
        .body(Body::empty())
        .unwrap();
    let res = send(&app, head).await;
    assert_eq!(res.status(), 200);
    assert!(res.body().is_empty());
    for name in [
        "content-type",
        "cache-control",
        "x-content-type-options",
        "content-length",
    ] {
        assert_eq!(res.headers().get(name), got.headers().get(name), "{name}");
    }
    assert!(res.headers().get("allow").is_none());

    let head_logged_out = send(
        &app,
        Request::head("/pusher/beams-auth?user_id=alice")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(head_logged_out.status(), 401);
    assert!(head_logged_out.body().is_empty());
}

#[tokio::test]
async fn other_methods_get_the_json_405_on_both_mountings() {
    let via_router: Router =
        beams_axum::router(test_util::auth(), |s: TestSession| async move { s.0 });
    let via_handler: Router = Router::new().route(
        "/custom",
        beams_axum::method_router(test_util::auth(), |s: TestSession| async move { s.0 }),
    );
    for (app, path) in [(via_router, DEFAULT_AUTH_PATH), (via_handler, "/custom")] {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let res = send(&app, req).await;
            assert_eq!(res.status(), 405, "{method} {path}");
            assert_eq!(res.headers()["allow"], "GET");
            assert_eq!(res.headers()["content-type"], "application/json");
            assert_eq!(
                res.body().as_ref(),
                br#"{"error":"Method Not Allowed","description":"Use GET to request a Beams Token."}"#
            );
        }
    }
}

/// An app with a real tower-sessions login, the way the crate docs mount it.
fn session_app(layered_after_merge: bool) -> Router {
    async fn login(session: Session, body: String) -> StatusCode {
        session.insert("user_id", body).await.unwrap();
        StatusCode::NO_CONTENT
    }
    let beams = beams_axum::router(test_util::auth(), |session: Session| async move {
        session.get::<String>("user_id").await
    });
    let layer = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let routes = Router::new().route("/login", post(login));
    if layered_after_merge {
        routes.merge(beams).layer(layer)
    } else {
        routes.layer(layer).merge(beams)
    }
}

#[tokio::test]
async fn tower_sessions_login_then_token() {
    let app = session_app(true);
    let cookie = login_alice(&app, "the login").await;

    let res = send(
        &app,
        get_with_cookie("/pusher/beams-auth?user_id=alice", &cookie),
    )
    .await;
    assert_eq!(res.status(), 200);
    verify_token_body(std::str::from_utf8(res.body()).unwrap(), "alice").unwrap();

    let req = get_with_cookie("/pusher/beams-auth?user_id=bob", &cookie);
    assert_eq!(send(&app, req).await.status(), 401);
    assert_eq!(
        send(&app, get_req("/pusher/beams-auth?user_id=alice"))
            .await
            .status(),
        401
    );
}

/// A `MakeWriter` collecting log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` on a current-thread runtime with a subscriber at `level`; returns the log.
fn with_log(level: tracing::Level, f: impl AsyncFnOnce()) -> String {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f())
    });
    String::from_utf8(log.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn missing_session_layer_is_a_401_and_a_warning_naming_the_cause() {
    let log = with_log(tracing::Level::WARN, async || {
        let app = session_app(false);
        let res = send(&app, get_req("/pusher/beams-auth?user_id=alice")).await;
        assert_session_not_read(&res);
    });
    assert_warned_about_the_session_layer(&log);
    assert!(log.contains("Session"), "{log}");
}

/// axum-login 0.18 is built on tower-sessions 0.14. An app whose session layer comes from
/// tower-sessions 0.15 compiles, but the 0.14 `Session` extractor (the one axum-login's
/// `AuthSession` reads) finds no session of its own type: every token request is a 401, and
/// the cause shows only in a warn log.
#[test]
fn mismatched_tower_sessions_versions_are_a_401_and_a_warning() {
    let log = with_log(tracing::Level::WARN, async || {
        async fn login(session: tower_sessions_015::Session, body: String) -> StatusCode {
            session.insert("user_id", body).await.unwrap();
            StatusCode::NO_CONTENT
        }
        let beams = beams_axum::router(
            test_util::auth(),
            |session: axum_login::tower_sessions::Session| async move {
                session.get::<String>("user_id").await
            },
        );
        let layer = tower_sessions_015::SessionManagerLayer::new(
            tower_sessions_015::MemoryStore::default(),
        )
        .with_secure(false);
        let app = Router::new()
            .route("/login", post(login))
            .merge(beams)
            .layer(layer);

        let cookie = login_alice(&app, "the 0.15 login itself works").await;
        let res = send(
            &app,
            get_with_cookie("/pusher/beams-auth?user_id=alice", &cookie),
        )
        .await;
        assert_session_not_read(&res);
    });
    assert_warned_about_the_session_layer(&log);
}

#[test]
fn client_error_rejections_are_logged_at_debug_only() {
    let run = async || {
        let app: Router =
            beams_axum::router(test_util::auth(), |s: TestSession| async move { s.0 });
        let req = Request::get("/pusher/beams-auth?user_id=alice")
            .header(test_util::TEST_REJECT_HEADER, "401")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, req).await.status(), 401);
    };
    let warn_log = with_log(tracing::Level::WARN, run);
    assert!(warn_log.is_empty(), "{warn_log}");
    let debug_log = with_log(tracing::Level::DEBUG, run);
    // The extractor's type and status, but not its text: a 4xx rejection may echo the
    // caller's credential.
    assert!(
        debug_log.contains("extractor=\"integration::route::TestSession\""),
        "{debug_log}"
    );
    assert!(
        !debug_log.contains("test extractor rejected the request"),
        "{debug_log}"
    );
    assert!(debug_log.contains("status=401"), "{debug_log}");
}

#[derive(Clone)]
struct StateWithBeams {
    beams: BeamsAuth,
}

impl FromRef<StateWithBeams> for BeamsAuth {
    fn from_ref(state: &StateWithBeams) -> Self {
        state.beams.clone()
    }
}

/// A host keeps the `BeamsAuth` (or the publish client) in its state and takes it out with
/// axum's own `State`; the route itself needs no `FromRef`.
#[tokio::test]
async fn host_handlers_take_beams_values_from_their_state() {
    async fn ttl(State(beams): State<BeamsAuth>) -> String {
        beams.issuer().ttl().as_secs().to_string()
    }
    async fn path(State(beams): State<BeamsAuth>) -> String {
        beams.path().to_owned()
    }
    let app = Router::new()
        .route("/ttl", get(ttl))
        .route("/path", get(path))
        .merge(beams_axum::router(
            test_util::auth(),
            |s: TestSession| async move { s.0 },
        ))
        .with_state(StateWithBeams {
            beams: test_util::auth(),
        });
    let res = send(&app, get_req("/ttl")).await;
    assert_eq!(res.body().as_ref(), b"86400");
    let res = send(&app, get_req("/path")).await;
    assert_eq!(res.body().as_ref(), DEFAULT_AUTH_PATH.as_bytes());
}

#[tokio::test]
async fn served_over_tcp() {
    let app: Router = beams_axum::router(test_util::auth(), |s: TestSession| async move { s.0 });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            b"GET /pusher/beams-auth?user_id=alice HTTP/1.1\r\nhost: x\r\nx-test-user: alice\r\nconnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.contains("cache-control: no-store\r\n"),
        "{response}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    verify_token_body(body, "alice").unwrap();
    server.abort();
}
