//! What hostile callers tried against the emulator, kept fixed: slow and idle connections, an
//! unauthenticated caller growing its memory, cross-origin use of the inspection API, using up
//! the rate limit without the secret, taking a device over with `knownPreviousClientIds`, holding
//! every connection with delivery streams.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use beams_emulator::{Emulator, Limits, Platform};
use beams_test_support::hardening::{closed_within, slow_body_answer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_connections_are_closed_while_others_are_served() {
    let emu = start().await;
    let addr = emu.local_addr();
    // 200 sockets that send nothing, and one that sends a header line every second.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /_emulator/info HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
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
        closed_within(stream, Duration::from_secs(1))
    });
    // Meanwhile the emulator answers.
    let info = client()
        .get(format!("{}/_emulator/info", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    let closed = tokio::task::spawn_blocking(move || {
        idle.into_iter()
            .map(|s| closed_within(s, Duration::from_secs(20)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let open = closed.iter().filter(|c| c.is_none()).count();
    assert_eq!(open, 0, "{open} idle connections still open after 20 s");
    let slowest = closed.iter().flatten().max().unwrap();
    assert!(*slowest < Duration::from_secs(20), "{slowest:?}");
    let slow = tokio::task::spawn_blocking(move || slow.join().unwrap())
        .await
        .unwrap();
    assert!(
        slow.is_some_and(|d| d < Duration::from_secs(15)),
        "a header line every second kept the connection open: {slow:?}"
    );
    // And it still answers.
    let info = client()
        .get(format!("{}/_emulator/info", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
}

#[tokio::test]
async fn the_rate_limit_counts_only_authenticated_requests() {
    let emu = builder().rate_limit(Some(2)).start().await.unwrap();
    let c = client();
    let url = publish_api(&emu, "publishes/users");
    let body = json!({"users": ["alice"], "web": {"notification": {"title": "t"}}});
    for _ in 0..20 {
        let r = c
            .post(&url)
            .bearer_auth("wrong-secret")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = c
        .post(&url)
        .bearer_auth(SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "callers without the secret used up the budget"
    );
}

#[tokio::test]
async fn known_previous_ids_do_not_take_a_device_over() {
    let emu = start().await;
    let c = client();
    let state = emu.state();
    for platform in ["fcm", "web", "apns"] {
        let victim = state.register_device(platform.parse::<Platform>().unwrap());
        state.set_device_user(&victim.id, "victim").unwrap();
        state.add_device_interest(&victim.id, "private-topic");
        let attacker = fetch_json(
            c.post(device_api(&emu, &format!("devices/{platform}")))
                .json(&json!({"token": "attacker-token", "knownPreviousClientIds": [victim.id]})),
        )
        .await;
        let attacker_id = attacker["id"].as_str().unwrap();
        assert_ne!(attacker_id, victim.id, "{platform}");
        let still = state.device(&victim.id).unwrap();
        assert_eq!(
            still.token, victim.token,
            "{platform}: the victim's token was replaced"
        );
        assert_eq!(still.user_id.as_deref(), Some("victim"), "{platform}");
        let new = state.device(attacker_id).unwrap();
        assert_eq!(new.user_id, None, "{platform}: the user was carried over");
        // A publish to the victim reaches the victim's device only.
        let r = c
            .post(publish_api(&emu, "publishes/users"))
            .bearer_auth(SECRET)
            .json(&json!({"users": ["victim"], platform: {"aps": {"alert": "x"}, "notification": {"title": "x"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(state.deliveries(attacker_id).is_empty(), "{platform}");
        // Web devices never inherit interests; the Android SDK's re-registration does.
        let inherited = attacker["initialInterestSet"].as_array().map(Vec::len);
        match platform {
            "web" => assert_eq!(inherited, None),
            _ => assert_eq!(inherited, Some(1)),
        }
    }
}

#[tokio::test]
async fn the_inspection_api_refuses_other_origins() {
    let emu = builder()
        .inspection_origin("http://127.0.0.1:3000")
        .start()
        .await
        .unwrap();
    let c = client();
    let inspect = |path: &str| format!("{}/_emulator/{path}", emu.base_url());

    // No browser origin (curl, tests): served, without CORS headers.
    let r = c.get(inspect("publishes")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // The allowed origin: its own origin echoed, never `*`.
    let r = c
        .get(inspect("publishes"))
        .header("origin", "http://127.0.0.1:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_eq!(r.headers()["vary"], "Origin");

    // Any other page: 403 before anything happens, reads and writes alike.
    for (method, path, body) in [
        ("GET", "publishes", ""),
        ("GET", "devices", ""),
        ("POST", "faults", r#"{"status":500,"count":5}"#),
        ("POST", "reset", ""),
        ("OPTIONS", "faults", ""),
    ] {
        let r = c
            .request(method.parse().unwrap(), inspect(path))
            .header("origin", "https://evil.example")
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
    let r = c
        .post(inspect("reset"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        emu.state().pending_faults().is_empty(),
        "a cross-site POST queued a fault"
    );

    // DNS rebinding: a page on another name that resolves to the emulator is same-origin to
    // the browser, but the emulator's own origin counts only under an address or localhost.
    let port = emu.port();
    let rebound = format!("rebind.attacker.example:{port}");
    for (host, origin, fetch_site, status) in [
        (
            rebound.as_str(),
            Some(format!("http://{rebound}")),
            None,
            403,
        ),
        (rebound.as_str(), None, Some("same-origin"), 403),
        (
            &format!("127.0.0.1:{port}"),
            Some(format!("http://127.0.0.1:{port}")),
            None,
            200,
        ),
        (&format!("localhost:{port}"), None, Some("same-origin"), 200),
        (&format!("[::1]:{port}"), None, Some("same-origin"), 200),
        // No browser at all: served whatever the name (a container's service name, say).
        (rebound.as_str(), None, None, 200),
    ] {
        let mut request = c.get(inspect("devices")).header("host", host);
        if let Some(origin) = &origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        let r = request.send().await.unwrap();
        assert_eq!(
            r.status(),
            status,
            "Host {host}, Origin {origin:?}, {fetch_site:?}"
        );
    }
    // A name the operator allows is served (the Host header names it, whatever the port).
    let named = builder()
        .inspection_origin("http://emulator.test:4000")
        .start()
        .await
        .unwrap();
    for (origin, status) in [(None, 200), (Some("http://emulator.test:4000"), 200)] {
        let mut request = c
            .get(format!("{}/_emulator/devices", named.base_url()))
            .header("host", "emulator.test:4000")
            .header("sec-fetch-site", "same-origin");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        assert_eq!(request.send().await.unwrap().status(), status, "{origin:?}");
    }

    // The device API stays open to every origin, as Beams' is.
    let r = c
        .get(device_api(&emu, "web-vapid-public-key"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn unauthenticated_callers_cannot_grow_it_without_bound() {
    let mut limits = Limits::default();
    limits.max_devices = 20;
    limits.max_subscriptions = 30;
    limits.max_event_bytes = 64 * 1024;
    let emu: Emulator = builder().limits(limits).start().await.unwrap();
    let c = client();

    // A 1 MiB registration, a 5 KiB token, a 2 KiB metadata object: refused.
    let big = "x".repeat(1 << 20);
    let r = c
        .post(device_api(&emu, "devices/web"))
        .json(&json!({"token": big}))
        .send()
        .await
        .unwrap();
    expect_error(r, 413, "Payload Too Large").await;
    let r = c
        .post(device_api(&emu, "devices/web"))
        .json(&json!({"token": "x".repeat(5000)}))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "Bad Request").await;
    let r = c
        .post(device_api(&emu, "devices/web"))
        .json(&json!({"token": "t", "metadata": {"k": "x".repeat(2000)}}))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "Bad Request").await;

    // Devices: up to the limit, then 422.
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = fetch_json(
            c.post(device_api(&emu, "devices/fcm"))
                .json(&json!({"token": format!("t{i}")})),
        )
        .await;
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let r = c
        .post(device_api(&emu, "devices/fcm"))
        .json(&json!({"token": "one-too-many"}))
        .send()
        .await
        .unwrap();
    let refused = expect_error(r, 422, "Unprocessable Entity").await;
    let description = refused["description"].as_str().unwrap();
    assert!(description.contains("20 devices"), "{description}");
    assert_eq!(emu.state().devices().len(), 20);

    // Subscriptions over all devices: up to the limit, then 422.
    for (n, id) in ids.iter().enumerate().take(15) {
        for interest in ["a", "b"] {
            let r = c
                .post(device_api(
                    &emu,
                    &format!("devices/fcm/{id}/interests/{interest}"),
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "device {n}");
        }
    }
    let r = c
        .post(device_api(
            &emu,
            &format!("devices/fcm/{}/interests/c", ids[19]),
        ))
        .send()
        .await
        .unwrap();
    expect_error(r, 422, "Unprocessable Entity").await;
    // Deleting a device frees its subscriptions.
    let r = c
        .delete(device_api(&emu, &format!("devices/fcm/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(device_api(
            &emu,
            &format!("devices/fcm/{}/interests/c", ids[19]),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Reporting events: a 5 KiB event is refused; the stored ones stay within their bytes.
    let events = format!(
        "{}/reporting_api/v2/instances/{INSTANCE}/events",
        emu.base_url()
    );
    let event = |pad: usize| {
        json!({"publishId": "pubid-x", "event": "delivery", "deviceId": "web-x",
               "timestampSecs": 1, "pad": "p".repeat(pad)})
    };
    let r = c.post(&events).json(&event(5000)).send().await.unwrap();
    expect_error(r, 413, "Payload Too Large").await;
    for _ in 0..100 {
        let r = c.post(&events).json(&event(3000)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let kept = emu.state().reported_events();
    let kept_bytes: usize = kept.iter().map(|e| e.body.to_string().len()).sum();
    assert!(kept.len() < 100, "every event was kept");
    assert!(kept_bytes <= 64 * 1024, "{kept_bytes} bytes of events kept");
}

/// The history budget counts what a record takes in memory: a publish to 1 000 short user
/// ids is ~15 KB of JSON but holds each id twice (body and target list), with a `Value` and a
/// `String` header around each.
#[tokio::test]
async fn publish_history_is_bounded_by_memory_not_wire_size() {
    const BUDGET: usize = 1 << 20;
    let mut limits = Limits::default();
    limits.max_publish_bytes = BUDGET;
    let emu: Emulator = builder().limits(limits).start().await.unwrap();
    let users: Vec<String> = (0..1000).map(|i| format!("user-{i:06}")).collect();
    let body = json!({"users": users, "web": {"notification": {"title": "t"}}});
    let wire = body.to_string().len();
    let publishes = 100;
    for _ in 0..publishes {
        let r = client()
            .post(publish_api(&emu, "publishes/users"))
            .bearer_auth(SECRET)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let kept = emu.state().publishes().len();
    // At least 2 × 1 000 × (11 bytes + a 24-byte String) per publish in memory.
    let least_in_memory = 2 * 1000 * (11 + 24);
    assert!(kept >= 1, "the newest publish is kept");
    assert!(
        kept <= BUDGET / least_in_memory,
        "{kept} publishes kept: counted by wire size ({wire} bytes each, {} fit)",
        BUDGET / wire
    );
}

#[tokio::test]
async fn the_reporting_api_checks_its_body_as_beams_does() {
    let emu = start().await;
    let c = client();
    let url = format!(
        "{}/reporting_api/v2/instances/{INSTANCE}/events",
        emu.base_url()
    );
    let full = json!({"publishId": "pubid-1", "event": "open", "deviceId": "web-1",
                      "userId": "alice", "timestampSecs": 1_700_000_000});
    let r = c
        .post(&url)
        .header("content-type", "text/plain")
        .body(full.to_string())
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "Bad Request").await;
    for field in ["event", "publishId", "deviceId", "timestampSecs"] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        let r = c.post(&url).json(&body).send().await.unwrap();
        let body = expect_error(r, 400, "Bad Request").await;
        let description = body["description"].as_str().unwrap();
        assert!(description.contains(field), "{description}");
    }
    let mut bad_event = full.clone();
    bad_event["event"] = json!("clicked");
    let r = c.post(&url).json(&bad_event).send().await.unwrap();
    expect_error(r, 400, "Bad Request").await;
    let r = c.post(&url).json(&full).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(emu.state().reported_events().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_streams_are_capped() {
    let mut limits = Limits::default();
    limits.max_streams = 2;
    let emu = builder()
        .limits(limits)
        .sse_keep_alive(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let c = client();
    let device = emu.state().register_device(Platform::Web);
    let url = format!("{}/_emulator/devices/{}/stream", emu.base_url(), device.id);
    // No stream, and nothing kept, for an id no device can have.
    let long = format!(
        "{}/_emulator/devices/{}/stream",
        emu.base_url(),
        "x".repeat(60_000)
    );
    assert_eq!(c.get(&long).send().await.unwrap().status(), 400);

    let first = c.get(&url).send().await.unwrap();
    let second = c.get(&url).send().await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    // No stream, and nothing kept, for an id no device can have.
    let long = format!(
        "{}/_emulator/devices/{}/stream",
        emu.base_url(),
        "x".repeat(60_000)
    );
    assert_eq!(c.get(&long).send().await.unwrap().status(), 400);
    let third = c.get(&url).send().await.unwrap();
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()["retry-after"], "5");
    // The other APIs are still served.
    let r = c
        .get(format!("{}/_emulator/info", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A closed stream gives its place back (once the next keep-alive finds it gone).
    drop(first);
    let start = Instant::now();
    loop {
        let r = c.get(&url).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 503);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the closed stream's place was not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_bodies_are_cut_off() {
    let emu = start().await;
    let addr = emu.local_addr().to_string();
    let head = format!(
        "POST /device_api/v1/instances/{}/devices/web HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        emu.state().instance_id()
    );
    let answer = tokio::task::spawn_blocking(move || {
        slow_body_answer(&addr, &head, Duration::from_secs(20))
    })
    .await
    .unwrap();
    // The emulator gives a body 10 s.
    assert!(
        matches!(answer, Some((408, took)) if took < Duration::from_secs(20)),
        "a body sent a byte every half second: {answer:?}"
    );
}
