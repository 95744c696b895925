//! What hostile clients did to the example apps, kept fixed: each check runs against an app's
//! real binary (both apps run the same checks, so they hold the same bounds).

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY};
use beams_test_support::hardening::{closed_within, slow_body_answer};

use crate::hostile::client::{Outcome, form_encode, login, request, send_chunked, send_raw};
use crate::process::AppProcess;

/// Starts an example app's `binary` against the conformance table's instance (so in
/// production mode: no embedded emulator), with `extra` variables, without `BEAMS_ENDPOINT`
/// or `REDIS_URL` from the environment.
pub fn start_app(binary: &str, extra: &[(&str, &str)]) -> AppProcess {
    let mut vars = vec![
        ("BEAMS_INSTANCE_ID", INSTANCE_ID),
        ("BEAMS_SECRET_KEY", SECRET_KEY),
    ];
    vars.extend_from_slice(extra);
    AppProcess::start(binary, &vars, &["BEAMS_ENDPOINT", "REDIS_URL"])
}

/// The hostile-input and hardening tests of one example app, written out as `#[test]`s in the
/// calling test file, so that both apps run exactly the same checks:
/// `beams_tests::hostile_suite!("example-axum", env!("CARGO_BIN_EXE_example-axum"));`
#[macro_export]
macro_rules! hostile_suite {
    ($name:literal, $binary:expr) => {
        use $crate::hardening::{self, start_app};

        #[test]
        fn conformance_table_and_hostile_requests_over_http() {
            let mut app = start_app($binary, &[]);
            let report = $crate::hostile::table::run_table(
                &mut app,
                $crate::hostile::table::conformance_rows(),
            );
            $crate::hostile::table::assert_report($name, &report);
            app.stop();
        }

        #[test]
        fn idle_and_slow_connections_are_closed() {
            hardening::idle_and_slow_connections_are_closed(&start_app($binary, &[]));
        }

        #[test]
        fn slow_request_bodies_are_cut_off() {
            let app = start_app($binary, &[("REQUEST_TIMEOUT_SECS", "2")]);
            hardening::slow_request_bodies_are_cut_off(&app);
        }

        #[test]
        fn unending_chunked_bodies_are_closed() {
            let app = start_app($binary, &[("REQUEST_TIMEOUT_SECS", "2")]);
            hardening::unending_chunked_bodies_are_closed(
                &app,
                ::std::time::Duration::from_secs(2),
            );
        }

        #[test]
        fn garbage_session_cookies_log_nothing_by_default() {
            hardening::garbage_session_cookies_log_nothing_by_default($binary);
        }

        #[test]
        fn cross_site_posts_are_refused() {
            hardening::cross_site_posts_are_refused(&start_app($binary, &[]));
        }

        #[test]
        fn oversized_forms_are_refused() {
            hardening::oversized_forms_are_refused(&start_app($binary, &[]));
        }

        #[test]
        fn the_session_store_is_capped() {
            let app = start_app($binary, &[("SESSION_CAPACITY", "50")]);
            hardening::the_session_store_is_capped(&app, 50);
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn upstream_text_cannot_forge_log_lines() {
            hardening::upstream_text_cannot_forge_log_lines($binary).await;
        }

        #[test]
        fn webhooks_are_verified_against_independent_signatures() {
            let secret = "app-webhook-secret";
            let app = start_app($binary, &[("BEAMS_WEBHOOK_SECRET", secret)]);
            hardening::webhooks_are_verified(&app, secret);
        }
    };
}

/// With `REQUEST_TIMEOUT_SECS=2`: a `/login` body sent a byte every half second is answered
/// `408` well before it could be complete.
pub fn slow_request_bodies_are_cut_off(app: &AppProcess) {
    let addr = app.addr();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    );
    let answer = slow_body_answer(&addr, &head, Duration::from_secs(10));
    assert!(
        matches!(answer, Some((408, took)) if took < Duration::from_secs(10)),
        "a body sent a byte every half second: {answer:?}"
    );
}

/// With a short `REQUEST_TIMEOUT_SECS` (`timeout`): requests with `Transfer-Encoding: chunked`
/// whose body never ends, silent after the head or one byte of chunk data a second, to routes
/// that answer without reading the body (`401`, `200`) and to one that waits for it (`408`), are
/// all closed by the server within the timeout plus a margin, after answering or not; the app
/// keeps answering. (actix-http reads the rest of a chunked body after the answer with no limit
/// of its own.)
pub fn unending_chunked_bodies_are_closed(app: &AppProcess, timeout: Duration) {
    let addr = app.addr();
    let margin = Duration::from_secs(5);
    let mut clients = Vec::new();
    for target in ["/pusher/beams-auth?user_id=alice", "/", "/login"] {
        for trickle in [false, true] {
            let addr = addr.clone();
            clients.push(std::thread::spawn(move || {
                let method = if target == "/login" { "POST" } else { "GET" };
                let head = format!(
                    "{method} {target} HTTP/1.1\r\nHost: {addr}\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\n\
                     Transfer-Encoding: chunked\r\n\r\n"
                );
                let mut stream = TcpStream::connect(&addr).expect("connect");
                let start = Instant::now();
                // A chunk of 4 KiB announced, its data to come.
                stream
                    .write_all(format!("{head}1000\r\n").as_bytes())
                    .expect("write the head");
                if trickle {
                    let mut writer = stream.try_clone().expect("clone");
                    std::thread::spawn(move || {
                        for _ in 0..60 {
                            std::thread::sleep(Duration::from_secs(1));
                            if writer.write_all(b"x").is_err() {
                                return;
                            }
                        }
                    });
                }
                let closed =
                    closed_within(stream, Duration::from_secs(30)).map(|_| start.elapsed());
                (format!("{method} {target} (trickle: {trickle})"), closed)
            }));
        }
    }
    let page = send_raw(&addr, &request("GET", b"/", &addr, &[], b""), false);
    assert_eq!(
        page.status(),
        Some(200),
        "while the chunked clients hang on"
    );
    let bound = timeout + margin;
    let mut held = Vec::new();
    for client in clients {
        let (what, closed) = client.join().expect("a chunked client");
        eprintln!("{what}: closed after {closed:?}");
        if closed.is_none_or(|took| took >= bound) {
            held.push(format!("{what}: {closed:?}"));
        }
    }
    assert!(
        held.is_empty(),
        "still open {bound:?} after the head (None: open after 30 s): {held:?}"
    );
    let page = send_raw(&addr, &request("GET", b"/", &addr, &[], b""), false);
    assert_eq!(page.status(), Some(200), "after the chunked clients");
}

/// 200 sockets that send nothing and one that sends a header line every second: all are
/// closed within 20 s (the apps allow 5 s for a request head), and the app keeps answering
/// meanwhile and afterwards.
pub fn idle_and_slow_connections_are_closed(app: &AppProcess) {
    let addr = app.addr();
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let slow_addr = addr.clone();
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&slow_addr).expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        let start = Instant::now();
        for i in 0..30 {
            std::thread::sleep(Duration::from_secs(1));
            if stream
                .write_all(format!("X-Slow-{i}: {i}\r\n").as_bytes())
                .is_err()
            {
                return Some(start.elapsed());
            }
        }
        closed_within(stream, Duration::from_secs(1)).map(|d| start.elapsed() + d)
    });
    let page = send_raw(&addr, &request("GET", b"/", &addr, &[], b""), false);
    assert_eq!(page.status(), Some(200), "while idle sockets are open");

    let closed: Vec<Option<Duration>> = idle
        .into_iter()
        .map(|s| closed_within(s, Duration::from_secs(20)))
        .collect();
    let open = closed.iter().filter(|c| c.is_none()).count();
    assert_eq!(
        open, 0,
        "{open} of 200 idle connections still open after 20 s"
    );
    let slow = slow.join().expect("the slow client");
    assert!(
        slow.is_some_and(|d| d < Duration::from_secs(15)),
        "a header line every second kept the connection open: {slow:?}"
    );
    let page = send_raw(&addr, &request("GET", b"/", &addr, &[], b""), false);
    assert_eq!(page.status(), Some(200), "after the idle sockets");
}

/// `POST /login`, `/logout` and `/notify` from another site (told by `Sec-Fetch-Site` or
/// `Origin`) are refused with a JSON `403` and change nothing; same-origin posts and posts
/// without either header (non-browser clients) pass.
/// Requests with malformed or forged session cookies (for either framework's cookie name) are
/// logged-out `401`s, and at the default log level (no `RUST_LOG`) they log no warning: one per
/// request would let any client fill the log.
pub fn garbage_session_cookies_log_nothing_by_default(binary: &str) {
    let app = AppProcess::start(
        binary,
        &[
            ("BEAMS_INSTANCE_ID", INSTANCE_ID),
            ("BEAMS_SECRET_KEY", SECRET_KEY),
        ],
        &["BEAMS_ENDPOINT", "REDIS_URL", "RUST_LOG"],
    );
    let addr = app.addr();
    for i in 0..20 {
        let cookie =
            format!("Cookie: id=garbage{i}; beams-example-session=garbage{i}; tower.sid=x{i}");
        let outcome = send_raw(
            &addr,
            &request(
                "GET",
                b"/pusher/beams-auth?user_id=alice",
                &addr,
                &[cookie.as_bytes()],
                b"",
            ),
            false,
        );
        match &outcome {
            Outcome::Response(r) if r.status == 401 => {}
            other => panic!("garbage cookie {i}: {}", other.summary()),
        }
    }
    let output = app.stop_with_output();
    // Its stderr is read: the start-up line is there.
    assert!(output.contains("Beams instance"), "{output}");
    assert!(!output.contains("WARN"), "{output}");
}

pub fn cross_site_posts_are_refused(app: &AppProcess) {
    let addr = app.addr();
    let form = b"Content-Type: application/x-www-form-urlencoded".as_slice();
    let own_origin = format!("Origin: http://{addr}");
    let post = |path: &str, headers: &[&[u8]], body: &[u8]| {
        send_raw(
            &addr,
            &request("POST", path.as_bytes(), &addr, headers, body),
            false,
        )
    };
    let cookie = login(&addr, "alice").unwrap_or_else(|o| panic!("login: {}", o.summary()));
    let cookie = format!("Cookie: {cookie}");
    let hostile: [&[&[u8]]; 4] = [
        &[b"Sec-Fetch-Site: cross-site"],
        &[b"Sec-Fetch-Site: same-site"],
        &[b"Origin: http://127.0.0.1:1"],
        &[b"Origin: null"],
    ];
    for headers in hostile {
        for path in ["/login", "/logout", "/notify"] {
            let mut all: Vec<&[u8]> = headers.to_vec();
            all.extend([form, cookie.as_bytes()]);
            let outcome = post(path, &all, b"username=mallory&title=x");
            match &outcome {
                Outcome::Response(r) if r.status == 403 => {
                    let body = r.json();
                    assert_eq!(body["error"], "Forbidden", "{path}");
                    assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
                }
                other => panic!("{path} with {headers:?}: {}", other.summary()),
            }
        }
    }
    // Still alice, logged in: the refused logout and login changed nothing.
    let token = send_raw(
        &addr,
        &request(
            "GET",
            b"/pusher/beams-auth?user_id=alice",
            &addr,
            &[cookie.as_bytes()],
            b"",
        ),
        false,
    );
    assert_eq!(token.status(), Some(200), "{}", token.summary());
    // The app's own pages and non-browser clients may post.
    for headers in [
        vec![b"Sec-Fetch-Site: same-origin".as_slice()],
        vec![own_origin.as_bytes()],
        vec![],
    ] {
        let mut all = headers.clone();
        all.push(form);
        let outcome = post("/login", &all, b"username=bob");
        assert_eq!(
            outcome.status(),
            Some(200),
            "{headers:?}: {}",
            outcome.summary()
        );
    }
}

/// A `/notify` form over the 16 KiB limit is a `413`, never a publish with the default text;
/// the same for `/login`. A `/notify` body that is not a form (JSON) is a `400`.
pub fn oversized_forms_are_refused(app: &AppProcess) {
    let addr = app.addr();
    let cookie = login(&addr, "alice").unwrap_or_else(|o| panic!("login: {}", o.summary()));
    let cookie = format!("Cookie: {cookie}");
    let form = b"Content-Type: application/x-www-form-urlencoded".as_slice();
    let big = format!("title={}", form_encode(&"x".repeat(300_000)));
    for path in ["/notify", "/login"] {
        let outcome = send_raw(
            &addr,
            &request(
                "POST",
                path.as_bytes(),
                &addr,
                &[form, cookie.as_bytes()],
                big.as_bytes(),
            ),
            false,
        );
        match &outcome {
            Outcome::Response(r) => {
                assert_eq!(r.status, 413, "{path}: {}", outcome.summary());
                assert_eq!(r.json()["error"], "Payload Too Large");
            }
            Outcome::Closed(why) => panic!("{path}: closed ({why})"),
        }
    }
    let json = send_raw(
        &addr,
        &request(
            "POST",
            b"/notify",
            &addr,
            &[b"Content-Type: application/json", cookie.as_bytes()],
            br#"{"title":"x"}"#,
        ),
        false,
    );
    assert_eq!(json.status(), Some(400), "JSON: {}", json.summary());
}

/// With `SESSION_CAPACITY=50`, 300 logins leave at most 50 sessions that still get a token.
pub fn the_session_store_is_capped(app: &AppProcess, capacity: usize) {
    let addr = app.addr();
    let cookies: Vec<(String, String)> = (0..300)
        .map(|i| {
            let user = format!("user{i}");
            let cookie = login(&addr, &user).unwrap_or_else(|o| panic!("login: {}", o.summary()));
            (user, cookie)
        })
        .collect();
    let live = cookies
        .iter()
        .filter(|(user, cookie)| {
            let target = format!("/pusher/beams-auth?user_id={user}");
            let header = format!("Cookie: {cookie}");
            send_raw(
                &addr,
                &request("GET", target.as_bytes(), &addr, &[header.as_bytes()], b""),
                false,
            )
            .status()
                == Some(200)
        })
        .count();
    eprintln!("{live} of 300 sessions still live with a capacity of {capacity}");
    assert!(
        live <= capacity,
        "{live} of 300 sessions still live with a capacity of {capacity}"
    );
    assert!(live > 0, "no session survived at all");
}

/// Text from Beams (here an error description with line breaks, from an emulator fault)
/// never forges a log line: it is logged escaped.
pub async fn upstream_text_cannot_forge_log_lines(binary: &str) {
    use beams_emulator::{Emulator, Fault};
    const FORGED: &str = "FORGED-LINE admin logged in";
    let emulator = Emulator::builder()
        .start()
        .await
        .expect("the emulator starts");
    let state = emulator.state();
    let app = AppProcess::start(
        binary,
        &[
            ("BEAMS_INSTANCE_ID", state.instance_id()),
            ("BEAMS_SECRET_KEY", state.secret_key()),
            ("BEAMS_ENDPOINT", emulator.base_url()),
            ("RUST_LOG", "debug"),
        ],
        &[],
    );
    let addr = app.addr();
    state.inject_fault(
        Fault::status(500)
            .description(format!("boom\n{FORGED}\r\n{FORGED}"))
            .path_prefix("/publish_api"),
    );
    let cookie = login(&addr, "alice").unwrap_or_else(|o| panic!("login: {}", o.summary()));
    let cookie = format!("Cookie: {cookie}");
    let outcome = send_raw(
        &addr,
        &request("POST", b"/notify", &addr, &[cookie.as_bytes()], b""),
        false,
    );
    assert_eq!(outcome.status(), Some(502), "{}", outcome.summary());
    std::thread::sleep(Duration::from_millis(300));
    let output = app.stop_with_output();
    assert!(
        output.contains("publish failed"),
        "the failure was not logged at all:\n{output}"
    );
    let forged: Vec<&str> = output
        .lines()
        .filter(|line| line.trim_start().starts_with("FORGED-LINE"))
        .collect();
    assert!(forged.is_empty(), "forged log lines: {forged:?}\n{output}");
}

/// The webhook receiver of an app started with `BEAMS_WEBHOOK_SECRET=secret`, over real HTTP,
/// with signatures computed by Python's `hmac` and Node's `crypto` (as Beams' docs do): what
/// is taken, what is refused and how, and that a taken report reaches the demo's
/// `/delivery-report`.
pub fn webhooks_are_verified(app: &AppProcess, secret: &str) {
    use beams_test_support::independent::{node_hmac, python_hmac};
    let addr = app.addr();
    let path = b"/pusher/beams-webhooks".as_slice();
    let attempt = serde_json::json!({
        "payload": {"instance_id": "i", "publish_id": "pubid-webhook-test",
                    "users_delivered_to_gateway": [], "users_no_devices": ["wanda"],
                    "users_gateway_failed": []},
        "metadata": {"created_at": "2019-03-11T10:42:16+0000", "event_type": "v1.PublishToUsersAttempt",
                     "event_id": "ev-1", "product": "beams"},
        "custom_data": {},
    })
    .to_string()
    .into_bytes();
    let unknown = br#"{"payload":{"x":1},"metadata":{"event_type":"v9.Future","event_id":"ev-2"},"custom_data":{}}"#.to_vec();
    let send = |signature: Option<&str>, body: &[u8]| {
        let header = signature.map(|s| format!("Webhook-Signature: {s}"));
        let mut headers: Vec<&[u8]> = vec![b"Content-Type: application/json"];
        if let Some(h) = &header {
            headers.push(h.as_bytes());
        }
        send_raw(&addr, &request("POST", path, &addr, &headers, body), false)
    };
    let expect = |outcome: Outcome, status: u16, what: &str| {
        let Outcome::Response(r) = &outcome else {
            panic!("{what}: {}", outcome.summary());
        };
        assert_eq!(r.status, status, "{what}: {}", outcome.summary());
        assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        r.clone()
    };
    let good = python_hmac(secret, &attempt, false);
    let mut tampered = attempt.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x20;
    let big = vec![b' '; (1 << 20) + 1];

    expect(send(Some(&good), &attempt), 200, "signed by Python");
    expect(
        send(Some(&good.to_ascii_uppercase()), &attempt),
        200,
        "upper-case hex",
    );
    expect(
        send(Some(&node_hmac(secret, &attempt)), &attempt),
        200,
        "signed by Node",
    );
    expect(
        send(Some(&python_hmac(secret, &unknown, false)), &unknown),
        200,
        "unknown event type",
    );
    for (what, signature, body) in [
        ("tampered body", Some(good.clone()), tampered.as_slice()),
        (
            "wrong secret",
            Some(python_hmac("not-the-secret", &attempt, false)),
            &attempt,
        ),
        ("missing header", None, &attempt),
        ("empty header", Some(String::new()), &attempt),
        ("non-hex header", Some("zz".repeat(20)), &attempt),
        (
            "SHA-256 instead of SHA-1",
            Some(python_hmac(secret, &attempt, true)),
            &attempt,
        ),
    ] {
        let r = expect(send(signature.as_deref(), body), 401, what);
        assert_eq!(r.json()["error"], "Unauthorized", "{what}");
    }
    expect(
        send(Some(&python_hmac(secret, b"not json", false)), b"not json"),
        400,
        "signed non-JSON",
    );
    expect(
        send(Some(&python_hmac(secret, &big, false)), &big),
        413,
        "over 1 MiB",
    );
    // Without a Content-Length the limit is found while reading: still a 413, with at most
    // the limit buffered. (hyper then closes the connection; actix-http reads the rest of a
    // chunked body and throws it away, as on any of its routes.)
    let head = format!(
        "POST /pusher/beams-webhooks HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\
         Webhook-Signature: {}\r\n\r\n",
        "00".repeat(20)
    );
    let outcome = send_chunked(&addr, head.as_bytes(), 8 << 20);
    expect(outcome, 413, "chunked, over 1 MiB");
    let r = expect(
        send_raw(&addr, &request("GET", path, &addr, &[], b""), false),
        405,
        "GET",
    );
    assert_eq!(r.header("allow"), Some("POST"));

    // The signed report reached the app's store: wanda has no devices.
    let cookie = login(&addr, "wanda").unwrap_or_else(|o| panic!("login: {}", o.summary()));
    let cookie = format!("Cookie: {cookie}");
    let report = send_raw(
        &addr,
        &request(
            "GET",
            b"/delivery-report?publishId=pubid-webhook-test",
            &addr,
            &[cookie.as_bytes()],
            b"",
        ),
        false,
    );
    let Outcome::Response(report) = report else {
        panic!("{}", report.summary());
    };
    assert_eq!(report.status, 200);
    assert_eq!(report.json()["attempt"], "no_devices");
}
