//! The emulator's own server: the [`Emulator`] handle.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::conn::{ConnRegistry, EmuListener};
use crate::error::StartError;
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
    /// Serve `state` on `listener` in a task: the [hardened server](crate::serve) with the
    /// emulator's killable connections.
    pub(crate) fn spawn(
        state: EmulatorState,
        listener: TcpListener,
        max_connections: usize,
    ) -> Result<Self, StartError> {
        let local_addr = listener.local_addr().map_err(StartError::Io)?;
        let registry = Arc::new(ConnRegistry::default());
        let mut shutdown = state.shared.shutdown.subscribe();
        let listener = EmuListener {
            listener,
            registry: Arc::clone(&registry),
        };
        // Bodies have their own deadline (a Beams-shaped 408), and injected latencies must
        // not be cut: no request timeout.
        let server = crate::serve::serve(listener, crate::api::router(state.clone()))
            .max_connections(max_connections)
            .request_timeout(None)
            // Also ends if the state (and so the sender) is gone.
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            });
        let task = tokio::spawn(async move {
            // The server's only error would be the listener's; it has none to report.
            let _ = server.await;
        });
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
