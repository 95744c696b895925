//! Several replicas of an example app sharing their sessions through a real Redis, and what
//! the app answers while that Redis is paused, killed and back.

use std::time::{Duration, Instant};

use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY};

use crate::hostile::client::{Outcome, login, request, send_raw};
use crate::process::AppProcess;
use crate::redis::RedisServer;

/// The cookie key every replica shares (actix-session needs at least 64 bytes).
pub const SESSION_KEY: &str =
    "replica-test-session-key-0123456789abcdef0123456789abcdef0123456789abcdef";

/// How long any request may take while Redis is gone.
const BOUND: Duration = Duration::from_secs(3);

/// A replica of `binary` on its own port, with sessions in `redis`.
pub fn replica(binary: &str, redis: &RedisServer) -> AppProcess {
    AppProcess::start(
        binary,
        &[
            ("BEAMS_INSTANCE_ID", INSTANCE_ID),
            ("BEAMS_SECRET_KEY", SECRET_KEY),
            ("REDIS_URL", &redis.url()),
            ("SESSION_KEY", SESSION_KEY),
        ],
        &["BEAMS_ENDPOINT", "BEAMS_WEBHOOK_SECRET"],
    )
}

/// `GET /pusher/beams-auth?user_id=<user>` on `app` with `cookie`: the outcome and how long
/// it took.
pub fn token(app: &AppProcess, user: &str, cookie: &str) -> (Outcome, Duration) {
    let addr = app.addr();
    let target = format!("/pusher/beams-auth?user_id={user}");
    let header = format!("Cookie: {cookie}");
    let start = Instant::now();
    let outcome = send_raw(
        &addr,
        &request("GET", target.as_bytes(), &addr, &[header.as_bytes()], b""),
        false,
    );
    (outcome, start.elapsed())
}

fn status(outcome: &(Outcome, Duration)) -> Option<u16> {
    outcome.0.status()
}

/// A login on replica A gets a token from replica B; a restarted replica still knows the
/// session; a logout on B revokes it on A.
pub fn sessions_are_shared(binary: &str) {
    let redis = RedisServer::start();
    let a = replica(binary, &redis);
    let b = replica(binary, &redis);
    let cookie =
        login(&a.addr(), "alice").unwrap_or_else(|o| panic!("login on A: {}", o.summary()));
    assert_eq!(
        status(&token(&b, "alice", &cookie)),
        Some(200),
        "B does not know A's login"
    );
    assert_eq!(
        status(&token(&b, "bob", &cookie)),
        Some(401),
        "B gave a token for another user"
    );

    // A restarts: the session lives in Redis, not in A.
    a.stop();
    let a = replica(binary, &redis);
    assert_eq!(
        status(&token(&a, "alice", &cookie)),
        Some(200),
        "the restarted A forgot the login"
    );

    // Logout on B revokes the session everywhere, for every copy of the cookie.
    let addr = b.addr();
    let header = format!("Cookie: {cookie}");
    let out = send_raw(
        &addr,
        &request("POST", b"/logout", &addr, &[header.as_bytes()], b""),
        false,
    );
    assert_eq!(out.status(), Some(200), "logout on B: {}", out.summary());
    assert_eq!(
        status(&token(&a, "alice", &cookie)),
        Some(401),
        "A still honours a logged-out session"
    );
}

/// While Redis is paused or down, a request that needs the session is answered, within a
/// bounded time, with the JSON `503` and `Retry-After` — the auth route, a login, and a logout,
/// which is not done (no cookie removed: the client keeps its session to retry with) — never
/// a `401`, never the framework's own empty `5xx`, never a hang; other routes keep answering;
/// and once Redis is back, new sessions work and logout does. Both apps answer alike.
pub fn an_unavailable_store_is_not_logged_out(binary: &str) {
    let mut redis = RedisServer::start();
    let app = replica(binary, &redis);
    let cookie = login(&app.addr(), "alice").unwrap_or_else(|o| panic!("login: {}", o.summary()));
    assert_eq!(status(&token(&app, "alice", &cookie)), Some(200));

    let unavailable = |what: &str, outcome: &Outcome, took: Duration| {
        assert!(took < BOUND, "{what} took {took:?}");
        let Outcome::Response(r) = outcome else {
            panic!("{what}: no answer ({})", outcome.summary());
        };
        assert_eq!(r.status, 503, "{what}: {}", outcome.summary());
        assert_eq!(r.header("retry-after"), Some("5"), "{what}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(
            r.json()["description"],
            "The login session is temporarily unavailable. Try again shortly.",
            "{what}"
        );
        assert_eq!(r.json()["error"], "Service Unavailable", "{what}");
        assert!(
            r.header_all("set-cookie").is_empty(),
            "{what} changed the cookie: {:?}",
            r.header_all("set-cookie")
        );
    };
    for outage in ["paused", "killed"] {
        match outage {
            "paused" => redis.pause(),
            _ => {
                redis.resume();
                redis.kill();
            }
        }
        let (outcome, took) = token(&app, "alice", &cookie);
        unavailable(
            &format!("Redis {outage}: the token request"),
            &outcome,
            took,
        );
        // Other routes answer.
        let addr = app.addr();
        let start = Instant::now();
        let page = send_raw(&addr, &request("GET", b"/", &addr, &[], b""), false);
        assert_eq!(
            page.status(),
            Some(200),
            "Redis {outage}: GET / {}",
            page.summary()
        );
        assert!(start.elapsed() < BOUND);
        // A login cannot be saved.
        let start = Instant::now();
        let form = b"username=carol";
        let refused = send_raw(
            &addr,
            &request(
                "POST",
                b"/login",
                &addr,
                &[b"Content-Type: application/x-www-form-urlencoded"],
                form,
            ),
            false,
        );
        unavailable(
            &format!("Redis {outage}: a login"),
            &refused,
            start.elapsed(),
        );
        // Nor can a logout be done: the client is told to retry, its cookie untouched.
        let header = format!("Cookie: {cookie}");
        let start = Instant::now();
        let out = send_raw(
            &addr,
            &request("POST", b"/logout", &addr, &[header.as_bytes()], b""),
            false,
        );
        unavailable(&format!("Redis {outage}: a logout"), &out, start.elapsed());
    }

    // Back (empty: no persistence): new sessions work.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let cookie = loop {
        match login(&app.addr(), "dave") {
            Ok(cookie) => break cookie,
            Err(o) => {
                assert!(
                    Instant::now() < deadline,
                    "no login after Redis returned: {}",
                    o.summary()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    assert_eq!(status(&token(&app, "dave", &cookie)), Some(200));
    // And logout works again.
    let addr = app.addr();
    let header = format!("Cookie: {cookie}");
    let out = send_raw(
        &addr,
        &request("POST", b"/logout", &addr, &[header.as_bytes()], b""),
        false,
    );
    assert_eq!(
        out.status(),
        Some(200),
        "logout after Redis returned: {}",
        out.summary()
    );
    assert_eq!(status(&token(&app, "dave", &cookie)), Some(401));
    let output = app.stop_with_output();
    assert!(!output.contains("panicked"), "{output}");
}
