//! A tiny HTTP/1.1 client over a `TcpStream` that sends exactly the bytes it is given
//! (invalid UTF-8, raw non-ASCII, header floods, absolute-form targets, any method), so the
//! suites reach what a well-behaved client library would refuse to send; plus the request
//! builder and the demo's login it uses. Only `std`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long one raw request may take.
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// A response as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values (lossy UTF-8), in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as lossy UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (with the body) when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {:?}", self.text()))
    }
}

/// What a raw request got: a response, or a connection closed (or reset) without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A complete response.
    Response(RawResponse),
    /// The server closed or reset the connection without a complete response.
    Closed(String),
}

impl Outcome {
    /// The response's status, or `None` for a closed connection.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response(r) => Some(r.status),
            Self::Closed(_) => None,
        }
    }

    /// A one-line summary for reports.
    pub fn summary(&self) -> String {
        match self {
            Self::Response(r) => {
                let mut body = r.text();
                if body.len() > 120 {
                    let mut cut = 120;
                    while !body.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    body.truncate(cut);
                    body.push('…');
                }
                format!("{} {body:?}", r.status)
            }
            Self::Closed(why) => format!("closed ({why})"),
        }
    }
}

/// Sends `request` (the exact bytes, which should ask for `Connection: close`) to `addr` and
/// reads one response. `head` says the response to a HEAD has no body.
pub fn send_raw(addr: &str, request: &[u8], head: bool) -> Outcome {
    match exchange(addr, request, head) {
        Ok(Some(response)) => Outcome::Response(response),
        Ok(None) => Outcome::Closed("connection closed before a complete response".into()),
        Err(e) => Outcome::Closed(e.to_string()),
    }
}

/// Sends `head` (a request head ending in a blank line, with `Transfer-Encoding: chunked`),
/// then `total` bytes of body in 64 KiB chunks (or as many as the server takes before it
/// answers or closes), and returns its answer.
pub fn send_chunked(addr: &str, head: &[u8], total: usize) -> Outcome {
    const CHUNK: usize = 64 * 1024;
    let framed = [format!("{CHUNK:x}\r\n").as_bytes(), &[b' '; CHUNK], b"\r\n"].concat();
    let mut request = head.to_vec();
    for _ in 0..total.div_ceil(CHUNK) {
        request.extend_from_slice(&framed);
    }
    request.extend_from_slice(b"0\r\n\r\n");
    send_raw(addr, &request, false)
}

fn exchange(addr: &str, request: &[u8], head: bool) -> io::Result<Option<RawResponse>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    // A server may answer (431, 413…) and close before reading everything: a failed write is
    // not the end, the answer may be waiting.
    let write_error = stream
        .write_all(request)
        .and_then(|()| stream.flush())
        .err();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(response) = parse_response(&buf, head, false) {
            return Ok(Some(response));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(parse_response(&buf, head, true)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => return Err(write_error.unwrap_or(e)),
            Err(_) => return Ok(parse_response(&buf, head, true)),
        }
    }
}

/// Parses one HTTP/1.x response from `buf`; `None` while incomplete. `eof`: nothing more
/// will come (a body without length ends there).
fn parse_response(buf: &[u8], head: bool, eof: bool) -> Option<RawResponse> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head_text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &buf[end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if head || status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (every byte but ASCII letters
/// and digits as `%XX`).
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds a request: the request line, `Host`, the extra header lines (raw bytes), a
/// `Content-Length` for `body`, `Connection: close`.
pub fn request(method: &str, target: &[u8], host: &str, headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len() + body.len() + 256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in headers {
        out.extend_from_slice(h);
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Logs `user` in with `POST /login` and returns the `Cookie` header value of the session,
/// or the answer when the login was refused.
pub fn login(addr: &str, user: &str) -> Result<String, Outcome> {
    let body = format!("username={}", form_encode(user));
    let req = request(
        "POST",
        b"/login",
        addr,
        &[b"Content-Type: application/x-www-form-urlencoded"],
        body.as_bytes(),
    );
    match send_raw(addr, &req, false) {
        Outcome::Response(r) if r.status == 200 => {
            let cookie = r
                .header_all("set-cookie")
                .iter()
                .filter_map(|c| c.split(';').next())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; ");
            if cookie.is_empty() {
                Err(Outcome::Response(r))
            } else {
                Ok(cookie)
            }
        }
        other => Err(other),
    }
}
