//! Fault injection against `POST /notify` of both example apps, served in-process over real
//! HTTP (`example_axum::app`, `example_actix::app`) with the publish client configured exactly
//! as the binaries do from `BEAMS_INSTANCE_ID`/`BEAMS_SECRET_KEY`/`BEAMS_ENDPOINT`
//! (`Instance::from_env_with` + `DemoBeams::new`, default `BeamsClient`: 10 s timeout,
//! 3 attempts).
//!
//! Peers: the emulator with injected faults (latency past the timeout, dropped connections,
//! 429 storms, 5xx bursts) and a raw TCP server for what the emulator cannot send (empty,
//! malformed, truncated, oversized and non-HTTP answers). For every fault: no panic, the
//! publish never reaches Beams twice (counted at the peer), and the app answers with a typed
//! error in Beams' `{"error","description"}` JSON shape — 502, or 504 for the timeout.
//!
//! `cargo test -p beams-tests --test integration notify_faults` (about 12 s: one case waits out the
//! default 10 s client timeout).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use beams_core::Instance;
use beams_emulator::{Emulator, Fault};
use beams_tests::interop::apps::{self, App, Framework, INSTANCE_ID, SECRET_KEY};
use example_support::DemoBeams;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Counts panics anywhere in this test binary (handlers included), except the failed
/// assertions of this crate's own tests: they share the binary, and their failure is reported
/// on its own.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|at| at.file().starts_with("tests/tests/"))
            {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// Runs `case` for both apps, one after the other, then checks that nothing panicked.
async fn for_both<F: Future<Output = ()>>(case: impl Fn(Framework) -> F) {
    count_panics();
    for framework in Framework::BOTH {
        case(framework).await;
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

/// The configuration the binaries build from the environment, with `endpoint` as
/// `BEAMS_ENDPOINT`.
fn demo(endpoint: &str) -> DemoBeams {
    let endpoint = endpoint.to_owned();
    let config = Instance::from_env_with(move |var| match var {
        "BEAMS_INSTANCE_ID" => Ok(INSTANCE_ID.to_owned()),
        "BEAMS_SECRET_KEY" => Ok(SECRET_KEY.to_owned()),
        "BEAMS_ENDPOINT" => Ok(endpoint.clone()),
        _ => Err(std::env::VarError::NotPresent),
    })
    .unwrap();
    DemoBeams::new(config, None).unwrap()
}

/// `framework`'s app publishing to `endpoint`, and a browser logged in as alice.
async fn app_and_browser(framework: Framework, endpoint: &str) -> (App, reqwest::Client) {
    let app = App::start(framework, demo(endpoint)).await;
    let client = app.login("alice").await.client;
    (app, client)
}

/// An emulator for the app's instance, the app publishing to it, and a logged-in browser.
async fn with_emulator(framework: Framework) -> (Emulator, App, reqwest::Client) {
    let emu = apps::emulator().await;
    let (app, client) = app_and_browser(framework, emu.base_url()).await;
    (emu, app, client)
}

/// Queues `fault` for the publish API.
fn inject_publish_fault(emu: &Emulator, fault: Fault) {
    emu.state().inject_fault(fault.path_prefix("/publish_api"));
}

/// `POST /notify`: the status and the JSON body, after checking the `{"error","description"}` shape of errors.
async fn notify(client: &reqwest::Client, app: &App) -> (u16, Value) {
    let res = client
        .post(app.url("/notify"))
        .form(&[("title", "Hi"), ("body", "There")])
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["content-type"], "application/json");
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(SECRET_KEY),
        "the secret in an answer: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    if status == 200 {
        assert!(body["publishId"].is_string(), "{body}");
    } else {
        let reason = reqwest::StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap();
        assert_eq!(body["error"], reason, "{body}");
        assert!(body["description"].is_string(), "{body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    }
    (status, body)
}

/// `POST /notify` answered with `status` and a description containing `reason`; the body.
async fn notify_fails(client: &reqwest::Client, app: &App, status: u16, reason: &str) -> Value {
    let framework = app.framework();
    let (got, body) = notify(client, app).await;
    assert_eq!(got, status, "{framework:?}: {body}");
    assert!(description(&body).contains(reason), "{body}");
    body
}

fn description(body: &Value) -> &str {
    body["description"].as_str().unwrap_or_default()
}

/// Faults left in the emulator's queue (each matching request consumes one).
fn faults_left(emu: &Emulator) -> u32 {
    emu.state().pending_faults().iter().map(|f| f.count).sum()
}

/// Past the default 10 s timeout: 504 after one attempt; Beams sees the publish once at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_beams_is_a_504_after_the_default_timeout() {
    count_panics();
    let run = |framework| async move {
        let (emu, app, client) = with_emulator(framework).await;
        inject_publish_fault(&emu, Fault::latency(Duration::from_millis(11_500)));
        let started = Instant::now();
        notify_fails(&client, &app, 504, "no answer from Beams").await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(10) && took < Duration::from_secs(13),
            "{framework:?}: {took:?}"
        );
        // Let the delayed request run out: the publish is recorded at most once (the timed-out
        // attempt, if the emulator still handles it), never retried.
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        assert!(
            emu.state().publishes().len() <= 1,
            "{framework:?}: {:?}",
            emu.state().publishes()
        );
        // And the app still works.
        let (status, _) = notify(&client, &app).await;
        assert_eq!(status, 200);
    };
    tokio::join!(run(Framework::Axum), run(Framework::Actix));
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

/// A connection dropped after the request was sent: 502, not retried (the publish may have
/// been delivered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_is_a_502_and_not_retried() {
    for_both(|framework| async move {
        let (emu, app, client) = with_emulator(framework).await;
        inject_publish_fault(&emu, Fault::drop_connection().times(3));
        notify_fails(&client, &app, 502, "network error").await;
        assert_eq!(
            faults_left(&emu),
            2,
            "{framework:?}: the publish was retried"
        );
        assert!(emu.state().publishes().is_empty());
        emu.state().clear_faults();
        assert_eq!(notify(&client, &app).await.0, 200);
        assert_eq!(emu.state().publishes().len(), 1);
    })
    .await;
}

/// A 429 storm: bounded retries (3 attempts), then 502 with the reason; a `Retry-After`
/// beyond the policy's maximum ends the retries at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_storm_is_retried_a_bounded_number_of_times() {
    let storm = |retry_after: &str, times| Fault::status(429).retry_after(retry_after).times(times);
    for_both(|framework| async move {
        let (emu, app, client) = with_emulator(framework).await;

        inject_publish_fault(&emu, storm("0", 50));
        notify_fails(&client, &app, 502, "rate limited").await;
        assert_eq!(
            faults_left(&emu),
            47,
            "{framework:?}: not exactly 3 attempts"
        );
        emu.state().clear_faults();

        inject_publish_fault(&emu, storm("3600", 50));
        let started = Instant::now();
        let (status, body) = notify(&client, &app).await;
        assert_eq!(status, 502, "{body}");
        assert!(
            description(&body).contains("1h") || description(&body).contains("3600"),
            "{body}"
        );
        assert_eq!(
            faults_left(&emu),
            49,
            "a long Retry-After must not be waited for"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        emu.state().clear_faults();

        // Two 429s then success: retried, and published exactly once.
        inject_publish_fault(&emu, storm("0", 2));
        assert_eq!(notify(&client, &app).await.0, 200);
        assert_eq!(emu.state().publishes().len(), 1, "{framework:?}");
    })
    .await;
}

/// 5xx bursts: every failed publish is one request (never retried), each answered 502; once
/// the burst is over the next publish succeeds, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_burst_is_not_retried() {
    for_both(|framework| async move {
        let (emu, app, client) = with_emulator(framework).await;
        for status in [500, 502, 503, 504] {
            let burst = Fault::status(status).times(3).retry_after("0");
            inject_publish_fault(&emu, burst.description("burst"));
        }
        for left in (0..12).rev() {
            let body = notify_fails(&client, &app, 502, "Beams server error").await;
            assert!(description(&body).contains("burst"), "{body}");
            assert_eq!(
                faults_left(&emu),
                left,
                "{framework:?}: a publish was retried"
            );
        }
        assert!(emu.state().publishes().is_empty());
        assert_eq!(notify(&client, &app).await.0, 200);
        assert_eq!(emu.state().publishes().len(), 1);
    })
    .await;
}

/// What the raw peer does with each request.
#[derive(Debug, Clone, Copy)]
enum Peer {
    /// Send these bytes, then close.
    Answer(&'static [u8]),
    /// A 200 with a 1 MiB body of garbage.
    Huge,
    /// Close without answering.
    Close,
}

/// A complete answer with a correct `Content-Length`.
fn answer(status: &str, content_type: Option<&str>, body: &str) -> Peer {
    let content_type = content_type
        .map(|t| format!("Content-Type: {t}\r\n"))
        .unwrap_or_default();
    let bytes = format!(
        "HTTP/1.1 {status}\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Peer::Answer(Box::leak(bytes.into_bytes().into_boxed_slice()))
}

/// A one-behaviour HTTP peer on 127.0.0.1 that counts the requests it receives.
async fn raw_peer(behaviour: Peer) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                // Read the head and the Content-Length body.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let complete = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break true;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break false,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                if !complete {
                    return;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match behaviour {
                    Peer::Answer(bytes) => {
                        let _ = stream.write_all(bytes).await;
                    }
                    Peer::Huge => {
                        let body = vec![b'x'; 1024 * 1024];
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(&body).await;
                    }
                    Peer::Close => {}
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), count)
}

/// Empty, malformed, truncated, oversized and non-HTTP answers: a typed 502 each, the
/// publish sent once (429 aside, which is retried to the bound); a 2xx with a publish id is a
/// success whatever the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_empty_answers_are_typed_502s() {
    let json = Some("application/json");
    let cases: [(&str, Peer, u16, &str, usize); 13] = [
        (
            "200, empty body",
            answer("200 OK", None, ""),
            502,
            "unreadable body",
            1,
        ),
        (
            "200, not JSON",
            answer("200 OK", json, "not json"),
            502,
            "unreadable body",
            1,
        ),
        (
            "200, publishId not a string",
            answer("200 OK", json, r#"{"publishId":5}"#),
            502,
            "unreadable body",
            1,
        ),
        (
            "200, JSON array",
            answer("200 OK", json, "[]"),
            502,
            "unreadable body",
            1,
        ),
        (
            "200, body cut short",
            Peer::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"publishId\""),
            502,
            "network error",
            1,
        ),
        ("200, 1 MiB body", Peer::Huge, 502, "unreadable body", 1),
        (
            "500, HTML",
            answer(
                "500 Internal Server Error",
                Some("text/html"),
                "<html><h1>Oops</h1></html>",
            ),
            502,
            "Beams server error",
            1,
        ),
        (
            "500, empty",
            answer("500 Internal Server Error", None, ""),
            502,
            "Beams server error",
            1,
        ),
        (
            "429, empty, no Retry-After",
            answer("429 Too Many Requests", None, ""),
            502,
            "rate limited",
            3,
        ),
        (
            "401, Beams error",
            answer(
                "401 Unauthorized",
                json,
                r#"{"error":"Unauthorized","description":"Incorrect Secret Key"}"#,
            ),
            502,
            "Incorrect Secret Key",
            1,
        ),
        (
            "not HTTP at all",
            Peer::Answer(b"HELLO THERE\r\n\r\n"),
            502,
            "network error",
            1,
        ),
        (
            "closed without answer",
            Peer::Close,
            502,
            "network error",
            1,
        ),
        (
            "202 with a publish id",
            answer("202 Accepted", json, r#"{"publishId":"pubid-x"}"#),
            200,
            "",
            1,
        ),
    ];
    for_both(|framework| async move {
        for (name, behaviour, expected, reason, requests) in cases {
            let (endpoint, count) = raw_peer(behaviour).await;
            let (app, client) = app_and_browser(framework, &endpoint).await;
            let (status, body) = notify(&client, &app).await;
            assert_eq!(status, expected, "{framework:?} {name}: {body}");
            assert!(
                description(&body).contains(reason),
                "{framework:?} {name}: {body}"
            );
            assert_eq!(
                count.load(Ordering::SeqCst),
                requests,
                "{framework:?} {name}: requests to Beams"
            );
            // Still serving.
            let res = client.get(app.url("/demo-config")).send().await.unwrap();
            assert_eq!(res.status(), 200, "{framework:?} {name}");
        }
    })
    .await;
}
