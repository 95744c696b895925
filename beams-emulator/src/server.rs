//! The emulator's own server: a listener whose connections can be dropped on purpose (for the
//! "drop" fault and for a prompt shutdown), and the [`Emulator`] handle.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::builder::EmulatorBuilder;
use crate::state::EmulatorState;

/// Per-connection kill switch.
#[derive(Default)]
pub(crate) struct ConnControl {
    killed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl ConnControl {
    fn lock_waker(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.waker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Mark the connection dead and wake its task, which then closes the socket.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        if let Some(waker) = self.lock_waker().take() {
            waker.wake();
        }
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    fn register(&self, waker: &Waker) {
        let mut slot = self.lock_waker();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

/// What a request knows about its connection (inserted as `ConnectInfo<ConnInfo>`).
#[derive(Clone)]
pub(crate) struct ConnInfo {
    remote: SocketAddr,
    control: Arc<ConnControl>,
}

impl ConnInfo {
    pub(crate) fn kill(&self) {
        self.control.kill();
    }
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnInfo")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl Connected<IncomingStream<'_, EmuListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, EmuListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// The live connections, so shutdown can end them.
#[derive(Default)]
pub(crate) struct ConnRegistry {
    conns: Mutex<Vec<Weak<ConnControl>>>,
}

impl ConnRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<ConnControl>>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, control: &Arc<ConnControl>) {
        let mut conns = self.lock();
        conns.retain(|w| w.strong_count() > 0);
        conns.push(Arc::downgrade(control));
    }

    fn kill_all(&self) {
        for control in self.lock().drain(..).filter_map(|w| w.upgrade()) {
            control.kill();
        }
    }
}

/// A TCP stream that can be closed from outside its task: once killed, the next read or write
/// closes the socket with `SO_LINGER` 0 (so the peer sees a reset) and fails.
pub(crate) struct KillableStream {
    inner: Option<TcpStream>,
    control: Arc<ConnControl>,
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by beams-emulator",
    )
}

impl KillableStream {
    /// The live stream, or `None` once killed (closing the socket on the first call after).
    fn live(&mut self) -> Option<&mut TcpStream> {
        if self.control.is_killed()
            && let Some(stream) = self.inner.take()
        {
            // Ignore failures: the socket is being closed either way.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        self.inner.as_mut()
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.control.register(cx.waker());
        match this.live() {
            Some(stream) => Pin::new(stream).poll_read(cx, buf),
            None => Poll::Ready(Err(aborted())),
        }
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().live() {
            Some(stream) => Pin::new(stream).poll_write(cx, buf),
            None => Poll::Ready(Err(aborted())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().live() {
            Some(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(aborted())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().live() {
            Some(stream) => Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Err(aborted())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().live() {
            Some(stream) => Pin::new(stream).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// The emulator's listener: hands out [`KillableStream`]s and registers them.
pub(crate) struct EmuListener {
    listener: TcpListener,
    registry: Arc<ConnRegistry>,
}

impl Listener for EmuListener {
    type Io = KillableStream;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let control = Arc::new(ConnControl::default());
                    self.registry.add(&control);
                    let info = ConnInfo {
                        remote,
                        control: Arc::clone(&control),
                    };
                    return (
                        KillableStream {
                            inner: Some(stream),
                            control,
                        },
                        info,
                    );
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(target: "beams_emulator", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnInfo {
            remote: self.listener.local_addr()?,
            control: Arc::new(ConnControl::default()),
        })
    }
}

/// A running emulator: an HTTP server on a local port, serving one Beams instance.
///
/// Dereferences to [`EmulatorState`], so everything it recorded is available directly
/// (`emu.publishes()`, `emu.deliveries(id)`, `emu.inject_fault(…)`, `emu.reset()`, …). Dropping it
/// stops the server at once; [`shutdown`](Self::shutdown) stops it gracefully.
///
/// ```
/// use beams_emulator::{Emulator, Platform};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emu = Emulator::builder().port(0).start().await?;
/// println!("Beams at {} (instance {})", emu.base_url(), emu.instance_id());
///
/// // A web device owned by "alice", then a publish to her over real HTTP.
/// let device = emu.register_device(Platform::Web);
/// emu.set_device_user(&device.id, "alice")?;
/// let url = format!(
///     "{}/publish_api/v1/instances/{}/publishes/users",
///     emu.base_url(),
///     emu.instance_id()
/// );
/// let response = reqwest::Client::new()
///     .post(&url)
///     .bearer_auth(emu.secret_key())
///     .json(&serde_json::json!({"users": ["alice"], "web": {"notification": {"title": "Hi"}}}))
///     .send()
///     .await?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(emu.deliveries(&device.id).len(), 1);
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
    pub async fn start() -> Result<Emulator, crate::Error> {
        EmulatorBuilder::default().start().await
    }

    pub(crate) async fn serve(
        state: EmulatorState,
        listener: TcpListener,
    ) -> Result<Emulator, crate::Error> {
        let local_addr = listener.local_addr().map_err(crate::Error::Io)?;
        let registry = Arc::new(ConnRegistry::default());
        let mut shutdown = state.shared.shutdown.subscribe();
        let app = state
            .router()
            .into_make_service_with_connect_info::<ConnInfo>();
        let listener = EmuListener {
            listener,
            registry: Arc::clone(&registry),
        };
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            // Also ends if the state (and so the sender) is gone.
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::warn!(target: "beams_emulator", error = %e, "server stopped with an error");
            }
        });
        let host = if local_addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local_addr.port())
        } else {
            local_addr
        };
        tracing::debug!(target: "beams_emulator", %local_addr, "listening");
        Ok(Emulator {
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

impl Deref for Emulator {
    type Target = EmulatorState;

    fn deref(&self) -> &EmulatorState {
        &self.state
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
