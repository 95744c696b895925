//! The publish and customer APIs, routing and delivery, the inspection API, event streams and
//! fault injection, over real HTTP.

use std::time::{Duration, Instant};

use crate::common::*;
use beams_emulator::{Emulator, Fault, Platform, PublishTarget};
use reqwest::{Client, Response};
use serde_json::{Value, json};

/// `POST url` with `key` as the secret key and a JSON body.
async fn post_as(c: &Client, url: &str, key: &str, body: &Value) -> reqwest::Result<Response> {
    c.post(url).bearer_auth(key).json(body).send().await
}

/// Publish `body` on the publish API's `rest`: status and JSON answer.
async fn post_publish(emu: &Emulator, rest: &str, body: &Value) -> (u16, Value) {
    let r = post_as(&client(), &publish_api(emu, rest), SECRET, body)
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Subscribe `device` (of the platform its id starts with) to `interest` over HTTP.
async fn subscribe(emu: &Emulator, device: &str, interest: &str) {
    let platform = device.split('-').next().unwrap();
    let r = client()
        .post(device_api(
            emu,
            &format!("devices/{platform}/{device}/interests/{interest}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Reads `stream` until `done` holds for the text read, within `limit` (else panics with `what`).
async fn read_until(
    stream: &mut Response,
    limit: Duration,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + limit;
    let mut text = String::new();
    while !done(&text) {
        let chunk = tokio::time::timeout_at(deadline.into(), stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"));
        text.push_str(&String::from_utf8_lossy(
            &chunk.unwrap().expect("stream open"),
        ));
    }
    text
}

#[tokio::test]
async fn publishes_route_to_each_matching_device_once() {
    let emu = start().await;
    let c = client();
    // alice: a web and an fcm device, the web one also subscribed to "donuts"; bob: apns.
    let alice_web = register(&emu, "web").await;
    let alice_fcm = register(&emu, "fcm").await;
    let bob_apns = register(&emu, "apns").await;
    let other_web = register(&emu, "web").await;
    for (platform, device, user) in [
        ("web", &alice_web, "alice"),
        ("fcm", &alice_fcm, "alice"),
        ("apns", &bob_apns, "bob"),
    ] {
        let (status, _) = set_user_as(&emu, platform, device, user).await;
        assert_eq!(status, 200);
    }
    for device in [&alice_web, &other_web] {
        subscribe(&emu, device, "donuts").await;
    }

    let body = json!({
        "users": ["alice", "bob", "nobody"],
        "web": {"notification": {"title": "Hi", "body": "there"}, "data": {"orderId": 7}},
        "fcm": {"notification": {"title": "Hi"}},
        "apns": {"aps": {"alert": {"title": "Hi"}}},
    });
    let (status, response) = post_publish(&emu, "publishes/users", &body).await;
    assert_eq!(status, 200);
    let publish_id = response["publishId"].as_str().unwrap().to_owned();
    assert!(publish_id.starts_with("pubid-") && publish_id.len() == 6 + 36);

    // Web payload: what the service worker expects.
    let web = emu.state().deliveries(&alice_web);
    assert_eq!(web.len(), 1);
    assert_eq!(
        web[0].payload,
        json!({
            "notification": {"title": "Hi", "body": "there"},
            "data": {
                "pusher": {"instanceId": INSTANCE, "publishId": publish_id, "hasDisplayableContent": true, "hasData": true},
                "orderId": 7
            }
        })
    );
    assert_eq!(web[0].user_id.as_deref(), Some("alice"));
    // fcm: data.pusher is a JSON string; apns: an object.
    let fcm = emu.state().deliveries(&alice_fcm);
    let pusher: Value =
        serde_json::from_str(fcm[0].payload["data"]["pusher"].as_str().unwrap()).unwrap();
    assert_eq!(pusher["publishId"], publish_id.as_str());
    assert_eq!(fcm[0].payload["notification"]["title"], "Hi");
    let apns = emu.state().deliveries(&bob_apns);
    assert_eq!(apns[0].payload["aps"]["alert"]["title"], "Hi");
    assert_eq!(
        apns[0].payload["data"]["pusher"]["publishId"],
        publish_id.as_str()
    );
    assert!(emu.state().deliveries(&other_web).is_empty());

    // Interests (and the old `/publishes` path): a device with the interest gets it once, even if
    // targeted through two interests; a device of a platform without payload gets nothing.
    subscribe(&emu, &alice_fcm, "donuts").await;
    let body = json!({"interests": ["donuts", "donuts", "cake"], "web": {"notification": {"title": "Donuts"}}});
    let (status, response) = post_publish(&emu, "publishes", &body).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(emu.state().deliveries(&alice_web).len(), 2);
    assert_eq!(emu.state().deliveries(&other_web).len(), 1);
    assert_eq!(emu.state().deliveries(&alice_fcm).len(), 1);
    let (status, _) = post_publish(&emu, "publishes/interests", &body).await;
    assert_eq!(status, 200);

    // The inspection API shows the same.
    let publishes = fetch_json(c.get(inspect(&emu, "publishes"))).await;
    assert_eq!(publishes.as_array().unwrap().len(), 3);
    assert_eq!(publishes[0]["publishId"], publish_id.as_str());
    assert_eq!(publishes[0]["users"], json!(["alice", "bob", "nobody"]));
    assert_eq!(
        publishes[1]["interests"],
        json!(["donuts", "donuts", "cake"])
    );
    assert_eq!(
        publishes[1]["path"],
        format!("/publish_api/v1/instances/{INSTANCE}/publishes")
    );
    assert_eq!(
        publishes[0]["headers"]["authorization"],
        "Bearer [redacted]"
    );
    assert_eq!(publishes[0]["body"]["web"]["data"]["orderId"], 7);
    let deliveries =
        fetch_json(c.get(inspect(&emu, &format!("devices/{alice_web}/deliveries")))).await;
    assert_eq!(deliveries.as_array().unwrap().len(), 3);
    assert_eq!(deliveries[0]["publishId"], publish_id.as_str());
    assert_eq!(
        deliveries[0]["payload"]["data"]["pusher"]["publishId"],
        publish_id.as_str()
    );
    let user_deliveries = fetch_json(c.get(inspect(&emu, "users/alice/deliveries"))).await;
    assert_eq!(user_deliveries.as_array().unwrap().len(), 4);

    let typed = emu.state().publishes();
    assert_eq!(
        typed[0].target,
        PublishTarget::Users(vec!["alice".into(), "bob".into(), "nobody".into()])
    );
    assert_eq!(typed[0].delivered_to.len(), 3);
    assert_eq!(typed[0].header("x-pusher-library"), None);
    assert_eq!(emu.state().user_deliveries("bob").len(), 1);
}

#[tokio::test]
async fn publish_validation_matches_beams() {
    let emu = start().await;
    let web = json!({"notification": {"title": "x"}});
    let cases = vec![
        (
            "publishes/interests",
            json!({"web": web}),
            "`(root)`: interests is required",
        ),
        (
            "publishes/interests",
            json!({"interests": "donuts", "web": web}),
            "`interests`: Invalid type. Expected: array, given: string",
        ),
        (
            "publishes/interests",
            json!({"interests": [], "web": web}),
            "`interests`: Array must have at least 1 items",
        ),
        (
            "publishes/interests",
            json!({"interests": (0..101).map(|i| format!("i{i}")).collect::<Vec<_>>(), "web": web}),
            "`interests`: Array must have at most 100 items",
        ),
        (
            "publishes/interests",
            json!({"interests": ["ok", "not ok"], "web": web}),
            r"`interests.1`: Does not match pattern '^[a-zA-Z0-9_\-=@,.;]+$'",
        ),
        (
            "publishes/interests",
            json!({"interests": ["a".repeat(165)], "web": web}),
            "`interests.0`: String length must be less than or equal to 164",
        ),
        (
            "publishes/interests",
            json!({"interests": [""], "web": web}),
            "`interests.0`: String length must be greater than or equal to 1",
        ),
        (
            "publishes/interests",
            json!({"interests": [1], "web": web}),
            "`interests.0`: Invalid type. Expected: string, given: integer",
        ),
        (
            "publishes/users",
            json!({"users": ["a", "b", "a"], "web": web}),
            "`users`: array items must be unique",
        ),
        (
            "publishes/users",
            json!({"users": [], "web": web}),
            "`users`: Array must have at least 1 items",
        ),
        (
            "publishes/users",
            json!({"users": (0..1001).map(|i| format!("u{i}")).collect::<Vec<_>>(), "web": web}),
            "`users`: Array must have at most 1000 items",
        ),
        (
            "publishes/users",
            json!({"users": ["é".repeat(83)], "web": web}),
            "`users.0`: String length must be less than or equal to 164",
        ),
        (
            "publishes/users",
            json!({"users": ["a"]}),
            "`(root)`: a publish must contain at least one of `apns`, `fcm` or `web`",
        ),
        (
            "publishes/users",
            json!({"users": ["a"], "web": "hi"}),
            "`web`: Invalid type. Expected: object, given: string",
        ),
        (
            "publishes/users",
            json!({"users": ["a"], "web": {"data": {"pusher": 1}}}),
            "`web.data`: must not contain the key `pusher`, which is reserved for Beams",
        ),
    ];
    for (path, body, description) in cases {
        let (status, response) = post_publish(&emu, path, &body).await;
        assert_eq!(status, 422, "{description}: {response}");
        assert_error(&response, "Unprocessable Entity", description);
    }
    // Limits that are fine: 100 interests, 1000 users, 164-byte ids.
    let fine = [
        (
            "100 interests",
            "publishes/interests",
            json!({"interests": (0..100).map(|i| format!("i{i}")).collect::<Vec<_>>(), "web": web}),
        ),
        (
            "1000 users",
            "publishes/users",
            json!({"users": (0..1000).map(|i| format!("u{i}")).collect::<Vec<_>>(), "fcm": {}}),
        ),
        (
            "a 164-byte user id",
            "publishes/users",
            json!({"users": ["é".repeat(82)], "apns": {}}),
        ),
    ];
    for (name, path, body) in fine {
        let (status, response) = post_publish(&emu, path, &body).await;
        assert_eq!(status, 200, "{name}: {response}");
    }
    assert!(emu.state().publishes().len() == 3);
}

#[tokio::test]
async fn publish_auth_content_type_size_and_json_errors() {
    let emu = start().await;
    let c = client();
    let url = publish_api(&emu, "publishes/interests");
    let body = json!({"interests": ["a"], "web": {}});

    let r = post_as(&c, &url, "WRONG", &body).await.unwrap();
    let error = expect_error(r, 401, "Unauthorized").await;
    assert_eq!(error["description"], "Incorrect Secret Key");
    let r = c
        .post(&url)
        .header("authorization", SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c.post(&url).json(&body).send().await.unwrap();
    expect_error(r, 400, "Bad Request").await;

    let other = format!(
        "{}/publish_api/v1/instances/nope/publishes/interests",
        emu.base_url()
    );
    let r = post_as(&c, &other, SECRET, &body).await.unwrap();
    expect_error(r, 404, "Not Found").await;

    let json = "application/json";
    let r = post_raw(&c, &url, Some(SECRET), "text/plain", body.to_string()).await;
    expect_error(r, 400, "Bad Request").await;
    let r = post_raw(&c, &url, Some(SECRET), json, "{\"interests\":").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["description"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let r = post_raw(&c, &url, Some(SECRET), json, "[]").await;
    assert_eq!(r.status(), 400);
    let charset = "application/json; charset=utf-8";
    let r = post_raw(&c, &url, Some(SECRET), charset, body.to_string()).await;
    assert_eq!(r.status(), 200);

    // 10 KiB for interests, 200 KiB for users.
    let padded = |n: usize, key: &str| json!({key: ["a"], "web": {"data": {"pad": "x".repeat(n)}}});
    let r = post_as(&c, &url, SECRET, &padded(10 * 1024, "interests"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["description"]
            .as_str()
            .unwrap()
            .contains("too large")
    );
    let users = publish_api(&emu, "publishes/users");
    let r = post_as(&c, &users, SECRET, &padded(10 * 1024, "users"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post_as(&c, &users, SECRET, &padded(200 * 1024, "users"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Wrong method, unknown route.
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(r.headers()["content-type"], "application/json");
    expect_error(r, 405, "Method Not Allowed").await;
    for path in [
        "/",
        "/nope",
        "/publish_api/v1/instances/x/other",
        "/_emulator/nope",
    ] {
        let r = c
            .get(format!("{}{path}", emu.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "Not Found",
            "{path}"
        );
    }
}

#[tokio::test]
async fn delete_user_on_both_paths_removes_the_users_devices() {
    let emu = start().await;
    let c = client();
    let a = emu.state().register_device(Platform::Web);
    let b = emu.state().register_device(Platform::Apns);
    let keep = emu.state().register_device(Platform::Web);
    emu.state().set_device_user(&a.id, "a b/c").unwrap();
    emu.state().set_device_user(&b.id, "a b/c").unwrap();
    emu.state().set_device_user(&keep.id, "someone").unwrap();

    let url = |api: &str, user: &str| {
        format!(
            "{}/{api}/v1/instances/{INSTANCE}/users/{user}",
            emu.base_url()
        )
    };
    let delete =
        |api: &str, user: &str, key: &str| c.delete(url(api, user)).bearer_auth(key).send();
    let r = delete("customer_api", "a%20b%2Fc", "WRONG").await.unwrap();
    let error = expect_error(r, 401, "Unauthorized").await;
    assert_eq!(error["description"], "Incorrect Secret Key");
    let r = delete("customer_api", "a%20b%2Fc", SECRET).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(emu.state().user_devices("a b/c").is_empty());
    assert!(emu.state().device(&a.id).is_none());
    assert!(emu.state().device(&keep.id).is_some());
    // Unknown users are fine too, on the old path.
    let r = delete("user_api", "ghost", SECRET).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = delete("user_api", &"x".repeat(165), SECRET).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(url("user_api", "ghost"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn sse_stream_receives_a_delivery() {
    let emu = builder()
        .sse_keep_alive(Duration::from_millis(100))
        .inspection_origin("http://page.test")
        .start()
        .await
        .unwrap();
    let device = emu.state().register_device(Platform::Web);
    emu.state().set_device_user(&device.id, "alice").unwrap();
    let stream_url = inspect(&emu, &format!("devices/{}/stream", device.id));

    let mut stream = client()
        .get(&stream_url)
        .header("origin", "http://page.test")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert_eq!(
        stream.headers()["access-control-allow-origin"],
        "http://page.test"
    );

    let (status, response) = post_publish(
        &emu,
        "publishes/users",
        &json!({"users": ["alice"], "web": {"notification": {"title": "Live"}}}),
    )
    .await;
    assert_eq!(status, 200);
    let publish_id = response["publishId"].as_str().unwrap().to_owned();

    let text = read_until(&mut stream, Duration::from_secs(5), "delivery event", |t| {
        t.contains("\n\n") && t.contains("event: delivery")
    })
    .await;
    let event = text
        .split("\n\n")
        .find(|e| e.contains("event: delivery"))
        .unwrap();
    let data = event
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let delivery: Value = serde_json::from_str(data).unwrap();
    assert_eq!(delivery["publishId"], publish_id.as_str());
    assert_eq!(delivery["deviceId"], device.id.as_str());
    assert_eq!(delivery["payload"]["notification"]["title"], "Live");
    let id = event.lines().find_map(|l| l.strip_prefix("id: ")).unwrap();
    assert_eq!(id, emu.state().deliveries(&device.id)[0].id.to_string());

    // Keep-alives flow while idle.
    read_until(&mut stream, Duration::from_secs(2), "keep-alive", |t| {
        t.contains(':')
    })
    .await;

    // Reconnecting with Last-Event-ID replays what was missed.
    post_publish(
        &emu,
        "publishes/users",
        &json!({"users": ["alice"], "web": {"notification": {"title": "Missed"}}}),
    )
    .await;
    let mut again = client()
        .get(&stream_url)
        .header("last-event-id", id)
        .send()
        .await
        .unwrap();
    let text = read_until(&mut again, Duration::from_secs(5), "replay", |t| {
        t.contains("Missed")
    })
    .await;
    assert!(!text.contains("Live"));

    // Shutdown ends the streams.
    emu.shutdown().await;
    let end = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(Some(_)) = again.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "stream ends at shutdown");
}

#[tokio::test]
async fn fault_injection_status_latency_and_drop() {
    let emu = start().await;
    let c = client();
    let url = publish_api(&emu, "publishes/interests");
    let body = json!({"interests": ["a"], "web": {}});
    let publish = || post_as(&c, &url, SECRET, &body);

    // Over HTTP: two 429s with Retry-After, only for the publish API.
    let r = c
        .post(inspect(&emu, "faults"))
        .json(&json!({"count": 2, "status": 429, "retryAfter": "2", "pathPrefix": "/publish_api"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let vapid = c
        .get(device_api(&emu, "web-vapid-public-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(vapid.status(), 200, "other paths are untouched");
    for _ in 0..2 {
        let r = publish().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_error(&r.json().await.unwrap(), "Too Many Requests", "max 100 RPS");
    }
    assert_eq!(publish().await.unwrap().status(), 200);
    assert_eq!(
        emu.state().publishes().len(),
        1,
        "faulted requests are not processed"
    );

    // A 500 through the handle; then cleared over HTTP.
    emu.state().inject_fault(Fault::status(503).times(5));
    expect_error(publish().await.unwrap(), 503, "Service Unavailable").await;
    assert_eq!(emu.state().pending_faults()[0].count, 4);
    let r = c.delete(inspect(&emu, "faults")).send().await.unwrap();
    assert!(r.status().is_success());
    assert!(emu.state().pending_faults().is_empty());

    // Latency, then normal processing.
    emu.state()
        .inject_fault(Fault::latency(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(publish().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Drop: the client sees a connection error, not a response; the next request works (on a new
    // connection of the same client).
    emu.state()
        .inject_fault(Fault::drop_connection().path_prefix("/publish_api"));
    let err = publish().await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(publish().await.unwrap().status(), 200);
    assert_eq!(emu.state().publishes().len(), 3);

    // Bad fault bodies are 400s.
    for bad in [
        json!({"status": 99}),
        json!({"count": 0, "status": 500}),
        json!({"bogus": true}),
        json!({}),
    ] {
        let r = c
            .post(inspect(&emu, "faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn rate_limit_and_reset() {
    let emu = builder().rate_limit(Some(5)).start().await.unwrap();
    let c = client();
    let url = publish_api(&emu, "publishes/interests");
    let body = json!({"interests": ["a"], "web": {}});
    let publish = || post_as(&c, &url, SECRET, &body);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(publish().await.unwrap().status().as_u16());
    }
    // Unless the one-second window rolled over in between, the 6th and 7th are limited.
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 1, "{statuses:?}");
    emu.state().set_rate_limit(None);
    assert_eq!(publish().await.unwrap().status(), 200);
    emu.state().set_rate_limit(Some(1));
    let _ = publish().await.unwrap();
    let r = publish().await.unwrap();
    if r.status() == 429 {
        assert_error(&r.json().await.unwrap(), "Too Many Requests", "max 1 RPS");
    }

    emu.state().register_device(Platform::Web);
    let r = c.post(inspect(&emu, "reset")).send().await.unwrap();
    assert!(r.status().is_success());
    assert!(emu.state().publishes().is_empty());
    assert!(emu.state().devices().is_empty());
}

#[tokio::test]
async fn embedding_the_router_and_debug_output() {
    let state = Emulator::builder()
        .secret_key("SUPERSECRET")
        .build_state()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/host", axum::routing::get(|| async { "host app" }))
        .merge(beams_emulator::router(state.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let r = client()
        .get(format!(
            "http://{addr}/device_api/v1/instances/{}/web-vapid-public-key",
            state.instance_id()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .get(format!("http://{addr}/host"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "host app");
    assert!(!format!("{state:?}").contains("SUPERSECRET"));

    let emu = Emulator::builder()
        .secret_key("SUPERSECRET")
        .start()
        .await
        .unwrap();
    assert!(!format!("{emu:?}").contains("SUPERSECRET"));
    let port = emu.port();
    drop(emu);
    // Dropped: the port stops answering.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        client()
            .get(format!("http://127.0.0.1:{port}/_emulator/info"))
            .send()
            .await
            .is_err()
    );
}

/// What an iOS device gets (Beams docs, iOS "Publish notifications" guide): only `aps` and
/// `data` are pushed, custom keys beside them are not; Beams adds `"content-available": 1` to
/// `aps` for its delivery tracking unless `apns.pusher.disable_delivery_tracking` is true.
/// `collapse_id`, `expiration` and `priority` become APNs headers (the Node server SDK's
/// `ApnsPayload` type), so they are not in the device payload either.
#[tokio::test]
async fn apns_devices_receive_only_aps_and_data() {
    let emu = start().await;
    let device = register(&emu, "apns").await;
    let (status, _) = set_user_as(&emu, "apns", &device, "bob").await;
    assert_eq!(status, 200);

    let apns = json!({
        "aps": {"alert": {"title": "Hi"}, "badge": 2},
        "data": {"order": 42},
        "screen": "orders",
        "collapse_id": "order-42",
        "expiration": 4_102_444_800_u64,
        "priority": 10,
    });
    let (status, response) = post_publish(
        &emu,
        "publishes/users",
        &json!({"users": ["bob"], "apns": apns}),
    )
    .await;
    assert_eq!(status, 200);
    let publish_id = response["publishId"].as_str().unwrap().to_owned();
    let delivered = emu.state().deliveries(&device);
    assert_eq!(
        delivered[0].payload,
        json!({
            "aps": {"alert": {"title": "Hi"}, "badge": 2, "content-available": 1},
            "data": {
                "order": 42,
                "pusher": {"instanceId": INSTANCE, "publishId": publish_id, "hasDisplayableContent": true, "hasData": true}
            }
        })
    );

    // Tracking off: aps exactly as published.
    let mut untracked = apns.clone();
    untracked["pusher"] = json!({"disable_delivery_tracking": true});
    let (status, _) = post_publish(
        &emu,
        "publishes/users",
        &json!({"users": ["bob"], "apns": untracked}),
    )
    .await;
    assert_eq!(status, 200);
    let delivered = emu.state().deliveries(&device);
    assert_eq!(
        delivered[1].payload["aps"],
        json!({"alert": {"title": "Hi"}, "badge": 2})
    );
    assert_eq!(
        delivered[1].payload.as_object().unwrap().len(),
        2,
        "{}",
        delivered[1].payload
    );
}
