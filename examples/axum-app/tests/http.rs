//! The real `example-axum` binary, driven over HTTP.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use beams_core::test_util::{INSTANCE_ID, SECRET_KEY, verify_token_body};
use reqwest::{Client, StatusCode, header};

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The running binary; killed when dropped.
struct Server {
    child: Child,
    base: String,
    /// The rest of stdout after the first line, delivered at EOF.
    rest: mpsc::Receiver<String>,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_example-axum"))
            .env("PORT", "0")
            .env("BEAMS_INSTANCE_ID", INSTANCE_ID)
            .env("BEAMS_SECRET_KEY", SECRET_KEY)
            .env_remove("BEAMS_ENDPOINT")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn example-axum");
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = mpsc::channel();
        let (rest_tx, rest) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_tx.send(line);
            let mut others = String::new();
            let _ = reader.read_to_string(&mut others);
            let _ = rest_tx.send(others);
        });
        let line = first_rx
            .recv_timeout(START_TIMEOUT)
            .expect("no line on stdout");
        let base = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let port: u16 = base["http://127.0.0.1:".len()..].parse().unwrap();
        assert_ne!(port, 0, "the line must show the real port");
        Self { child, base, rest }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and returns what it printed on stdout after the first line.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.rest.recv_timeout(Duration::from_secs(10)).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser() -> Client {
    Client::builder().cookie_store(true).build().unwrap()
}

async fn token_for(client: &Client, server: &Server, user_query: &str) -> reqwest::Response {
    client
        .get(server.url(&format!("/pusher/beams-auth?user_id={user_query}")))
        .send()
        .await
        .unwrap()
}

fn assert_route_headers(res: &reqwest::Response) {
    let headers = res.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

async fn login(client: &Client, server: &Server, username: &str) -> reqwest::Response {
    client
        .post(server.url("/login"))
        .form(&[("username", username)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_token_mismatch_logout() {
    let server = Server::start();
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
    let server = Server::start();
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
    let server = Server::start();
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
    let server = Server::start();
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
    let server = Server::start();
    let res = Client::new()
        .post(server.url("/pusher/beams-auth?user_id=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()[header::ALLOW], "GET");
    assert_route_headers(&res);
}

/// Until the embedded emulator exists, no configuration means no start, with a clear message.
#[test]
fn without_configuration_it_says_what_to_set() {
    let out = Command::new(env!("CARGO_BIN_EXE_example-axum"))
        .env("PORT", "0")
        .env_remove("BEAMS_INSTANCE_ID")
        .env_remove("BEAMS_SECRET_KEY")
        .env_remove("BEAMS_ENDPOINT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("BEAMS_INSTANCE_ID") && stderr.contains("BEAMS_SECRET_KEY"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
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
