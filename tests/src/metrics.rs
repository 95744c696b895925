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

    let at_least_one = |name: &str, labels: &[(&str, &str)]| {
        let value = sample(&text, name, labels);
        assert!(
            value.is_some_and(|v| v >= 1.0),
            "{name}{labels:?} is {value:?} in:\n{text}"
        );
    };
    at_least_one("beams_auth_requests_total", &[("outcome", "issued")]);
    at_least_one("beams_auth_requests_total", &[("outcome", "unauthorized")]);
    at_least_one(
        "beams_publish_requests_total",
        &[("operation", "publish_to_users"), ("outcome", "ok")],
    );
    at_least_one("beams_webhook_requests_total", &accepted);
    at_least_one(
        "beams_webhook_events_total",
        &[("event", "publish_to_users_attempt")],
    );
    // Durations are histograms: buckets, a sum and a count (here two decisions at least).
    assert!(
        text.contains("# TYPE beams_auth_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        sample(&text, "beams_auth_duration_seconds_count", &[]).is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "beams_auth_duration_seconds_bucket",
            &[("le", "+Inf")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "beams_auth_duration_seconds_sum", &[]).is_some(),
        "{text}"
    );
    at_least_one(
        "beams_publish_duration_seconds_count",
        &[("operation", "publish_to_users")],
    );
    // Bounded labels: the user id is in no name, label or value.
    assert!(!text.contains(DISTINCTIVE_USER), "{text}");
    assert!(!text.contains("zz-distinctive"), "{text}");

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
