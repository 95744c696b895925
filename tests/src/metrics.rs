//! An example binary started with `METRICS_ADDR`, driven with real traffic (a logged-out
//! token request, a login, a token, a notify that the embedded emulator answers with a signed
//! webhook), then its Prometheus text read over HTTP. Shared by both example apps' tests.

use std::sync::atomic::AtomicU16;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::browser::login;
use crate::process::AppProcess;

/// A user id that no metric name, label or value could hold by chance: it must appear
/// nowhere in the Prometheus text.
pub const DISTINCTIVE_USER: &str = "zz-distinctive-user-42";

/// Every label pair the Prometheus text may hold after the test's traffic: the listed
/// values of `outcome`, `operation` and `event`, and the histograms' buckets (`le`).
const ALLOWED_LABELS: [&str; 36] = [
    "outcome=\"issued\"",
    "outcome=\"bad_request\"",
    "outcome=\"unauthorized\"",
    "outcome=\"unavailable\"",
    "outcome=\"method_not_allowed\"",
    "outcome=\"ok\"",
    "outcome=\"rate_limited\"",
    "outcome=\"client_error\"",
    "outcome=\"server_error\"",
    "outcome=\"network\"",
    "outcome=\"accepted\"",
    "outcome=\"bad_signature\"",
    "outcome=\"too_large\"",
    "outcome=\"handler_error\"",
    "operation=\"publish_to_users\"",
    "operation=\"publish_to_interests\"",
    "operation=\"delete_user\"",
    "event=\"publish_to_users_attempt\"",
    "event=\"user_notification_acknowledgement\"",
    "event=\"user_notification_open\"",
    "event=\"other\"",
    "le=\"0.0005\"",
    "le=\"0.001\"",
    "le=\"0.0025\"",
    "le=\"0.005\"",
    "le=\"0.01\"",
    "le=\"0.025\"",
    "le=\"0.05\"",
    "le=\"0.1\"",
    "le=\"0.25\"",
    "le=\"0.5\"",
    "le=\"1\"",
    "le=\"2.5\"",
    "le=\"5\"",
    "le=\"10\"",
    "le=\"+Inf\"",
];

/// The variables that would point the app at a real instance or shared state: unset, so
/// the app runs on its embedded emulator, which calls the app's webhook receiver.
const UNSET: [&str; 6] = [
    "BEAMS_INSTANCE_ID",
    "BEAMS_SECRET_KEY",
    "BEAMS_ENDPOINT",
    "BEAMS_EMULATOR_PORT",
    "BEAMS_WEBHOOK_SECRET",
    "REDIS_URL",
];

/// A port nothing listens on, below Linux's ephemeral range (32768 and up), so that the
/// app's own `PORT=0` and the emulator's port cannot be handed the same one. Each call in a
/// process starts its search 100 ports further, so that tests running at once do not pick
/// the same one.
pub fn free_metrics_port() -> u16 {
    static CALLS: AtomicU16 = AtomicU16::new(0);
    let offset = std::process::id() % 10_000 + 100 * u32::from(CALLS.fetch_add(1, Relaxed) % 20);
    let start = 20_000 + u16::try_from(offset % 12_000).expect("below 12000");
    (start..32_000)
        .chain(20_000..start)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}

/// One sample of `name` whose labels include every pair of `labels`, from Prometheus text.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let wanted = labels.iter().all(|(k, v)| {
                series_labels
                    .split(',')
                    .any(|pair| pair == format!("{k}=\"{v}\""))
            });
            (series_name == name && wanted).then(|| value.parse().ok())?
        })
}

/// Starts `binary` with `METRICS_ADDR` on a free port and checks, over HTTP, that after real
/// traffic the Prometheus text holds the auth, publish and webhook metrics with their labels,
/// that no line holds the user's id, and that the app's own port has no `/metrics`.
pub async fn serves_metrics_after_real_traffic(binary: &str) {
    let metrics_addr = format!("127.0.0.1:{}", free_metrics_port());
    let app = AppProcess::start(binary, &[("METRICS_ADDR", &metrics_addr)], &UNSET);
    let metrics_url = format!("http://{metrics_addr}/metrics");
    let client = crate::browser::browser();
    let token = |user: &str| {
        client
            .get(app.url(&format!("/pusher/beams-auth?user_id={user}")))
            .send()
    };

    // Logged out: a 401 (`unauthorized`).
    assert_eq!(
        token(DISTINCTIVE_USER).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Logged in: a token (`issued`), then a publish to the user through the client.
    assert_eq!(
        login(&client, &app, DISTINCTIVE_USER).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        token(DISTINCTIVE_USER).await.unwrap().status(),
        StatusCode::OK
    );
    let notify = client
        .post(app.url("/notify"))
        .form(&[("title", "Metrics"), ("body", DISTINCTIVE_USER)])
        .send()
        .await
        .unwrap();
    assert_eq!(notify.status(), StatusCode::OK, "{}", app.output());

    // The emulator's `v1.PublishToUsersAttempt` webhook reaches the app's receiver shortly
    // after the publish: read the metrics until it is counted.
    let accepted = [("outcome", "accepted")];
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let res = client.get(&metrics_url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        if sample(&text, "beams_webhook_requests_total", &accepted).is_some_and(|n| n >= 1.0) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no accepted webhook counted; metrics:\n{text}\napp:\n{}",
            app.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // A fresh app, one known sequence: exact counts.
    let exactly = |name: &str, labels: &[(&str, &str)], expected: f64| {
        let value = sample(&text, name, labels);
        assert_eq!(value, Some(expected), "{name}{labels:?} in:\n{text}");
    };
    exactly("beams_auth_requests_total", &[("outcome", "issued")], 1.0);
    exactly(
        "beams_auth_requests_total",
        &[("outcome", "unauthorized")],
        1.0,
    );
    exactly(
        "beams_publish_requests_total",
        &[("operation", "publish_to_users"), ("outcome", "ok")],
        1.0,
    );
    exactly("beams_webhook_requests_total", &accepted, 1.0);
    exactly(
        "beams_webhook_events_total",
        &[("event", "publish_to_users_attempt")],
        1.0,
    );
    // Durations are histograms: buckets, a sum and a count (the two decisions, the one
    // publish request and its wait for a slot).
    for (name, labels, count) in [
        ("beams_auth_duration_seconds", &[][..], 2.0),
        (
            "beams_publish_duration_seconds",
            &[("operation", "publish_to_users")][..],
            1.0,
        ),
        ("beams_rate_limiter_wait_seconds", &[][..], 1.0),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} histogram")),
            "{name} in:\n{text}"
        );
        exactly(&format!("{name}_count"), labels, count);
        let inf = [labels, &[("le", "+Inf")]].concat();
        exactly(&format!("{name}_bucket"), &inf, count);
        assert!(
            sample(&text, &format!("{name}_sum"), labels).is_some_and(|s| s >= 0.0),
            "{name}_sum in:\n{text}"
        );
    }
    // Every label of every beams_ series takes one of its listed values.
    for line in text.lines().filter(|l| l.starts_with("beams_")) {
        let labels = line
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map_or("", |(labels, _)| labels);
        for pair in labels.split(',').filter(|p| !p.is_empty()) {
            assert!(ALLOWED_LABELS.contains(&pair), "{pair} in {line}");
        }
    }
    // Bounded labels: the user id is in no name, label or value.
    assert!(!text.contains(DISTINCTIVE_USER), "{text}");
    assert!(!text.contains("zz-distinctive"), "{text}");

    // The metrics address serves that one path.
    let other = client
        .get(format!("http://{metrics_addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    // The app's own port serves no metrics.
    let own = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::NOT_FOUND);
    assert!(!own.text().await.unwrap().contains("beams_"));

    // Where the metrics are served is said on stderr.
    let said = format!("Prometheus metrics at {metrics_url}");
    assert!(app.output().contains(&said), "{}", app.output());
}

/// Starts `binary` with a `METRICS_ADDR` that is not an address: it refuses to start and
/// names the variable and what it was given.
pub fn a_bad_metrics_addr_is_named(binary: &str) {
    let out = std::process::Command::new(binary)
        .env("PORT", "0")
        .env("METRICS_ADDR", "localhost:metrics")
        .env_remove("BEAMS_INSTANCE_ID")
        .env_remove("BEAMS_SECRET_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "it never listened");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("METRICS_ADDR must be an IP address and a port")
            && stderr.contains("\"localhost:metrics\""),
        "{stderr}"
    );
}

/// Starts `binary` with `METRICS_ADDR` set to the port the app itself is given: the app
/// cannot serve both there, so it refuses to start, naming `METRICS_ADDR`.
pub fn metrics_never_share_the_apps_port(binary: &str) {
    let port = free_metrics_port().to_string();
    let out = std::process::Command::new(binary)
        .env("PORT", &port)
        .env("METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("BEAMS_INSTANCE_ID")
        .env_remove("BEAMS_SECRET_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot serve metrics on METRICS_ADDR=127.0.0.1:{port}"
        )),
        "{stderr}"
    );
}
