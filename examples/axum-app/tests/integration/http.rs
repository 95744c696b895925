//! The real `example-axum` binary, driven over HTTP.

use std::process::{Command, Stdio};

use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY, verify_token_body};
use reqwest::{Client, StatusCode, header};

use beams_tests::browser::{assert_route_headers, browser, login};
use beams_tests::process::AppProcess as Server;

/// The binary with the conformance table's instance id and secret.
fn start() -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_example-axum"),
        &[
            ("BEAMS_INSTANCE_ID", INSTANCE_ID),
            ("BEAMS_SECRET_KEY", SECRET_KEY),
        ],
        &["BEAMS_ENDPOINT"],
    )
}

async fn token_for(client: &Client, server: &Server, user_query: &str) -> reqwest::Response {
    client
        .get(server.url(&format!("/pusher/beams-auth?user_id={user_query}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_token_mismatch_logout() {
    let server = start();
    let client = browser();

    let page = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("action=\"/login\""));

    // Logged out: 401, no token.
    let res = token_for(&client, &server, "alice").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_route_headers(&res);
    let body = res.text().await.unwrap();
    assert!(!body.contains("token") && !body.contains("eyJ"), "{body}");

    let res = login(&client, &server, "alice").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key(header::SET_COOKIE));
    assert_eq!(res.text().await.unwrap(), r#"{"user_id":"alice"}"#);

    // Logged in: a token for alice that verifies (signature, sub, iss, exp, nothing else).
    let res = token_for(&client, &server, "alice").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_route_headers(&res);
    verify_token_body(&res.text().await.unwrap(), "alice").unwrap();

    // Someone else's id: 401.
    let res = token_for(&client, &server, "bob").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_route_headers(&res);
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"error":"Unauthorized","description":"The requested user_id is not the logged-in user."}"#
    );

    // A bad query: 400 in the same shape.
    let res = client
        .get(server.url("/pusher/beams-auth"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_route_headers(&res);

    let res = client.post(server.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), r#"{"user_id":null}"#);

    let res = token_for(&client, &server, "alice").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_route_headers(&res);
    let body = res.text().await.unwrap();
    assert!(!body.contains("token") && !body.contains("eyJ"), "{body}");

    // Nothing but the one line on stdout.
    assert_eq!(server.stop(), "");
}

#[tokio::test]
async fn ids_with_plus_and_unicode_arrive_intact() {
    let server = start();
    let client = browser();
    login(&client, &server, "john+test@example.com").await;
    // iOS leaves '+' unescaped: it is a literal plus, not a space.
    let res = token_for(&client, &server, "john+test@example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    verify_token_body(&res.text().await.unwrap(), "john+test@example.com").unwrap();

    login(&client, &server, "zoë").await;
    let res = token_for(&client, &server, "zo%C3%AB").await;
    assert_eq!(res.status(), StatusCode::OK);
    verify_token_body(&res.text().await.unwrap(), "zoë").unwrap();
}

#[tokio::test]
async fn login_cycles_the_session_id() {
    let server = start();
    // No cookie store: the cookies are handled by hand to compare them.
    let client = Client::new();
    let session_cookie = |res: &reqwest::Response| {
        let value = res.headers()[header::SET_COOKIE].to_str().unwrap();
        value.split(';').next().unwrap().to_owned()
    };

    let first = login(&client, &server, "alice").await;
    let first_cookie = session_cookie(&first);
    let second = client
        .post(server.url("/login"))
        .header(header::COOKIE, &first_cookie)
        .form(&[("username", "bob")])
        .send()
        .await
        .unwrap();
    let second_cookie = session_cookie(&second);
    assert_ne!(first_cookie, second_cookie);

    let with_cookie = |cookie: &str, user: &str| {
        client
            .get(server.url(&format!("/pusher/beams-auth?user_id={user}")))
            .header(header::COOKIE, cookie)
            .send()
    };
    // The pre-login id is gone.
    assert_eq!(
        with_cookie(&first_cookie, "bob").await.unwrap().status(),
        401
    );
    assert_eq!(
        with_cookie(&first_cookie, "alice").await.unwrap().status(),
        401
    );
    assert_eq!(
        with_cookie(&second_cookie, "bob").await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn login_refuses_invalid_usernames() {
    let server = start();
    let client = browser();
    let too_long = "a".repeat(165);
    for username in ["", too_long.as_str()] {
        let res = login(&client, &server, username).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{username:?}");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "Bad Request");
        assert!(
            body["description"].as_str().unwrap().contains("username"),
            "{body}"
        );
    }
    let missing_field = client
        .post(server.url("/login"))
        .form(&[("name", "alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing_field.status(), StatusCode::BAD_REQUEST);
    let res: serde_json::Value = missing_field.json().await.unwrap();
    assert_eq!(res["error"], "Bad Request");

    // Exactly 164 bytes is fine.
    let longest = "a".repeat(164);
    assert_eq!(
        login(&client, &server, &longest).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn other_methods_on_the_auth_route_are_405() {
    let server = start();
    let res = Client::new()
        .post(server.url("/pusher/beams-auth?user_id=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()[header::ALLOW], "GET");
    assert_route_headers(&res);
}

/// No configuration: the embedded emulator serves, and /notify reaches it.
#[tokio::test]
async fn without_configuration_it_starts_the_embedded_emulator() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_example-axum"),
        &[],
        &["BEAMS_INSTANCE_ID", "BEAMS_SECRET_KEY", "BEAMS_ENDPOINT"],
    );
    let client = browser();
    let config: serde_json::Value = client
        .get(server.url("/demo-config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["mode"], "emulator");
    let emulator = config["emulatorBaseUrl"].as_str().unwrap().to_owned();
    let res = client.post(server.url("/notify")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    login(&client, &server, "erin").await;
    let res = client
        .post(server.url("/notify"))
        .form(&[("title", "Hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let id = res.json::<serde_json::Value>().await.unwrap()["publishId"]
        .as_str()
        .unwrap()
        .to_owned();
    let publishes: serde_json::Value = client
        .get(format!("{emulator}/_emulator/publishes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(publishes[0]["publishId"], id.as_str());
    assert_eq!(publishes[0]["body"]["users"], serde_json::json!(["erin"]));
    assert_eq!(publishes[0]["body"]["web"]["notification"]["title"], "Hi");
}

/// A Beams endpoint nobody listens on: /notify answers a JSON 502 quickly.
#[tokio::test]
async fn notify_reports_an_unreachable_beams_as_json() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_example-axum"),
        &[
            ("BEAMS_INSTANCE_ID", INSTANCE_ID),
            ("BEAMS_SECRET_KEY", SECRET_KEY),
            ("BEAMS_ENDPOINT", "http://127.0.0.1:9"),
        ],
        &[],
    );
    let client = browser();
    login(&client, &server, "frank").await;
    let res = client.post(server.url("/notify")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "Bad Gateway");
}

#[test]
fn a_bad_secret_or_instance_id_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_example-axum"))
        .env("PORT", "0")
        .env("BEAMS_INSTANCE_ID", "not a host name")
        .env("BEAMS_SECRET_KEY", SECRET_KEY)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BEAMS_INSTANCE_ID"), "{stderr}");
}
