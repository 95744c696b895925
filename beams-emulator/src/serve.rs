//! A hardened HTTP/1 server for an axum [`Router`]: what the emulator serves itself with, and
//! what an app can serve with instead of [`axum::serve`](fn@axum::serve) when it faces clients it does not
//! trust.
//!
//! [`serve`](fn@serve) is [`axum::serve`](fn@axum::serve) with bounds: hyper's HTTP/1 with a timer, so that a
//! client that sends nothing, sends its request head a byte at a time or idles between requests
//! is closed after [`header_read_timeout`](Serve::header_read_timeout); at most
//! [`max_connections`](Serve::max_connections) connections at once (at the limit it stops
//! accepting and the kernel queues new clients); a [`request_timeout`](Serve::request_timeout)
//! within which a request, its body included, must be answered (else `408`); and a graceful
//! end, in which in-flight requests finish.
//!
//! ```
//! use axum::{Router, routing::get};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let app = Router::new().route("/", get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(
//!     beams_emulator::serve(listener, app)
//!         .header_read_timeout(Duration::from_secs(5))
//!         .max_connections(1024)
//!         .request_timeout(Some(Duration::from_secs(30)))
//!         .with_graceful_shutdown(async move {
//!             let _ = stopped.await;
//!         })
//!         .into_future(),
//! );
//! // … serve requests; then:
//! let _ = stop.send(());
//! server.await.expect("the server task ends")?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;
use axum::{Extension, Router};
use http::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower_layer::Layer;

/// The default [`Serve::header_read_timeout`]: 5 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The default [`Serve::max_connections`]: 1 024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default [`Serve::request_timeout`]: 30 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serve `router` on `listener` (a [`tokio::net::TcpListener`], or any axum [`Listener`]) with
/// the bounds described in the [module](self) documentation, until the future it returns is
/// dropped or its [graceful shutdown](Serve::with_graceful_shutdown) signal completes.
///
/// Every request carries its connection's address as [`ConnectInfo`] (a
/// `ConnectInfo<SocketAddr>` for a `TcpListener`). Unlike `axum::serve`, connections are not
/// upgraded: no WebSockets (the emulator streams with server-sent events). See the [module](self) documentation for
/// an example.
pub fn serve<L>(listener: L, router: Router) -> Serve<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    Serve {
        listener,
        router,
        header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        max_connections: DEFAULT_MAX_CONNECTIONS,
        request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
        shutdown: None,
    }
}

/// A server [`serve`](fn@serve) configured: `.await` it (or spawn
/// [`into_future`](IntoFuture::into_future)) to run it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<L> {
    listener: L,
    router: Router,
    header_read_timeout: Duration,
    max_connections: usize,
    request_timeout: Option<Duration>,
    shutdown: Option<Signal>,
}

impl<L> fmt::Debug for Serve<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("request_timeout", &self.request_timeout)
            .field("graceful_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

impl<L> Serve<L> {
    /// How long a request head may take to arrive, and how long a kept-alive connection may
    /// idle between requests, before the connection is closed (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// The most connections served at once (default [`DEFAULT_MAX_CONNECTIONS`]; at least 1).
    /// At the limit the server stops accepting until a connection ends.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long the router may take to answer a request, reading its body included, before
    /// the client gets an empty `408 Request Timeout` (default [`DEFAULT_REQUEST_TIMEOUT`]).
    /// A streamed response body is not limited once its head is sent. `None` leaves the
    /// deadline to the router.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Stop when `signal` completes: stop accepting, let the open connections finish their
    /// in-flight requests, then return. A response that streams without end (server-sent
    /// events, say) keeps its connection, and so the server, open: end such streams on the
    /// same signal.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Some(Box::pin(signal));
        self
    }
}

impl<L> IntoFuture for Serve<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<L> Serve<L>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    async fn run(self) -> io::Result<()> {
        let Self {
            mut listener,
            router,
            header_read_timeout,
            max_connections,
            request_timeout,
            shutdown,
        } = self;
        let router = match request_timeout {
            Some(limit) => router.layer(axum::middleware::from_fn(
                move |request: Request, next: Next| answer_within(limit, request, next),
            )),
            None => router,
        };
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(max_connections));
        let mut stop = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    // Never closed; were it, no connection could be served.
                    Err(_) => break,
                },
                () = &mut stop => break,
            };
            let (io, addr) = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut stop => break,
            };
            let service = Extension(ConnectInfo(addr)).layer(router.clone());
            let connection = graceful
                .watch(http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service)));
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(target: "beams_emulator", ?error, "connection ended");
                }
                drop(permit);
            });
        }
        drop(listener);
        graceful.shutdown().await;
        Ok(())
    }
}

/// The router's answer, or `408` when it takes longer than `limit`.
async fn answer_within(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}
