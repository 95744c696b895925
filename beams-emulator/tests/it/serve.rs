//! The hardened server helper, [`beams_emulator::serve`], on an app of its own: connection
//! addresses, the request deadline, the header-read timeout, the connection cap and a
//! graceful end.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use beams_test_support::hardening::{closed_within, slow_body_answer};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// An app that answers with the caller's address, reads bodies, and sleeps on `/slow`.
fn app() -> Router {
    Router::new()
        .route(
            "/who",
            get(|ConnectInfo(addr): ConnectInfo<SocketAddr>| async move { addr.to_string() }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
}

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(
    configure: impl FnOnce(
        beams_emulator::serve::Serve<tokio::net::TcpListener>,
    ) -> beams_emulator::serve::Serve<tokio::net::TcpListener>,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = configure(beams_emulator::serve(listener, app())).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    let task = tokio::spawn(server.into_future());
    Running { addr, stop, task }
}

#[tokio::test]
async fn serves_with_connect_info_and_ends_gracefully() {
    let server = start(|s| s).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let who = client.get(format!("{base}/who")).send().await.unwrap();
    assert_eq!(who.status(), 200);
    let who = who.text().await.unwrap();
    assert!(who.starts_with("127.0.0.1:"), "{who}");
    let echo = client
        .post(format!("{base}/echo"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(echo.text().await.unwrap(), "hello");

    server.stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("the server ends after its signal");
    assert!(ended.unwrap().is_ok());
    assert!(
        client.get(format!("{base}/who")).send().await.is_err(),
        "nothing listens after the end"
    );
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_408() {
    let server = start(|s| s.request_timeout(Some(Duration::from_millis(300)))).await;
    let response = reqwest::get(format!("http://{}/slow", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 408);

    // A body sent a byte every half second runs into the same deadline.
    let addr = server.addr.to_string();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
    );
    let answer =
        tokio::task::spawn_blocking(move || slow_body_answer(&addr, &head, Duration::from_secs(5)))
            .await
            .unwrap();
    assert!(
        matches!(answer, Some((408, took)) if took < Duration::from_secs(5)),
        "{answer:?}"
    );
}

#[tokio::test]
async fn without_a_deadline_the_router_takes_its_time() {
    let server = start(|s| s.request_timeout(None)).await;
    let response = reqwest::get(format!("http://{}/slow", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "late");
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_read_timeout() {
    let server = start(|s| s.header_read_timeout(Duration::from_millis(300))).await;
    let addr = server.addr;
    let closed = tokio::task::spawn_blocking(move || {
        closed_within(TcpStream::connect(addr).unwrap(), Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(
        matches!(closed, Some(took) if took < Duration::from_secs(3)),
        "{closed:?}"
    );
}

#[tokio::test]
async fn at_the_connection_cap_new_clients_wait() {
    let server = start(|s| s.max_connections(1)).await;
    let addr = server.addr;
    // One connection holds the only slot (it sends nothing; the header-read timeout of 5 s
    // frees it later).
    let _holder = TcpStream::connect(addr).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let waited = client.get(format!("http://{addr}/who")).send().await;
    assert!(waited.is_err(), "served past the cap: {waited:?}");
}
