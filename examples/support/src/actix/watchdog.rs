//! A bound on the life of a connection whose request body is chunked.
//!
//! When a handler answers without reading a chunked request body to its end (a `401`, or the
//! `408` of [`deadline`](super::deadline)), actix-http keeps reading and discarding the rest of
//! that body, with no time limit of its own, before it reads the next request: a client that
//! sends a chunked head and then nothing, or a byte now and then, would hold the connection
//! (and a file descriptor) for as long as it likes. A `Content-Length` body left unread closes
//! the connection instead, so only chunked requests need this.
//!
//! [`watch_connections`] gives every connection a watchdog task; [`deadline`](super::deadline)
//! arms it when a chunked request starts, and disarms it when a request without a chunked body
//! starts on the same connection. An armed watchdog shuts the socket down once the request
//! limit plus [`GRACE`] has passed since that request started, whatever the connection is
//! doing then.

use std::any::Any;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::time::Duration;

use actix_web::dev::{Extensions, ServiceRequest};
use actix_web::http::header::TRANSFER_ENCODING;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long after the request limit an armed connection is shut down: time for the `408` to be
/// written.
pub const GRACE: Duration = Duration::from_secs(1);

/// The connection's handle on its watchdog, kept in the connection's data; dropping it (the
/// connection ends) stops the watchdog.
struct Watchdog {
    /// When the current chunked request started, `None` when the current request is not
    /// chunked.
    armed: watch::Sender<Option<Instant>>,
}

/// `HttpServer::on_connect(watch_connections(limit))`: gives each plain TCP connection a
/// watchdog that shuts its socket down `limit` plus [`GRACE`] after a chunked request started
/// on it (armed by [`deadline`](super::deadline), which must wrap the app with the same
/// `limit`). The watchdog holds a duplicate of the socket's descriptor while the connection
/// lives, so each connection takes two descriptors.
pub fn watch_connections(limit: Duration) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync {
    move |connection, data| {
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        // A duplicate descriptor of the same socket: shutting it down ends actix's reads and
        // writes too, and it cannot be confused with another socket after actix closes its own.
        let socket = match stream.as_fd().try_clone_to_owned() {
            Ok(fd) => std::net::TcpStream::from(fd),
            Err(error) => {
                tracing::warn!(%error, "no watchdog for a connection");
                return;
            }
        };
        let (armed, changes) = watch::channel(None);
        data.insert(Watchdog { armed });
        actix_web::rt::spawn(watch(socket, changes, limit + GRACE));
    }
}

/// Called by [`deadline`](super::deadline) as each request starts.
pub(super) fn request_started(request: &ServiceRequest) {
    let Some(watchdog) = request.conn_data::<Watchdog>() else {
        return;
    };
    let chunked = request.headers().contains_key(TRANSFER_ENCODING);
    watchdog.armed.send_replace(chunked.then(Instant::now));
}

async fn watch(
    socket: std::net::TcpStream,
    mut changes: watch::Receiver<Option<Instant>>,
    bound: Duration,
) {
    let mut until: Option<Instant> = None;
    loop {
        let expired = async {
            match until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = changes.changed() => {
                // Err: the connection ended, and with it the sender.
                if changed.is_err() {
                    return;
                }
                until = changes.borrow_and_update().map(|start| start + bound);
            }
            () = expired => {
                tracing::debug!("closing a connection whose chunked request outlived its limit");
                let _ = socket.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}
