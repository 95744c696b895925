//! Secret hygiene: every route of an app run with `RUST_LOG=trace`, then a scan of its
//! output and answers for the secret and the issued tokens; and `Debug` of every public type
//! holding the secret is redacted.

use std::time::Duration;

use super::client::{Outcome, RawResponse, login, request, send_raw};
use crate::process::AppProcess;

/// The secret the hygiene run uses: distinctive, so any trace of it is found.
pub const HYGIENE_SECRET: &str = "HYGIENE-5e5a7c1d9b3f4e21a8c6d0f2b7e9a4c3-SECRET";
/// The instance id of the hygiene run.
pub const HYGIENE_INSTANCE: &str = "0f1e2d3c-hygiene-instance";

/// What [`secret_hygiene`] saw.
#[derive(Debug, Default)]
pub struct HygieneReport {
    /// Tokens the app issued during the run.
    pub tokens: Vec<String>,
    /// Requests sent, with their statuses.
    pub requests: Vec<(String, Option<u16>)>,
    /// Bytes the app printed.
    pub output_bytes: usize,
    /// Lines the app printed.
    pub output_lines: usize,
}

/// Runs `binary` with `RUST_LOG=trace` and a known secret against an emulator started here,
/// drives every path (page, demo-config, login, token issue 200/401/400/405, notify success
/// and failure, logout), and asserts that neither the secret, nor any issued token, nor any
/// token's signature appears in what the app printed or in any answer it sent; prints what
/// it scanned. Needs a multi-threaded Tokio runtime (the emulator runs on it while this
/// drives the app).
pub async fn secret_hygiene(binary: &str) -> HygieneReport {
    use beams_emulator::{Emulator, Fault};

    let emulator = Emulator::builder()
        .instance_id(HYGIENE_INSTANCE)
        .secret_key(HYGIENE_SECRET)
        .start()
        .await
        .expect("the emulator starts");
    let app = AppProcess::start(
        binary,
        &[
            ("BEAMS_INSTANCE_ID", HYGIENE_INSTANCE),
            ("BEAMS_SECRET_KEY", HYGIENE_SECRET),
            ("BEAMS_ENDPOINT", emulator.base_url()),
            ("RUST_LOG", "trace"),
        ],
        &[],
    );
    let addr = app.addr();
    let mut report = HygieneReport::default();
    let mut answers: Vec<RawResponse> = Vec::new();
    let mut send = |name: &str, req: Vec<u8>, expected: &[u16]| {
        let outcome = send_raw(&addr, &req, false);
        report.requests.push((name.to_owned(), outcome.status()));
        match outcome {
            Outcome::Response(r) => {
                assert!(
                    expected.contains(&r.status),
                    "{name}: {} {}",
                    r.status,
                    r.text()
                );
                if r.status == 200 && r.body.starts_with(b"{\"token\":\"") {
                    let token = r.text()["{\"token\":\"".len()..]
                        .trim_end_matches("\"}")
                        .to_owned();
                    report.tokens.push(token);
                }
                answers.push(r);
            }
            Outcome::Closed(why) => panic!("{name}: no answer ({why})"),
        }
    };

    let form = b"Content-Type: application/x-www-form-urlencoded".as_slice();
    send("page", request("GET", b"/", &addr, &[], b""), &[200]);
    send(
        "demo-config, logged out",
        request("GET", b"/demo-config", &addr, &[], b""),
        &[200],
    );
    send(
        "token, logged out",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[], b""),
        &[401],
    );
    send(
        "notify, logged out",
        request("POST", b"/notify", &addr, &[form], b""),
        &[401],
    );
    let cookie = format!(
        "Cookie: {}",
        login(&addr, "alice").unwrap_or_else(|o| panic!("login: {}", o.summary()))
    );
    let c = cookie.as_bytes();
    send(
        "demo-config, logged in",
        request("GET", b"/demo-config", &addr, &[c], b""),
        &[200],
    );
    for _ in 0..3 {
        send(
            "token",
            request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[c], b""),
            &[200],
        );
    }
    send(
        "token, once more",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[c], b""),
        &[200],
    );
    send(
        "token for another user",
        request("GET", b"/pusher/beams-auth?user_id=bob", &addr, &[c], b""),
        &[401],
    );
    send(
        "token, no user_id",
        request("GET", b"/pusher/beams-auth", &addr, &[c], b""),
        &[400],
    );
    send(
        "token, malformed",
        request("GET", b"/pusher/beams-auth?user_id=%ZZ", &addr, &[c], b""),
        &[400],
    );
    send(
        "token, POST",
        request(
            "POST",
            b"/pusher/beams-auth?user_id=alice",
            &addr,
            &[c],
            b"",
        ),
        &[405],
    );
    send(
        "notify",
        request(
            "POST",
            b"/notify",
            &addr,
            &[c, form],
            b"title=Hi&body=There",
        ),
        &[200],
    );
    emulator
        .state()
        .inject_fault(Fault::status(500).path_prefix("/publish_api"));
    send(
        "notify, Beams 500",
        request("POST", b"/notify", &addr, &[c, form], b""),
        &[502],
    );
    emulator.state().inject_fault(
        Fault::status(429)
            .retry_after("0")
            .times(3)
            .path_prefix("/publish_api"),
    );
    send(
        "notify, Beams 429",
        request("POST", b"/notify", &addr, &[c, form], b""),
        &[502],
    );
    emulator
        .state()
        .inject_fault(Fault::drop_connection().path_prefix("/publish_api"));
    send(
        "notify, connection dropped",
        request("POST", b"/notify", &addr, &[c, form], b""),
        &[502],
    );
    send(
        "logout",
        request("POST", b"/logout", &addr, &[c], b""),
        &[200, 204],
    );
    // As a browser does after logout, the cleared cookie is not sent again.
    send(
        "token after logout",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[], b""),
        &[401],
    );
    // A copy of the cookie taken before logout is worthless: both apps keep sessions on the
    // server, and logout deleted this one there.
    send(
        "token for the old cookie replayed after logout",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[c], b""),
        &[401],
    );

    // Let the last log lines arrive before stopping.
    std::thread::sleep(Duration::from_millis(300));
    let output = app.stop_with_output();
    emulator.shutdown().await;

    report.output_bytes = output.len();
    report.output_lines = output.lines().count();
    assert_eq!(
        report.tokens.len(),
        4,
        "tokens issued: {:?}",
        report.requests
    );
    // The run really logged at trace level, through our targets too.
    assert!(output.contains("TRACE"), "no trace output: {output}");
    assert!(
        output.contains("beams::auth"),
        "no beams::auth events: {output}"
    );
    let mut leaks = Vec::new();
    if output.contains(HYGIENE_SECRET) {
        leaks.push("the secret key".to_owned());
    }
    for token in &report.tokens {
        let signature = token.rsplit('.').next().unwrap_or(token);
        if output.contains(token.as_str()) {
            leaks.push(format!("a token ({}…)", &token[..20]));
        }
        if output.contains(signature) {
            leaks.push(format!("a token signature ({signature})"));
        }
    }
    for r in &answers {
        let headers: String = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        if headers.contains(HYGIENE_SECRET) || r.text().contains(HYGIENE_SECRET) {
            leaks.push(format!("the secret in an answer ({})", r.status));
        }
    }
    assert!(
        leaks.is_empty(),
        "leaked: {leaks:?}\n--- output ---\n{output}"
    );
    eprintln!(
        "{binary}: {} requests, {} tokens, {} lines ({} bytes) of trace output scanned",
        report.requests.len(),
        report.tokens.len(),
        report.output_lines,
        report.output_bytes
    );
    report
}

/// `Debug` (plain and `{:#?}`) of every public type that holds the secret, and `Display`
/// where there is one, never shows the secret; a token's `Debug` never shows the token.
pub async fn assert_debug_redacted() {
    use beams_core::publish::BeamsClient;
    use beams_core::{BeamsAuth, Instance, SecretKey, TokenIssuer, UserId};
    use beams_emulator::Emulator;

    let instance = Instance::builder(HYGIENE_INSTANCE, HYGIENE_SECRET)
        .endpoint("http://127.0.0.1:9")
        .build()
        .unwrap();
    let builder = Instance::builder(HYGIENE_INSTANCE, HYGIENE_SECRET);
    let key = SecretKey::new(HYGIENE_SECRET);
    let auth = BeamsAuth::new(&instance);
    let auth_builder = BeamsAuth::builder(&instance);
    let issuer = TokenIssuer::new(&instance);
    let token = issuer.issue(&UserId::new("alice").unwrap()).unwrap();
    let client = BeamsClient::new(&instance).unwrap();
    let client_builder = BeamsClient::builder(&instance);
    let emulator_builder = Emulator::builder().secret_key(HYGIENE_SECRET);
    let state = Emulator::builder()
        .secret_key(HYGIENE_SECRET)
        .build_state()
        .unwrap();
    let emulator = Emulator::builder()
        .secret_key(HYGIENE_SECRET)
        .start()
        .await
        .unwrap();
    let emulator_debug = [format!("{emulator:?}"), format!("{emulator:#?}")];
    let demo = example_support::DemoBeams::with_emulator(emulator).unwrap();

    let mut shown: Vec<(&str, String)> = Vec::new();
    macro_rules! debug {
        ($($name:literal => $value:expr),* $(,)?) => {$(
            shown.push(($name, format!("{:?}", $value)));
            shown.push(($name, format!("{:#?}", $value)));
        )*};
    }
    debug!(
        "Instance" => instance,
        "InstanceBuilder" => builder,
        "SecretKey" => key,
        "BeamsAuth" => auth,
        "BeamsAuthBuilder" => auth_builder,
        "TokenIssuer" => issuer,
        "BeamsToken" => token,
        "BeamsClient" => client,
        "BeamsClientBuilder" => client_builder,
        "EmulatorBuilder" => emulator_builder,
        "EmulatorState" => state,
        "DemoBeams" => demo,
        "DemoBeams.auth" => demo.auth,
    );
    shown.push(("SecretKey (Display)", key.to_string()));
    shown.push(("Emulator", emulator_debug[0].clone()));
    shown.push(("Emulator", emulator_debug[1].clone()));

    for (name, text) in &shown {
        assert!(
            !text.contains(HYGIENE_SECRET),
            "{name} shows the secret: {text}"
        );
        assert!(
            !text.contains(token.as_str()),
            "{name} shows the token: {text}"
        );
        let signature = token.as_str().rsplit('.').next().unwrap();
        assert!(
            !text.contains(signature),
            "{name} shows the token's signature: {text}"
        );
    }
    // The types do say what they are (the check above is not passing on empty output).
    assert!(shown.iter().all(|(_, text)| !text.is_empty()));
}
