//! Drives the real `example-actix` binary over HTTP with a cookie jar.

use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY, verify_token};

use beams_tests::browser::{assert_route_headers, browser as client, login};
use beams_tests::process::AppProcess as Server;

/// The binary with the conformance table's instance id and secret, plus `set`, minus `remove`.
fn start_with(set: &[(&str, &str)], remove: &[&str]) -> Server {
    let mut vars = vec![
        ("BEAMS_INSTANCE_ID", INSTANCE_ID),
        ("BEAMS_SECRET_KEY", SECRET_KEY),
    ];
    vars.extend_from_slice(set);
    Server::start(env!("CARGO_BIN_EXE_example-actix"), &vars, remove)
}

fn start() -> Server {
    start_with(&[], &["BEAMS_ENDPOINT"])
}

async fn json(res: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&res.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn login_token_mismatch_logout() {
    let server = start();
    let http = client();
    let auth = |user: &str| server.url(&format!("/pusher/beams-auth?user_id={user}"));

    let res = http.get(auth("alice")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_route_headers(&res);

    let res = login(&http, &server, "alice").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["user_id"], "alice");

    let res = http.get(auth("alice")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_route_headers(&res);
    let body = json(res).await;
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    verify_token(body["token"].as_str().unwrap(), "alice").unwrap();

    let res = http.get(auth("bob")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_route_headers(&res);
    assert_eq!(
        json(res).await["description"],
        "The requested user_id is not the logged-in user."
    );

    let res = http
        .get(server.url("/pusher/beams-auth"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_route_headers(&res);

    let res = http.post(auth("alice")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_route_headers(&res);
    assert_eq!(res.headers()["allow"], "GET");

    let res = http.head(auth("alice")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_route_headers(&res);
    assert!(res.bytes().await.unwrap().is_empty());

    let res = http.post(server.url("/logout")).send().await.unwrap();
    assert!(res.status().is_success());
    let res = http.get(auth("alice")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_route_headers(&res);
    assert_eq!(
        json(res).await["description"],
        "You must be logged in to get a Beams Token."
    );

    assert_eq!(
        server.stop(),
        "",
        "stdout must hold only the `listening on` line"
    );
}

#[tokio::test]
async fn special_user_ids_round_trip() {
    let server = start();
    let http = client();
    for (user, encoded) in [
        ("john+test@example.com", "john+test@example.com"),
        ("john test", "john%20test"),
        ("élodie", "%C3%A9lodie"),
    ] {
        let res = login(&http, &server, user).await;
        assert_eq!(res.status(), 200, "{user}");
        let res = http
            .get(server.url(&format!("/pusher/beams-auth?user_id={encoded}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{user}");
        verify_token(json(res).await["token"].as_str().unwrap(), user).unwrap();
    }
}

#[tokio::test]
async fn bad_logins_are_json_400s_and_keep_the_session() {
    let server = start();
    let http = client();
    let res = login(&http, &server, "alice").await;
    assert_eq!(res.status(), 200);

    let too_long = "a".repeat(165);
    for form in [
        vec![("username", "")],
        vec![("username", too_long.as_str())],
        vec![("name", "x")],
    ] {
        let res = http
            .post(server.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{form:?}");
        assert_eq!(res.headers()["content-type"], "application/json");
        let body = json(res).await;
        assert_eq!(body["error"], "Bad Request");
        assert!(body["description"].is_string());
    }

    let res = http
        .get(server.url("/pusher/beams-auth?user_id=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn home_page_and_session_cookie() {
    let server = start();
    let http = client();
    let res = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.text().await.unwrap().contains("/pusher/beams-auth"));

    let res = login(&http, &server, "alice").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("beams-example-session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

#[tokio::test]
async fn starts_the_embedded_emulator_without_beams_configuration() {
    let server = start_with(
        &[],
        &["BEAMS_INSTANCE_ID", "BEAMS_SECRET_KEY", "BEAMS_ENDPOINT"],
    );
    let http = client();
    let config = json(http.get(server.url("/demo-config")).send().await.unwrap()).await;
    assert_eq!(config["mode"], "emulator");
    let emulator = config["emulatorBaseUrl"].as_str().unwrap().to_owned();
    assert!(emulator.starts_with("http://127.0.0.1:"), "{emulator}");
    assert!(config["user"].is_null());

    // Logged out: /notify is a JSON 401.
    let res = http.post(server.url("/notify")).send().await.unwrap();
    assert_eq!(res.status(), 401);

    // Logged in: the publish reaches the embedded emulator.
    login(&http, &server, "carol").await;
    let res = http
        .post(server.url("/notify"))
        .form(&[("title", "T1"), ("body", "B1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let publish_id = json(res).await["publishId"].as_str().unwrap().to_owned();
    let publishes = json(
        http.get(format!("{emulator}/_emulator/publishes"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let publish = &publishes.as_array().unwrap()[0];
    assert_eq!(publish["publishId"], publish_id.as_str());
    assert_eq!(publish["body"]["users"], serde_json::json!(["carol"]));
    assert_eq!(publish["body"]["web"]["notification"]["title"], "T1");
}

#[tokio::test]
async fn notify_reports_an_unreachable_beams_as_json() {
    // A Beams endpoint nobody listens on: the publish fails fast and is reported, not a 5xx
    // page or a hang.
    let server = start_with(&[("BEAMS_ENDPOINT", "http://127.0.0.1:9")], &[]);
    let http = client();
    login(&http, &server, "dave").await;
    let res = http.post(server.url("/notify")).send().await.unwrap();
    assert_eq!(res.status(), 502);
    let body = json(res).await;
    assert_eq!(body["error"], "Bad Gateway");
    assert!(
        body["description"].as_str().unwrap().contains("Beams"),
        "{body}"
    );
}
