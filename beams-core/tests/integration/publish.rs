//! `BeamsClient` against a scripted HTTP/1.1 server on loopback.
#![cfg(feature = "publish")]

use std::time::{Duration, Instant};

use beams_core::Instance;
use beams_core::publish::{
    ApnsPayload, Aps, BeamsClient, FanOut, FcmPayload, NetworkErrorKind, Notification,
    PublishError, Publisher, RetryPolicy, ValidationError, WebNotification, WebPayload,
};
use serde_json::json;
use server::{Recorded, Reply, TestServer};

const ID: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0-TEST-SECRET";

mod server {
    //! A minimal HTTP/1.1 server: one request per connection, answers from a script, records
    //! every request as received.

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    /// What to do with the next request.
    #[derive(Debug, Clone)]
    pub(crate) enum Reply {
        /// Answer after `delay`.
        Answer {
            status: u16,
            headers: Vec<(String, String)>,
            body: String,
            delay: Duration,
        },
        /// Read the request, then close the socket without answering.
        Close,
    }

    impl Reply {
        pub(crate) fn status(status: u16, body: &str) -> Self {
            let mut headers = Vec::new();
            if body.starts_with('{') {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Self::Answer {
                status,
                headers,
                body: body.into(),
                delay: Duration::ZERO,
            }
        }

        pub(crate) fn ok(publish_id: &str) -> Self {
            Self::status(200, &format!(r#"{{"publishId":"{publish_id}"}}"#))
        }

        pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
            if let Self::Answer { headers, .. } = &mut self {
                headers.push((name.into(), value.into()));
            }
            self
        }

        pub(crate) fn delay(mut self, by: Duration) -> Self {
            if let Self::Answer { delay, .. } = &mut self {
                *delay = by;
            }
            self
        }
    }

    /// One request as it arrived.
    #[derive(Debug, Clone)]
    pub(crate) struct Recorded {
        pub(crate) method: String,
        pub(crate) path: String,
        /// Names lowercased, in arrival order.
        pub(crate) headers: Vec<(String, String)>,
        pub(crate) body: Vec<u8>,
        pub(crate) raw: Vec<u8>,
    }

    impl Recorded {
        pub(crate) fn header(&self, name: &str) -> Option<&str> {
            let mut found = self.headers.iter().filter(|(n, _)| n == name);
            let first = found.next().map(|(_, v)| v.as_str());
            assert!(found.next().is_none(), "header {name} sent twice");
            first
        }

        pub(crate) fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).expect("request body is JSON")
        }
    }

    #[derive(Default)]
    struct Shared {
        script: Mutex<VecDeque<Reply>>,
        requests: Mutex<Vec<Recorded>>,
    }

    pub(crate) struct TestServer {
        pub(crate) base_url: String,
        shared: Arc<Shared>,
        task: JoinHandle<()>,
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl TestServer {
        /// Starts a server answering from `script`, then `200 {"publishId":"pubid-N"}`.
        pub(crate) async fn start(script: Vec<Reply>) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base_url = format!("http://{}", listener.local_addr().unwrap());
            let shared = Arc::new(Shared {
                script: Mutex::new(script.into()),
                requests: Mutex::default(),
            });
            let task = tokio::spawn({
                let shared = shared.clone();
                async move {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            return;
                        };
                        tokio::spawn(serve(stream, shared.clone()));
                    }
                }
            });
            Self {
                base_url,
                shared,
                task,
            }
        }

        pub(crate) fn requests(&self) -> Vec<Recorded> {
            self.shared.requests.lock().unwrap().clone()
        }
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(end) = find(&raw, b"\r\n\r\n") {
                break end + 4;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let method = request_line.next().unwrap().to_owned();
        let path = request_line.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        while raw.len() < head_end + length {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        let body = raw[head_end..head_end + length].to_vec();
        let count = {
            let mut requests = shared.requests.lock().unwrap();
            requests.push(Recorded {
                method,
                path,
                headers,
                body,
                raw,
            });
            requests.len()
        };
        let reply = shared.script.lock().unwrap().pop_front();
        let reply = reply.unwrap_or_else(|| Reply::ok(&format!("pubid-{count}")));
        match reply {
            Reply::Close => drop(stream),
            Reply::Answer {
                status,
                headers,
                body,
                delay,
            } => {
                tokio::time::sleep(delay).await;
                let mut out = format!(
                    "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let _ = stream.write_all(out.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        }
    }
}

fn config(endpoint: &str) -> Instance {
    Instance::builder(ID, SECRET)
        .endpoint(endpoint)
        .build()
        .unwrap()
}

/// Fast retries: 3 attempts, 10 ms base delay, 2 s max delay.
fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_secs(2))
}

/// A client of `server` with [`fast_policy`] and 2 s per attempt.
fn client(server: &TestServer) -> BeamsClient {
    BeamsClient::builder(&config(&server.base_url))
        .retry_policy(fast_policy())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn web() -> Notification {
    Notification::new()
        .web(WebPayload::new().notification(WebNotification::new("Hello", "Hello, world!")))
}

/// Checks that an error names no secret, then hands it back.
fn no_secret(error: PublishError) -> PublishError {
    assert!(!error.to_string().contains(SECRET), "{error}");
    assert!(!format!("{error:?}").contains(SECRET), "{error:?}");
    assert!(!format!("{error:?}").contains("TEST-SECRET"), "{error:?}");
    error
}

fn expect_err<T: std::fmt::Debug>(result: Result<T, PublishError>) -> PublishError {
    no_secret(result.expect_err("expected an error"))
}

/// The validation error of a request refused locally (naming no secret).
fn validation<T: std::fmt::Debug>(result: Result<T, PublishError>) -> ValidationError {
    match expect_err(result) {
        PublishError::Validation(v) => v,
        other => panic!("{other:?}"),
    }
}

/// Starts a server answering from `script`, publishes `web()` to alice and expects an error.
async fn failed_publish(script: Vec<Reply>) -> (TestServer, PublishError) {
    let server = TestServer::start(script).await;
    let err = expect_err(client(&server).publish_to_users(&["alice"], &web()).await);
    (server, err)
}

/// `r` is a `method` request to `path` with the client's headers and `content_type`.
fn assert_request(r: &Recorded, method: &str, path: &str, content_type: Option<&str>) {
    assert_eq!(r.method, method);
    assert_eq!(r.path, path);
    assert_eq!(
        r.header("authorization"),
        Some(&*format!("Bearer {SECRET}"))
    );
    assert_eq!(r.header("content-type"), content_type);
    assert_eq!(r.header("accept"), Some("application/json"));
    assert!(
        r.header("x-pusher-library")
            .unwrap()
            .starts_with("beams-rs ")
    );
}

#[tokio::test]
async fn publish_to_interests_sends_the_exact_request() {
    let server = TestServer::start(vec![Reply::ok("pubid-abc")]).await;
    let notification = Notification::new()
        .web(
            WebPayload::new()
                .time_to_live(3600)
                .notification(
                    WebNotification::new("Hello", "Hello, world!")
                        .icon("https://example.com/i.png")
                        .deep_link("https://example.com/x")
                        .hide_notification_if_site_has_focus(true),
                )
                .data(json!({"k": "v"})),
        )
        .fcm(FcmPayload::new().data(json!({"a": "1"})))
        .apns(ApnsPayload::new(Aps::new().alert("Hi").badge(2)))
        .webhook_url("https://example.com/hook");
    let before = notification.clone();

    let published = client(&server)
        .publish_to_interests(&["donuts", "a-b_c=d@e,f.g;h"], &notification)
        .await
        .unwrap();
    assert_eq!(published.publish_id(), "pubid-abc");
    assert_eq!(notification, before);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_request(
        r,
        "POST",
        &format!("/publish_api/v1/instances/{ID}/publishes/interests"),
        Some("application/json"),
    );
    assert_eq!(
        r.header("x-pusher-library"),
        Some(&*format!("beams-rs {}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(r.header("content-length"), Some(&*r.body.len().to_string()));
    assert!(r.raw.starts_with(b"POST /publish_api/v1/instances/"));
    assert_eq!(
        r.json(),
        json!({
            "interests": ["donuts", "a-b_c=d@e,f.g;h"],
            "web": {
                "time_to_live": 3600,
                "notification": {
                    "title": "Hello",
                    "body": "Hello, world!",
                    "icon": "https://example.com/i.png",
                    "deep_link": "https://example.com/x",
                    "hide_notification_if_site_has_focus": true
                },
                "data": {"k": "v"}
            },
            "fcm": {"data": {"a": "1"}},
            "apns": {"aps": {"alert": "Hi", "badge": 2}},
            "webhookUrl": "https://example.com/hook"
        })
    );
}

#[tokio::test]
async fn publish_to_users_sends_the_exact_request() {
    let server = TestServer::start(vec![Reply::status(
        202,
        r#"{"publishId":"pubid-users","extra":true}"#,
    )])
    .await;
    let notification = web();
    let published = client(&server)
        .publish_to_users(&["alice", "john+test@example.com", "é"], &notification)
        .await
        .unwrap();
    assert_eq!(published.publish_id(), "pubid-users");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_request(
        &requests[0],
        "POST",
        &format!("/publish_api/v1/instances/{ID}/publishes/users"),
        Some("application/json"),
    );
    assert_eq!(
        requests[0].json(),
        json!({
            "users": ["alice", "john+test@example.com", "é"],
            "web": {"notification": {"title": "Hello", "body": "Hello, world!"}}
        })
    );
}

#[tokio::test]
async fn delete_user_sends_the_exact_request() {
    let server = TestServer::start(vec![Reply::status(200, ""), Reply::status(204, "")]).await;
    let client = client(&server);
    client
        .delete_user("john doe/x+test@example.com")
        .await
        .unwrap();
    client.delete_user("é").await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_request(
        &requests[0],
        "DELETE",
        &format!("/customer_api/v1/instances/{ID}/users/john%20doe%2Fx%2Btest%40example.com"),
        None,
    );
    assert!(requests[0].body.is_empty());
    assert_eq!(
        requests[1].path,
        format!("/customer_api/v1/instances/{ID}/users/%C3%A9")
    );
}

#[tokio::test]
async fn rate_limited_publish_waits_for_retry_after() {
    let server = TestServer::start(vec![
        Reply::status(
            429,
            r#"{"error":"Too Many Requests","description":"max 100 RPS"}"#,
        )
        .header("Retry-After", "1"),
        Reply::ok("pubid-after-wait"),
    ])
    .await;
    let start = Instant::now();
    let published = client(&server)
        .publish_to_users(&["alice"], &web())
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(published.publish_id(), "pubid-after-wait");
    assert_eq!(server.requests().len(), 2);
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // Both attempts carried the same body.
    let requests = server.requests();
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn rate_limited_gives_up_when_retry_after_is_too_long_or_attempts_run_out() {
    // Retry-After beyond max_delay (2 s here): no retry, the wait is reported.
    let server = TestServer::start(vec![Reply::status(429, "").header("Retry-After", "120")]).await;
    let err = expect_err(client(&server).publish_to_interests(&["a"], &web()).await);
    assert_eq!(server.requests().len(), 1);
    match err {
        PublishError::RateLimited {
            retry_after,
            ref error,
        } => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
            assert_eq!(error.status().as_u16(), 429);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("retry after 120s"), "{err}");

    // An HTTP date in the past means "now"; attempts run out after 3.
    let past = "Wed, 21 Oct 2015 07:28:00 GMT";
    let reply = || Reply::status(429, "").header("Retry-After", past);
    let server = TestServer::start(vec![reply(), reply(), reply()]).await;
    let err = expect_err(client(&server).publish_to_interests(&["a"], &web()).await);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(err.retry_after(), Some(Duration::ZERO));

    // No Retry-After: backoff, then success.
    let server = TestServer::start(vec![Reply::status(429, "")]).await;
    client(&server)
        .publish_to_interests(&["a"], &web())
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_error_on_publish_is_not_retried() {
    let (server, err) = failed_publish(vec![Reply::status(
        500,
        r#"{"error":"Internal Server Error","description":"boom"}"#,
    )])
    .await;
    assert_eq!(server.requests().len(), 1);
    let PublishError::Server(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status().as_u16(), 500);
    assert_eq!(api.error(), Some("Internal Server Error"));
    assert_eq!(api.description(), Some("boom"));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
}

#[tokio::test]
async fn server_error_on_delete_is_retried() {
    let server = TestServer::start(vec![
        Reply::status(500, ""),
        Reply::status(503, "<html>unavailable</html>"),
        Reply::status(200, ""),
    ])
    .await;
    client(&server).delete_user("alice").await.unwrap();
    assert_eq!(server.requests().len(), 3);

    let server = TestServer::start(vec![Reply::status(502, ""); 3]).await;
    let err = expect_err(client(&server).delete_user("alice").await);
    assert!(matches!(err, PublishError::Server(_)), "{err:?}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn error_statuses_map_to_typed_errors() {
    type Check = fn(&PublishError) -> bool;
    let cases: Vec<(u16, &str, Check)> = vec![
        (
            401,
            r#"{"error":"Unauthorized","description":"Incorrect Secret Key"}"#,
            |e| matches!(e, PublishError::Unauthorized(a) if a.description() == Some("Incorrect Secret Key")),
        ),
        (403, "", |e| matches!(e, PublishError::Unauthorized(_))),
        (
            404,
            r#"{"error":"Not Found","description":"Instance not found"}"#,
            |e| matches!(e, PublishError::NotFound(a) if a.error() == Some("Not Found")),
        ),
        (
            400,
            r#"{"error":"Bad Request","description":"Request body too large"}"#,
            |e| matches!(e, PublishError::Rejected(a) if a.status().as_u16() == 400),
        ),
        (
            422,
            r#"{"error":"Unprocessable Entity","description":"`users`: array items must be unique"}"#,
            |e| matches!(e, PublishError::Rejected(a) if a.description() == Some("`users`: array items must be unique")),
        ),
        (
            402,
            r#"{"error":"Payment Required","description":"over plan"}"#,
            // Beams' publish API reference lists 402 for an instance over its plan's limits.
            |e| matches!(e, PublishError::OverPlanLimits(a) if a.description() == Some("over plan")),
        ),
        // Empty and HTML bodies are tolerated.
        (
            500,
            "",
            |e| matches!(e, PublishError::Server(a) if a.error().is_none() && a.body_snippet().is_none()),
        ),
        (
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            |e| matches!(e, PublishError::Server(a) if a.body_snippet() == Some("<html><body><h1>502 Bad Gateway</h1></body></html>")),
        ),
        (
            422,
            "not json at all",
            |e| matches!(e, PublishError::Rejected(a) if a.body_snippet() == Some("not json at all")),
        ),
    ];
    for (status, body, check) in cases {
        let (server, err) = failed_publish(vec![Reply::status(status, body)]).await;
        assert!(check(&err), "{status}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert!(err.to_string().contains(&status.to_string()), "{err}");
        assert_eq!(server.requests().len(), 1, "{status}");
    }

    // A long HTML page is cut to a short excerpt.
    let page = format!("<html>{}</html>", "x".repeat(5000));
    let (_server, err) = failed_publish(vec![Reply::status(503, &page)]).await;
    let snippet = err.api_error().unwrap().body_snippet().unwrap();
    assert!(
        snippet.len() < 300 && snippet.starts_with("<html>"),
        "{snippet}"
    );
    assert!(err.to_string().len() < 500);
}

/// A 307 from the endpoint is a typed error: the user ids and the notification are never
/// re-posted to the host the redirect names.
#[tokio::test]
async fn redirects_are_errors_and_never_followed() {
    let elsewhere = TestServer::start(vec![]).await;
    for status in [301, 302, 303, 307, 308] {
        let location = format!(
            "{}/publish_api/v1/instances/{ID}/publishes/users",
            elsewhere.base_url
        );
        let (server, err) = failed_publish(vec![
            Reply::status(status, "").header("Location", &location),
        ])
        .await;
        assert!(
            matches!(err, PublishError::Redirected(_)),
            "{status}: {err:?}"
        );
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(server.requests().len(), 1, "{status}: not retried");
        assert!(
            elsewhere.requests().is_empty(),
            "{status}: the redirect was followed"
        );
    }
}

#[tokio::test]
async fn undecodable_success_is_a_decode_error() {
    for body in ["", "<html>ok</html>", r#"{"id":"x"}"#] {
        let (server, err) = failed_publish(vec![Reply::status(200, body)]).await;
        match &err {
            PublishError::Decode {
                status, snippet, ..
            } => {
                assert_eq!(status.as_u16(), 200);
                assert_eq!(snippet, body);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn timeout_on_publish_is_not_retried_but_on_delete_it_is() {
    let slow = || Reply::ok("late").delay(Duration::from_secs(3));
    let server = TestServer::start(vec![slow(), slow(), slow(), slow()]).await;
    let client = BeamsClient::builder(&config(&server.base_url))
        .retry_policy(fast_policy())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = expect_err(client.publish_to_users(&["alice"], &web()).await);
    assert!(
        matches!(err, PublishError::Timeout { timeout } if timeout == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(server.requests().len(), 1);

    let err = expect_err(client.delete_user("alice").await);
    assert!(matches!(err, PublishError::Timeout { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 1 + 3);
}

#[tokio::test]
async fn connection_closed_without_answer() {
    let (server, err) = failed_publish(vec![Reply::Close]).await;
    assert!(
        matches!(
            err,
            PublishError::Network {
                kind: NetworkErrorKind::AfterConnect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("may have been delivered"), "{err}");
    assert_eq!(server.requests().len(), 1);

    // delete_user is idempotent: retried.
    let server = TestServer::start(vec![Reply::Close, Reply::Close, Reply::status(200, "")]).await;
    client(&server).delete_user("alice").await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_and_is_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = BeamsClient::builder(&config(&format!("http://127.0.0.1:{port}")))
        .retry_policy(fast_policy().with_base_delay(Duration::from_millis(100)))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = expect_err(client.publish_to_users(&["alice"], &web()).await);
    assert!(
        matches!(
            err,
            PublishError::Network {
                kind: NetworkErrorKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        !err.to_string().contains(&port.to_string()),
        "the URL is stripped: {err}"
    );
    let err = expect_err(client.delete_user("alice").await);
    assert!(
        matches!(
            err,
            PublishError::Network {
                kind: NetworkErrorKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn validation_failures_make_zero_requests() {
    let server = TestServer::start(vec![]).await;
    let client = client(&server);
    let n = web();
    let long_interest = "x".repeat(165);
    let interests_101: Vec<&str> = vec!["a"; 101];
    let users: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
    let users_1001: Vec<&str> = users.iter().map(String::as_str).collect();
    let long_user = "u".repeat(165);
    let big = Notification::new().fcm(FcmPayload::new().data(json!({"k": "x".repeat(11_000)})));
    let huge = Notification::new().fcm(FcmPayload::new().data(json!({"k": "x".repeat(205_000)})));

    assert_eq!(
        validation(client.publish_to_interests(&[], &n).await),
        ValidationError::NoInterests
    );
    assert_eq!(
        validation(client.publish_to_interests(&interests_101, &n).await),
        ValidationError::TooManyInterests { count: 101 }
    );
    assert_eq!(
        validation(client.publish_to_interests(&["ok", "bad:one"], &n).await),
        ValidationError::InvalidInterestChar {
            index: 1,
            interest: "bad:one".into(),
            found: ':',
        }
    );
    assert_eq!(
        validation(client.publish_to_interests(&[&long_interest], &n).await),
        ValidationError::InterestTooLong {
            index: 0,
            interest: long_interest.clone(),
            len: 165,
        }
    );
    assert_eq!(
        validation(client.publish_to_interests(&["a", ""], &n).await),
        ValidationError::EmptyInterest { index: 1 }
    );
    assert_eq!(
        validation(client.publish_to_users(&[], &n).await),
        ValidationError::NoUsers
    );
    assert_eq!(
        validation(client.publish_to_users(&users_1001, &n).await),
        ValidationError::TooManyUsers { count: 1001 }
    );
    assert_eq!(
        validation(client.publish_to_users(&["a", "b", "a"], &n).await),
        ValidationError::DuplicateUser {
            index: 2,
            first_index: 0,
            user: "a".into(),
        }
    );
    let err = client
        .publish_to_users(&["a", &long_user], &n)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("user #1"), "{err}");
    assert!(matches!(
        err,
        PublishError::Validation(ValidationError::InvalidUser { index: 1, .. })
    ));
    assert_eq!(
        validation(client.publish_to_users(&["a"], &Notification::new()).await),
        ValidationError::NoPlatform
    );
    let reserved = Notification::new().web(WebPayload::new().data(json!({"pusher": 1})));
    assert_eq!(
        validation(client.publish_to_users(&["a"], &reserved).await),
        ValidationError::ReservedWebDataKey
    );
    let err = validation(client.publish_to_interests(&["a"], &big).await);
    assert!(
        matches!(err, ValidationError::BodyTooLarge { limit: 10_240, .. }),
        "{err:?}"
    );
    client.publish_to_users(&["a"], &big).await.unwrap(); // 200 KiB allowed for users: sent.
    let err = validation(client.publish_to_users(&["a"], &huge).await);
    assert!(
        matches!(err, ValidationError::BodyTooLarge { limit: 204_800, .. }),
        "{err:?}"
    );
    let err = validation(client.delete_user("").await);
    assert!(
        matches!(err, ValidationError::InvalidUserId { .. }),
        "{err:?}"
    );
    let err = client.delete_user(&long_user).await.unwrap_err();
    assert!(err.is_validation(), "{err:?}");

    // Only the one valid publish reached the server.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn fan_out_dedupes_chunks_and_sends_every_user_once() {
    let server = TestServer::start(vec![]).await;
    let client = client(&server);
    // 2 500 distinct users, with 700 repeats sprinkled in.
    let mut users: Vec<String> = (0..2500).map(|i| format!("user-{i}")).collect();
    for i in 0..700 {
        users.insert(i * 3 + 1, format!("user-{}", i * 2));
    }
    let expected_order: Vec<String> = {
        let mut seen = std::collections::HashSet::new();
        users
            .iter()
            .filter(|u| seen.insert(u.to_string()))
            .cloned()
            .collect()
    };
    assert_eq!(expected_order.len(), 2500);

    let report = FanOut::new()
        .publish_to_users(&client, &users, &web())
        .await
        .unwrap();
    assert!(report.is_complete_success());
    assert_eq!(report.duplicates_removed, 700);
    assert_eq!(report.batches.len(), 3);
    assert_eq!(report.users_published(), 2500);
    assert_eq!(
        report
            .batches
            .iter()
            .map(|b| b.users.len())
            .collect::<Vec<_>>(),
        [1000, 1000, 500]
    );
    let batched: Vec<String> = report
        .batches
        .iter()
        .flat_map(|b| b.users.clone())
        .collect();
    assert_eq!(batched, expected_order);

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let mut sent: Vec<String> = requests
        .iter()
        .flat_map(|r| {
            let body = r.json();
            assert_eq!(
                body["web"],
                json!({"notification": {"title": "Hello", "body": "Hello, world!"}})
            );
            body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    sent.sort();
    let mut expected = expected_order.clone();
    expected.sort();
    assert_eq!(sent, expected);
    let mut ids: Vec<&str> = report.publish_ids().collect();
    ids.sort();
    assert_eq!(ids, ["pubid-1", "pubid-2", "pubid-3"]);
}

#[tokio::test]
async fn fan_out_reports_each_batch_without_stopping() {
    let server = TestServer::start(vec![
        Reply::ok("first"),
        Reply::status(
            500,
            r#"{"error":"Internal Server Error","description":"boom"}"#,
        ),
        Reply::ok("third"),
    ])
    .await;
    let client = client(&server);
    let users: Vec<String> = (0..2100)
        .map(|i| format!("u{i}"))
        .chain(["".to_owned()])
        .collect();
    let report = FanOut::new()
        .concurrency(1)
        .publish_to_users(&client as &dyn Publisher, &users, &web())
        .await
        .unwrap();
    assert!(!report.is_complete_success());
    assert_eq!(report.batches.len(), 3);
    assert_eq!(
        report.batches[0].result.as_ref().unwrap().publish_id(),
        "first"
    );
    assert!(matches!(
        report.batches[1].result,
        Err(PublishError::Server(_))
    ));
    assert_eq!(
        report.batches[1].users.first().map(String::as_str),
        Some("u1000")
    );
    assert_eq!(
        report.batches[2].result.as_ref().unwrap().publish_id(),
        "third"
    );
    assert_eq!(report.failed_batches().count(), 1);
    assert_eq!(report.users_published(), 1100);
    assert_eq!(report.invalid_users.len(), 1);
    assert_eq!(report.invalid_users[0].index, 2100);
    assert_eq!(server.requests().len(), 3);

    // An invalid notification fails the whole fan-out before any request.
    let err = FanOut::new()
        .publish_to_users(&client, &users, &Notification::new())
        .await
        .unwrap_err();
    assert_eq!(err, ValidationError::NoPlatform);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn client_and_config_never_show_the_secret() {
    let config = config("http://127.0.0.1:1");
    let client = BeamsClient::new(&config).unwrap();
    for shown in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{:?}", BeamsClient::builder(&config)),
        format!("{:?}", config.secret_key()),
        config.secret_key().to_string(),
    ] {
        assert!(!shown.contains("TEST-SECRET"), "{shown}");
    }
}

mod tracing_capture {
    //! A tiny subscriber collecting every event's fields as text.

    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub(crate) struct Capture(pub(crate) Arc<Mutex<Vec<String>>>);

    struct Line(String);
    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={:?} ", field.name(), value);
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(format!("{} ", event.metadata().level()));
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[test]
fn a_debug_event_per_request_without_the_secret() {
    let capture = tracing_capture::Capture::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(capture.clone(), || {
        runtime.block_on(async {
            let server =
                TestServer::start(vec![Reply::status(429, "").header("Retry-After", "0")]).await;
            let client = client(&server);
            client.publish_to_users(&["alice"], &web()).await.unwrap();
            client.delete_user("bob").await.unwrap();
        })
    });
    let events = capture.0.lock().unwrap().clone();
    let requests: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("message=Beams API request "))
        .collect();
    assert_eq!(requests.len(), 3, "{events:#?}");
    assert!(requests[0].starts_with("DEBUG"));
    assert!(
        requests[0].contains("status=429") && requests[0].contains("attempt=1"),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].contains("status=200") && requests[1].contains("attempt=2"),
        "{}",
        requests[1]
    );
    assert!(requests[0].contains(&format!(
        "path=\"/publish_api/v1/instances/{ID}/publishes/users\""
    )));
    assert!(requests[2].contains("method=DELETE"), "{}", requests[2]);
    for event in &events {
        assert!(!event.contains("TEST-SECRET"), "{event}");
        assert!(!event.contains("Bearer"), "{event}");
    }
}
