//! Slow-client probes over a raw `TcpStream`, shared by the hardening checks of the emulator
//! and of both example apps: how long a server takes to close a connection, and what it
//! answers to a body that trickles in.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads from `stream` until the server closes it: how long that took, or `None` if it was
/// still open after `limit`.
pub fn closed_within(mut stream: TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).ok()?;
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(start.elapsed());
            }
            Err(_) => return None,
        }
    }
}

/// Sends `head` (a request head with a `Content-Length` of 1 000 and its blank line), then the
/// body one byte every half second. Returns the status of the answer and when it came, or
/// `None` when none came within `limit` (or the connection closed without one).
pub fn slow_body_answer(addr: &str, head: &str, limit: Duration) -> Option<(u16, Duration)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.write_all(head.as_bytes()).ok()?;
    let mut writer = stream.try_clone().ok()?;
    let start = Instant::now();
    std::thread::spawn(move || {
        for _ in 0..1000 {
            std::thread::sleep(Duration::from_millis(500));
            if writer.write_all(b"x").is_err() {
                return;
            }
        }
    });
    stream.set_read_timeout(Some(limit)).ok()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let took = start.elapsed();
    // Ends the writer too.
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let status = std::str::from_utf8(&answer)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()?;
    Some((status, took))
}
