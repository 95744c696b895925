//! The emulator's connections: a listener whose connections can be dropped on purpose (for
//! the "drop" fault and for a prompt shutdown).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

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

    pub(crate) fn kill_all(&self) {
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
    pub(crate) listener: TcpListener,
    pub(crate) registry: Arc<ConnRegistry>,
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
