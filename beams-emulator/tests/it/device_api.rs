//! The device API over real HTTP: registration, Beams Token verification on set-user, interests,
//! deletion and CORS.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn set_user_accepts_a_valid_token_and_records_the_user() {
    let emu = start().await;
    let device = register(&emu, "web").await;
    assert!(device.starts_with("web-"));

    let (status, _) = set_user_as(&emu, "web", &device, "alice").await;
    assert_eq!(status, 200);
    // The same user again is fine.
    let (status, _) = set_user_as(&emu, "web", &device, "alice").await;
    assert_eq!(status, 200);

    let got = fetch_json(client().get(device_api(&emu, &format!("devices/web/{device}")))).await;
    assert_eq!(got["id"], device.as_str());
    assert_eq!(got["userId"], "alice");
    assert_eq!(got["metadata"], json!({"sdkVersion": "test"}));
    assert_eq!(
        emu.state().device(&device).unwrap().user_id.as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn set_user_rejections_are_beams_shaped() {
    let emu = start().await;
    let device = register(&emu, "web").await;
    let iss = issuer();
    let now = now();
    let signed = |claims: Value, key: &str| Some(format!("Bearer {}", sign(&claims, key)));

    let cases: Vec<(&str, Option<String>, u16, &str, &str)> = vec![
        (
            "missing header",
            None,
            401,
            "Unauthorized",
            "`Authorization` header token is missing",
        ),
        (
            "empty bearer",
            Some("Bearer ".into()),
            401,
            "Unauthorized",
            "`Authorization` header token is missing",
        ),
        (
            "wrong scheme",
            Some(format!("Basic {}", token("a"))),
            401,
            "Unauthorized",
            "`Authorization` header token is malformed",
        ),
        (
            "not a jwt",
            Some("Bearer not-a-jwt".into()),
            401,
            "Unauthorized",
            "`Authorization` header token is malformed",
        ),
        (
            "bad signature",
            signed(json!({"sub": "a", "iss": iss, "exp": now + 60}), "WRONG"),
            401,
            "Unauthorized",
            "Invalid JWT: signature is invalid",
        ),
        (
            "hex-decoded secret is not the key",
            signed(
                json!({"sub": "a", "iss": iss, "exp": now + 60}),
                &SECRET.to_lowercase(),
            ),
            401,
            "Unauthorized",
            "Invalid JWT: signature is invalid",
        ),
        (
            "expired",
            signed(json!({"sub": "a", "iss": iss, "exp": now - 3700}), SECRET),
            401,
            "Unauthorized",
            "", // checked by prefix below
        ),
        (
            "iat in the future",
            signed(
                json!({"sub": "a", "iss": iss, "exp": now + 60, "iat": now + 30}),
                SECRET,
            ),
            401,
            "Unauthorized",
            "Invalid JWT claims: Token used before issued",
        ),
        (
            "missing exp",
            signed(json!({"sub": "a", "iss": iss}), SECRET),
            400,
            "Bad Request",
            "Missing expiration (exp) field in JWT",
        ),
        (
            "missing sub",
            signed(json!({"iss": iss, "exp": now + 60}), SECRET),
            400,
            "Bad Request",
            "Missing subject (sub) field in JWT",
        ),
        (
            "missing iss",
            signed(json!({"sub": "a", "exp": now + 60}), SECRET),
            400,
            "Bad Request",
            "Missing issuer (iss) field in JWT",
        ),
        (
            "empty sub",
            signed(json!({"sub": "", "iss": iss, "exp": now + 60}), SECRET),
            400,
            "Bad Request",
            "JWT subject (sub) must be between 1-164 characters long",
        ),
        (
            "sub of 165 bytes",
            signed(
                json!({"sub": "é".repeat(82) + "x", "iss": iss, "exp": now + 60}),
                SECRET,
            ),
            400,
            "Bad Request",
            "JWT subject (sub) must be between 1-164 characters long",
        ),
        (
            "issuer without https (the Swift SDK's bug)",
            signed(
                json!({"sub": "a", "iss": format!("{INSTANCE}.pushnotifications.pusher.com"), "exp": now + 60}),
                SECRET,
            ),
            403,
            "Forbidden",
            "Invalid JWT issuer",
        ),
        (
            "issuer of another instance",
            signed(
                json!({"sub": "a", "iss": "https://other.pushnotifications.pusher.com", "exp": now + 60}),
                SECRET,
            ),
            403,
            "Forbidden",
            "Invalid JWT issuer",
        ),
    ];
    for (name, header, status, error, description) in cases {
        let (got_status, body) = set_user(&emu, "web", &device, header.as_deref()).await;
        assert_eq!(got_status, status, "{name}: {body}");
        assert_eq!(body["error"], error, "{name}: {body}");
        if name == "expired" {
            let d = body["description"].as_str().unwrap();
            assert!(
                d == "Invalid JWT claims: token is expired by 1h1m40s"
                    || d == "Invalid JWT claims: token is expired by 1h1m41s",
                "{name}: {d}"
            );
        } else {
            assert_eq!(body["description"], description, "{name}: {body}");
        }
    }
    // Nothing got associated.
    assert_eq!(emu.state().device(&device).unwrap().user_id, None);

    // A 164-byte multi-byte subject is fine.
    let sub = "é".repeat(82);
    let (status, body) = set_user_as(&emu, "web", &device, &sub).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn set_user_refuses_a_second_user_and_a_101st_device() {
    let emu = start().await;
    let device = register(&emu, "fcm").await;
    assert!(device.starts_with("fcm-"));
    let (status, _) = set_user_as(&emu, "fcm", &device, "alice").await;
    assert_eq!(status, 200);
    let (status, body) = set_user_as(&emu, "fcm", &device, "bob").await;
    assert_eq!(status, 400);
    assert_error(
        &body,
        "Bad Request",
        "A User Id is already associated with this device.",
    );

    // Unknown device → 404 JSON; wrong platform for the id → 404 too.
    let (status, body) = set_user_as(&emu, "fcm", "fcm-nope", "bob").await;
    assert_eq!(status, 404);
    assert_error(&body, "Not Found", "Device not found");
    let (status, _) = set_user_as(&emu, "web", &device, "alice").await;
    assert_eq!(status, 404);

    // 100 devices per user (and platform) through the typed API, the 101st over HTTP.
    for _ in 0..99 {
        let d = emu.state().register_device(beams_emulator::Platform::Fcm);
        emu.state().set_device_user(&d.id, "alice").unwrap();
    }
    let extra = register(&emu, "fcm").await;
    let (status, body) = set_user_as(&emu, "fcm", &extra, "alice").await;
    assert_eq!(status, 422);
    assert_error(
        &body,
        "Unprocessable Entity",
        "User already has reached the maximum of 100 devices",
    );
    // Another platform still has room.
    let web = register(&emu, "web").await;
    let (status, _) = set_user_as(&emu, "web", &web, "alice").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn set_user_works_with_or_without_a_content_type() {
    let emu = start().await;
    let device = register(&emu, "apns").await;
    let response = client()
        .put(device_api(&emu, &format!("devices/apns/{device}/user")))
        .header("authorization", format!("Bearer {}", token("carol")))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn registration_shapes_interests_metadata_and_delete() {
    let emu = start().await;
    let c = client();

    let vapid = fetch_json(c.get(device_api(&emu, "web-vapid-public-key"))).await;
    assert_eq!(vapid["vapidPublicKey"].as_str().unwrap().len(), 87);

    let body = json!({"token": "t", "knownPreviousClientIds": [], "metadata": {"sdkVersion": "1", "androidVersion": "14"}});
    let fcm = fetch_json(c.post(device_api(&emu, "devices/fcm")).json(&body)).await;
    let id = fcm["id"].as_str().unwrap().to_owned();
    assert_eq!(fcm["initialInterestSet"], json!([]));
    let web = fetch_json(
        c.post(device_api(&emu, "devices/web"))
            .json(&json!({"token": "t", "metadata": {"sdkVersion": "2.1.0"}})),
    )
    .await;
    assert!(web.get("initialInterestSet").is_none());

    // Interests: add, replace, remove, list with paging.
    let interests = |rest: &str| device_api(&emu, &format!("devices/fcm/{id}/interests{rest}"));
    assert_eq!(
        c.post(interests("/donuts")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        c.post(interests("/a%40b.c")).send().await.unwrap().status(),
        200
    );
    let bad = c.post(interests("/no%20spaces")).send().await.unwrap();
    expect_error(bad, 400, "Bad Request").await;
    let listed = fetch_json(c.get(interests(""))).await;
    assert_eq!(
        listed,
        json!({"interests": ["a@b.c", "donuts"], "responseMetadata": {}})
    );

    let many: Vec<String> = (0..150).map(|i| format!("i{i:03}")).collect();
    let response = c
        .put(interests(""))
        .json(&json!({"interests": many}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = fetch_json(c.get(interests("?limit=100"))).await;
    assert_eq!(page["interests"].as_array().unwrap().len(), 100);
    let cursor = page["responseMetadata"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let page2 = fetch_json(c.get(interests(&format!("?limit=100&cursor={cursor}")))).await;
    assert_eq!(page2["interests"].as_array().unwrap().len(), 50);
    assert_eq!(page2["responseMetadata"], json!({}));
    assert_eq!(
        c.delete(interests("/i000")).send().await.unwrap().status(),
        200
    );
    assert_eq!(emu.state().device(&id).unwrap().interests.len(), 149);
    let too_many: Vec<String> = (0..5001).map(|i| format!("i{i}")).collect();
    let response = c
        .put(interests(""))
        .json(&json!({"interests": too_many}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Re-registration with a known previous id starts a new device with the previous
    // device's interests; the previous device stays as it was.
    let again = fetch_json(
        c.post(device_api(&emu, "devices/fcm"))
            .json(&json!({"token": "t2", "knownPreviousClientIds": [id]})),
    )
    .await;
    assert_ne!(again["id"], id.as_str());
    assert_eq!(again["initialInterestSet"].as_array().unwrap().len(), 149);
    assert_eq!(emu.state().device(&id).unwrap().token.as_deref(), Some("t"));

    // Metadata and token.
    let response = c
        .put(device_api(&emu, &format!("devices/fcm/{id}/metadata")))
        .json(&json!({"sdkVersion": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = c
        .put(device_api(&emu, &format!("devices/fcm/{id}/token")))
        .json(&json!({"token": "new-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let device = emu.state().device(&id).unwrap();
    assert_eq!(device.metadata, json!({"sdkVersion": "9"}));
    assert_eq!(device.token.as_deref(), Some("new-token"));

    // Delete: 2xx, and again 2xx although it is gone; then GET is a 404 JSON.
    let url = device_api(&emu, &format!("devices/fcm/{id}"));
    assert_eq!(c.delete(&url).send().await.unwrap().status(), 200);
    assert_eq!(c.delete(&url).send().await.unwrap().status(), 200);
    let gone = expect_error(c.get(&url).send().await.unwrap(), 404, "Not Found").await;
    assert_eq!(gone["description"], "Device not found");
}

#[tokio::test]
async fn device_api_rejects_bad_bodies_and_unknown_instances() {
    let emu = start().await;
    let c = client();
    let url = device_api(&emu, "devices/web");
    let json = "application/json";

    let r = post_raw(&c, &url, None, "text/plain", "{}").await;
    expect_error(r, 400, "Bad Request").await;
    assert_eq!(post_raw(&c, &url, None, json, "{nope").await.status(), 400);
    assert_eq!(post_raw(&c, &url, None, json, "[1]").await.status(), 400);
    let r = c
        .post(&url)
        .json(&json!({"metadata": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post_raw(&c, &url, None, json, vec![b' '; 2 * 1024 * 1024]).await;
    expect_error(r, 413, "Payload Too Large").await;

    let r = c
        .post(format!(
            "{}/device_api/v1/instances/someone-else/devices/web",
            emu.base_url()
        ))
        .json(&json!({"token": "t"}))
        .send()
        .await
        .unwrap();
    expect_error(r, 404, "Not Found").await;

    let r = c
        .post(device_api(&emu, "devices/windows"))
        .json(&json!({"token": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .patch(device_api(&emu, "devices/web"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    expect_error(r, 405, "Method Not Allowed").await;
}

#[tokio::test]
async fn cors_preflight_and_headers_for_browser_callers() {
    let emu = start().await;
    let c = client();
    let device = register(&emu, "web").await;
    let r = c
        .request(
            reqwest::Method::OPTIONS,
            device_api(&emu, &format!("devices/web/{device}/user")),
        )
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["access-control-allow-headers"], "authorization");
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PUT")
    );

    let r = c
        .get(device_api(&emu, "web-vapid-public-key"))
        .header("origin", "http://example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");

    let r = c
        .post(format!("{}/reporting_api/v2/instances/{INSTANCE}/events", emu.base_url()))
        .header("origin", "http://example.test")
        .json(&json!({"publishId": "pubid-x", "event": "delivery", "deviceId": device, "userId": null,
                       "timestampSecs": 1, "appInBackground": true, "hasDisplayableContent": true, "hasData": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(emu.state().reported_events()[0].body["event"], "delivery");
}

#[tokio::test]
async fn the_inspection_api_issues_tokens_the_device_api_accepts() {
    use base64::Engine as _;
    // Off unless asked for: anyone who can reach the emulator could attach devices to any
    // user otherwise.
    let off = start().await;
    let response = client()
        .get(inspect(&off, "users/alice/token"))
        .send()
        .await
        .unwrap();
    expect_error(response, 403, "Forbidden").await;

    let emu = builder().issue_tokens(true).start().await.unwrap();
    let response = client()
        .get(inspect(&emu, "users/alice%40example.com/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The claims a Beams app's auth route puts in a token, for the percent-decoded user.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "alice@example.com");
    assert_eq!(claims["iss"], issuer());
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        (now() + 86_300..=now() + 86_400).contains(&exp),
        "exp {exp}"
    );

    let device = register(&emu, "web").await;
    let (status, _) = set_user(&emu, "web", &device, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        emu.state().device(&device).unwrap().user_id.as_deref(),
        Some("alice@example.com")
    );

    // Beams' user id rule: 1 to 164 bytes.
    let long = "u".repeat(165);
    let response = client()
        .get(inspect(&emu, &format!("users/{long}/token")))
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "Bad Request").await;
}
