//! The emulator's own server: the [`Emulator`] handle.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tower_layer::Layer;

use crate::builder::EmulatorBuilder;
use crate::conn::{ConnRegistry, EmuListener};
use crate::state::EmulatorState;

/// A running emulator: an HTTP server on a local port, serving one Beams instance.
///
/// What it recorded, faults and resets are on its [`state`](Self::state) (`emu.state().publishes()`,
/// `emu.state().inject_fault(…)`, …). Dropping it stops the server at once;
/// [`shutdown`](Self::shutdown) stops it gracefully.
///
/// ```
/// use beams_emulator::{Emulator, Platform};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emu = Emulator::builder().port(0).start().await?;
/// let state = emu.state();
/// println!("Beams at {} (instance {})", emu.base_url(), state.instance_id());
///
/// // A web device owned by "alice", then a publish to her over real HTTP.
/// let device = state.register_device(Platform::Web);
/// state.set_device_user(&device.id, "alice")?;
/// let url = format!(
///     "{}/publish_api/v1/instances/{}/publishes/users",
///     emu.base_url(),
///     state.instance_id()
/// );
/// let response = reqwest::Client::new()
///     .post(&url)
///     .bearer_auth(state.secret_key())
///     .json(&serde_json::json!({"users": ["alice"], "web": {"notification": {"title": "Hi"}}}))
///     .send()
///     .await?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(state.deliveries(&device.id).len(), 1);
///
/// emu.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct Emulator {
    state: EmulatorState,
    local_addr: SocketAddr,
    base_url: String,
    registry: Arc<ConnRegistry>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url)
            .field("instance_id", &self.state.instance_id())
            .field("secret_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Start configuring an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Start an emulator with generated credentials on an ephemeral `127.0.0.1` port.
    pub async fn start() -> Result<Self, crate::Error> {
        EmulatorBuilder::default().start().await
    }

    pub(crate) async fn serve(
        state: EmulatorState,
        listener: TcpListener,
        limits: ServerLimits,
    ) -> Result<Self, crate::Error> {
        let local_addr = listener.local_addr().map_err(crate::Error::Io)?;
        let registry = Arc::new(ConnRegistry::default());
        let shutdown = state.shared.shutdown.subscribe();
        let listener = EmuListener {
            listener,
            registry: Arc::clone(&registry),
        };
        let router = crate::api::router(state.clone());
        let task = tokio::spawn(accept_loop(listener, router, limits, shutdown));
        let host = if local_addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local_addr.port())
        } else {
            local_addr
        };
        tracing::debug!(target: "beams_emulator", %local_addr, "listening");
        Ok(Self {
            state,
            local_addr,
            base_url: format!("http://{host}"),
            registry,
            task: Some(task),
        })
    }

    /// The base URL clients use, `http://127.0.0.1:{port}` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The state: what the emulator recorded, faults, the router.
    pub fn state(&self) -> &EmulatorState {
        &self.state
    }

    /// Stop gracefully: stop accepting, end event streams, let in-flight requests finish (up to a
    /// second, then their connections are dropped). The port is free when this returns.
    pub async fn shutdown(mut self) {
        self.state.shared.shutdown.send_replace(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
        {
            self.registry.kill_all();
            if tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
        self.registry.kill_all();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.state.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.registry.kill_all();
    }
}

/// What the server allows a connection: how long a request head may take to arrive (also
/// the idle time allowed between requests on a kept-alive connection), and how many
/// connections are served at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerLimits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// Accepts connections until shutdown: hyper's HTTP/1 with a header-read timeout on a timer
/// (a client that sends nothing, sends its head slowly or idles between requests is closed
/// when it runs out), at most `max_connections` at once (at the limit the server stops
/// accepting and the kernel queues new clients), and a graceful end.
async fn accept_loop(
    mut listener: EmuListener,
    router: axum::Router,
    limits: ServerLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Also ends if the state (and so the sender) is gone.
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let (stream, info) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut stop => break,
        };
        let service = Extension(ConnectInfo(info)).layer(router.clone());
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(target: "beams_emulator", ?error, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
