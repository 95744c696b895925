//! An example app with `REDIS_URL`: `POST /notify` through the durable outbox (`202
//! {"queued"}`, `Idempotency-Key`, `delay_secs`), `GET /notify/{id}` for its owner only, the
//! worker each process runs and stops on `SIGTERM`, and what is answered while Redis is
//! frozen. Both apps run these against a real `redis-server`.

use std::time::{Duration, Instant};

use beams_emulator::Emulator;
use example_support::{DemoBeams, Settings};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::browser::{browser, login};
use crate::interop::apps::{App, Framework};
use crate::process::AppProcess;
use crate::redis::RedisServer;
use crate::replicas::SESSION_KEY;

/// How long a request may take while Redis is frozen (the outbox's and the session store's
/// Redis timeouts are 1 s and 0.5 s).
const BOUND: Duration = Duration::from_secs(3);

/// How long a queued notification may take to be published by the app's worker.
const PUBLISHED_WITHIN: Duration = Duration::from_secs(10);

/// `binary` in emulator mode (its own embedded emulator) with sessions and the outbox in
/// `redis`, and `extra` settings.
fn app_with_redis(binary: &str, redis: &RedisServer, extra: &[(&str, &str)]) -> AppProcess {
    let url = redis.url();
    let mut set = vec![("REDIS_URL", url.as_str()), ("SESSION_KEY", SESSION_KEY)];
    set.extend_from_slice(extra);
    AppProcess::start(
        binary,
        &set,
        &[
            "BEAMS_INSTANCE_ID",
            "BEAMS_SECRET_KEY",
            "BEAMS_ENDPOINT",
            "BEAMS_EMULATOR_PORT",
            "BEAMS_WEBHOOK_SECRET",
        ],
    )
}

/// A form and an optional `Idempotency-Key`.
type NotifyInput<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

/// `POST /notify` with the form `fields` and an optional `Idempotency-Key`.
async fn notify(
    client: &Client,
    url: &str,
    fields: &[(&str, &str)],
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = client.post(url).form(fields);
    if let Some(key) = key {
        // From bytes: a test sends keys that are not ASCII.
        let value = reqwest::header::HeaderValue::from_bytes(key.as_bytes()).expect("a value");
        request = request.header("Idempotency-Key", value);
    }
    request.send().await.expect("the app answers POST /notify")
}

/// A `202 {"queued":"<id>"}`'s id (32 hex digits), after checking the answer's shape.
async fn queued_id(response: reqwest::Response, what: &str) -> String {
    let status = response.status();
    let cache = response.headers().get("cache-control").cloned();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::ACCEPTED, "{what}: {body}");
    assert_eq!(
        cache.as_ref().map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let id = body["queued"].as_str().expect("a queued id").to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{what}: {body}"
    );
    assert_eq!(
        body.as_object().map(serde_json::Map::len),
        Some(1),
        "{body}"
    );
    id
}

/// `GET /notify/{id}`: the status and the JSON body.
async fn status_of(client: &Client, app: &AppProcess, id: &str) -> (StatusCode, Value) {
    let response = client
        .get(app.url(&format!("/notify/{id}")))
        .send()
        .await
        .expect("the app answers GET /notify/{id}");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

/// Polls `GET /notify/{id}` until the state is no longer `queued`.
async fn wait_until_settled(client: &Client, app: &AppProcess, id: &str) -> Value {
    let deadline = Instant::now() + PUBLISHED_WITHIN;
    loop {
        let (status, body) = status_of(client, app, id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["state"] != "queued" {
            return body;
        }
        assert!(Instant::now() < deadline, "{id} still queued: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The emulator's publishes to `user`, as `(publishId, title)`.
async fn emulator_publishes(client: &Client, emulator: &str, user: &str) -> Vec<(String, String)> {
    let publishes: Value = client
        .get(format!("{emulator}/_emulator/publishes"))
        .send()
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("JSON");
    publishes
        .as_array()
        .expect("a list")
        .iter()
        .filter(|p| p["body"]["users"] == json!([user]))
        .map(|p| {
            (
                p["publishId"].as_str().unwrap_or_default().to_owned(),
                p["body"]["web"]["notification"]["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// The whole `/notify` flow of `binary` with `REDIS_URL`: `202` and an id; the worker
/// publishes it once and its owner sees `published` with Beams' publishId; anyone else (and
/// unknown ids) `404`, nobody logged in `401`; a repeated `Idempotency-Key` answers the same
/// id and publishes once (per user: another user's same key is another notification);
/// `delay_secs` is honoured; bad keys and delays are `400`; and on `SIGTERM` the process
/// (worker included) exits promptly and cleanly.
pub async fn notify_goes_through_the_outbox(binary: &str) {
    let redis = RedisServer::start();
    let app = app_with_redis(binary, &redis, &[("OUTBOX_CLAIM_IDLE_SECS", "5")]);
    let alice = browser();
    let config: Value = alice
        .get(app.url("/demo-config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["outbox"], true, "{config}");
    let emulator = config["emulatorBaseUrl"].as_str().unwrap().to_owned();
    assert_eq!(login(&alice, &app, "alice").await.status(), StatusCode::OK);
    let url = app.url("/notify");

    // Queued, then published once by the app's worker.
    let response = notify(&alice, &url, &[("title", "First")], None).await;
    let id = queued_id(response, "a plain notify").await;
    let status = wait_until_settled(&alice, &app, &id).await;
    assert_eq!(status["state"], "published", "{status}");
    assert_eq!(status["attempts"], 1, "{status}");
    assert!(status.get("error").is_none(), "{status}");
    let publish_id = status["publishId"].as_str().expect("publishId").to_owned();
    let sent = emulator_publishes(&alice, &emulator, "alice").await;
    assert_eq!(sent, [(publish_id.clone(), "First".to_owned())]);

    // Its owner only: another user, an unknown id, nobody logged in.
    let bob = browser();
    login(&bob, &app, "bob").await;
    let (code, body) = status_of(&bob, &app, &id).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "Not Found", "{body}");
    let unknown = "0123456789abcdef0123456789abcdef";
    for missing in [unknown, "not-an-id"] {
        let (code, body) = status_of(&alice, &app, missing).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{missing}: {body}");
    }
    let (code, _) = status_of(&Client::new(), &app, &id).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let anonymous = notify(&Client::new(), &url, &[], None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The same Idempotency-Key: the same id, one publish. Bob's same key is his own.
    let first = notify(&alice, &url, &[("title", "Once")], Some("order-7")).await;
    let first = queued_id(first, "a keyed notify").await;
    let again = notify(&alice, &url, &[("title", "Once")], Some("order-7")).await;
    assert_eq!(queued_id(again, "the repeat").await, first);
    let bobs = notify(&bob, &url, &[("title", "Bob's")], Some("order-7")).await;
    let bobs = queued_id(bobs, "bob's keyed notify").await;
    assert_ne!(bobs, first, "one user's key answered another user's id");
    for (client, id) in [(&alice, &first), (&bob, &bobs)] {
        let status = wait_until_settled(client, &app, id).await;
        assert_eq!(status["state"], "published", "{status}");
    }
    let again = notify(&alice, &url, &[("title", "Once")], Some("order-7")).await;
    assert_eq!(queued_id(again, "the repeat once published").await, first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let titles: Vec<String> = emulator_publishes(&alice, &emulator, "alice")
        .await
        .into_iter()
        .map(|(_, title)| title)
        .collect();
    assert_eq!(titles, ["First", "Once"], "alice's publishes");
    assert_eq!(emulator_publishes(&bob, &emulator, "bob").await.len(), 1);

    // delay_secs: queued with its next attempt a minute away, not sent meanwhile.
    let before = std::time::SystemTime::now();
    let delayed = notify(
        &alice,
        &url,
        &[("title", "Later"), ("delay_secs", "60")],
        None,
    )
    .await;
    let delayed = queued_id(delayed, "a delayed notify").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, status) = status_of(&alice, &app, &delayed).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(status["state"], "queued", "{status}");
    assert_eq!(status["attempts"], 0, "{status}");
    assert!(status.get("publishId").is_none(), "{status}");
    let next = status["nextAttempt"].as_u64().expect("nextAttempt");
    let earliest = before.duration_since(std::time::UNIX_EPOCH).unwrap() + Duration::from_secs(59);
    assert!(u128::from(next) >= earliest.as_millis(), "{status}");
    assert_eq!(
        emulator_publishes(&alice, &emulator, "alice").await.len(),
        2
    );

    // Beams refuses it (a 422): dead after one attempt, with Beams' error as an object.
    let fault = json!({"status": 422, "description": "Bad payload", "pathPrefix": "/publish_api"});
    let queued = alice
        .post(format!("{emulator}/_emulator/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(queued.status().is_success(), "{}", queued.status());
    let refused = notify(&alice, &url, &[("title", "Refused")], None).await;
    let refused = queued_id(refused, "a notify Beams refuses").await;
    let status = wait_until_settled(&alice, &app, &refused).await;
    assert_eq!(status["state"], "dead", "{status}");
    assert_eq!(status["attempts"], 1, "{status}");
    assert_eq!(status["error"]["status"], 422, "{status}");
    assert_eq!(status["error"]["description"], "Bad payload", "{status}");
    assert!(status.get("publishId").is_none(), "{status}");

    // Bad input: 400 JSON, nothing stored.
    let long_key = "k".repeat(129);
    let bad: [NotifyInput<'_>; 6] = [
        (&[("delay_secs", "86401")], None),
        (&[("delay_secs", "-1")], None),
        (&[("delay_secs", "soon")], None),
        (&[("delay_secs", "1.5")], None),
        (&[], Some(long_key.as_str())),
        (&[], Some("caf\u{e9}")),
    ];
    for (fields, key) in bad {
        let response = notify(&alice, &url, fields, key).await;
        let code = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(code, StatusCode::BAD_REQUEST, "{fields:?} {key:?}: {body}");
        assert_eq!(body["error"], "Bad Request", "{body}");
    }
    let ok = notify(&alice, &url, &[("delay_secs", "86400")], Some("a day")).await;
    queued_id(ok, "the longest delay").await;

    // SIGTERM: the server and the worker stop, and the process exits cleanly.
    drop((alice, bob));
    let (exit, output) = app.terminate(Duration::from_secs(15));
    let exit = exit.unwrap_or_else(|| panic!("still running 15 s after SIGTERM: {output}"));
    assert!(exit.success(), "{exit}: {output}");
    assert!(!output.contains("panicked"), "{output}");
}

/// `binary` with its Redis frozen (`SIGSTOP`): `POST /notify` and `GET /notify/{id}` get a
/// `503` with `Retry-After` within [`BOUND`], never a `202` (nothing unstored is ever
/// answered an id), whether the session store or the outbox fails first.
pub async fn a_frozen_redis_is_never_accepted(binary: &str) {
    let redis = RedisServer::start();
    let app = app_with_redis(binary, &redis, &[]);
    let alice = browser();
    login(&alice, &app, "alice").await;
    let url = app.url("/notify");
    let id = queued_id(notify(&alice, &url, &[], None).await, "before").await;

    redis.pause();
    for (what, request) in [
        ("POST /notify", alice.post(&url).form(&[("title", "x")])),
        (
            "POST /notify keyed",
            alice.post(&url).header("Idempotency-Key", "k"),
        ),
        (
            "GET /notify/{id}",
            alice.get(app.url(&format!("/notify/{id}"))),
        ),
    ] {
        let start = Instant::now();
        let response = request.send().await.expect("an answer");
        let took = start.elapsed();
        let code = response.status();
        let retry_after = response.headers().get("retry-after").cloned();
        let body = response.text().await.unwrap_or_default();
        assert!(took < BOUND, "{what} took {took:?}");
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
        assert_eq!(retry_after.as_ref().map(|v| v.to_str().unwrap()), Some("5"));
    }
    redis.resume();
    // Back: the status answers again.
    let (code, body) = status_of(&alice, &app, &id).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let output = app.stop_with_output();
    assert!(!output.contains("panicked"), "{output}");
}

/// `framework`'s app in-process with sessions in memory and the outbox in a real Redis, no
/// worker: with that Redis frozen, `POST /notify` reaches the enqueue and answers `503` with
/// `Retry-After` within [`BOUND`], never `202`; the status route `503` too; once Redis is
/// back, a retry with the same `Idempotency-Key` answers one id. And without the outbox,
/// `/notify` publishes directly and refuses what only the outbox can do.
pub async fn an_unavailable_outbox_answers_503(framework: Framework) {
    let redis = RedisServer::start();
    let emulator = Emulator::builder().start().await.expect("the emulator");
    let beams = DemoBeams::with_emulator(emulator).expect("emulator configuration");
    let outbox =
        example_support::beams::outbox(&redis.url(), beams.instance.id(), &Settings::default())
            .expect("an outbox");
    let app = App::start(framework, beams.clone().with_outbox(outbox)).await;
    let name = framework.name();
    let client = app.login("alice").await.client;
    let url = app.url("/notify");
    let id = queued_id(notify(&client, &url, &[], None).await, name).await;
    let status_url = app.url(&format!("/notify/{id}"));
    let status = client.get(&status_url).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::OK, "{name}");
    let status: Value = status.json().await.unwrap();
    assert_eq!(status["state"], "queued", "{name}: {status}");

    redis.pause();
    for (what, key) in [("plain", None), ("keyed", Some("retry-me"))] {
        let start = Instant::now();
        let response = notify(&client, &url, &[("title", "x")], key).await;
        let took = start.elapsed();
        assert!(took < BOUND, "{name} {what}: {took:?}");
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{name} {what}"
        );
        let retry_after = response.headers().get("retry-after").cloned();
        assert_eq!(
            retry_after.as_ref().map(|v| v.to_str().unwrap()),
            Some("5"),
            "{name} {what}"
        );
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "Service Unavailable", "{name}: {body}");
        assert!(body.get("queued").is_none(), "{name}: {body}");
    }
    let response = client.get(&status_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{name}");
    assert!(response.headers().contains_key("retry-after"), "{name}");
    redis.resume();
    // The keyed enqueue that was answered 503 may have been stored when Redis thawed: a
    // retry with the same key answers one id either way.
    let retried = notify(&client, &url, &[("title", "x")], Some("retry-me")).await;
    let retried = queued_id(retried, name).await;
    let again = notify(&client, &url, &[("title", "x")], Some("retry-me")).await;
    assert_eq!(queued_id(again, name).await, retried, "{name}");
    drop(app);

    // Without the outbox: published directly, as before; a delay or a key is refused.
    let app = App::start(framework, beams).await;
    let client = app.login("alice").await.client;
    let url = app.url("/notify");
    let response = notify(&client, &url, &[], None).await;
    assert_eq!(response.status(), StatusCode::OK, "{name}");
    let body: Value = response.json().await.unwrap();
    assert!(body["publishId"].is_string(), "{name}: {body}");
    for (fields, key) in [(&[("delay_secs", "5")][..], None), (&[][..], Some("k"))] {
        let response = notify(&client, &url, fields, key).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["description"].as_str().unwrap().contains("REDIS_URL"),
            "{name}: {body}"
        );
    }
    let response = client.get(app.url(&format!("/notify/{id}"))).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::NOT_FOUND, "{name}");
}
