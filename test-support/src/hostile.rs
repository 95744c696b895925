//! Test helpers for the hostile-input and secret-hygiene suites that both example apps run
//! against their real binaries (`tests/hostile.rs`, `tests/secrets.rs` in each app):
//!
//! - [`send_raw`]: a tiny HTTP/1.1 client over a `TcpStream` that sends exactly the bytes it
//!   is given (invalid UTF-8, raw non-ASCII, header floods, absolute-form targets, any
//!   method), so the suites reach what a well-behaved client library would refuse to send.
//! - [`run_table`] with [`conformance_rows`] and [`hostile_rows`]: the conformance table plus
//!   the extra hostile requests, over real HTTP, with a logged-in session where a row needs
//!   one.
//! - [`secret_hygiene`]: every route of an app run with `RUST_LOG=trace`, then a scan of its
//!   output for the secret and the issued tokens.
//!
//! Everything here is framework-neutral and uses only `std` (plus the emulator for the
//! hygiene run), so both apps' tests share one copy of the logic and their answers are held
//! to the same expectations row for row. Each app runs it against its real binary
//! ([`AppProcess`]).

use crate::conformance::{self, CaseSession, Observed};
use crate::process::AppProcess;
use std::collections::BTreeMap;
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

/// The session a table row needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSession {
    /// Log this user in first (rows are skipped when the login form refuses the id).
    LoggedIn(String),
    /// No cookie at all.
    LoggedOut,
    /// A session HTTP cannot produce (e.g. the host's extractor failing); skipped and counted.
    Unproducible(String),
}

/// Checks a response against a row's expectation.
pub type Check = Box<dyn Fn(&RawResponse) -> Result<(), String>>;

/// One row of the conformance table, made framework-neutral by [`conformance_rows`].
pub struct TableRow {
    /// The row's name.
    pub name: String,
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The session it runs with.
    pub session: RowSession,
    /// The table's own check (status, the route's headers, exact body or a verified token).
    pub check: Check,
}

impl std::fmt::Debug for TableRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRow")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// The conformance table ([`conformance::cases`]) as [`TableRow`]s.
pub fn conformance_rows() -> Vec<TableRow> {
    conformance::cases()
        .into_iter()
        .map(|case| {
            let session = match case.session {
                CaseSession::LoggedIn(user) => RowSession::LoggedIn(user.to_owned()),
                CaseSession::LoggedOut => RowSession::LoggedOut,
                CaseSession::Unavailable => {
                    RowSession::Unproducible("the session store being down".to_owned())
                }
                CaseSession::Rejected(status) => {
                    RowSession::Unproducible(format!("the host's extractor failing with {status}"))
                }
            };
            TableRow {
                name: case.name.to_owned(),
                method: case.method.to_owned(),
                target: case.uri(),
                session,
                check: Box::new(move |r: &RawResponse| {
                    case.check(&Observed {
                        status: r.status,
                        headers: r.headers.clone(),
                        body: r.body.clone(),
                    })
                }),
            }
        })
        .collect()
}

/// What a hostile request must get. Every expectation is the same for both apps, so passing
/// it in both is "identical answers".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The auth route's answer: this status, the route's three headers, exactly this body.
    Route(u16, &'static str),
    /// The auth route's token for `alice` (200, the route's headers, `{"token":"eyJ…"}`).
    Token,
    /// HEAD on the route: 200, the route's headers, no body.
    TokenHead,
    /// An answer from the framework, not from our code: exactly this status.
    Status(u16),
    /// The framework refuses the request: any 4xx, or the connection is closed without an
    /// answer. (The status differs between hyper and actix-http, e.g. 414 against 400 for a
    /// 64 KiB request line; the row checks "refused, no 5xx, still alive".)
    Refused,
    /// The two frameworks disagree before our code runs (documented in SECURITY.md): any of
    /// these. Our own route's answer, where it answers, is still exact.
    AnyOf(Vec<Self>),
}

/// One extra hostile request.
#[derive(Debug, Clone)]
pub struct HostileRow {
    /// A short name.
    pub name: &'static str,
    /// The exact bytes sent.
    pub request: Vec<u8>,
    /// Whether it is a HEAD request (no body in the answer).
    pub head: bool,
    /// What it must get.
    pub expect: Expect,
}

const NOT_LOGGED_IN: &str =
    r#"{"error":"Unauthorized","description":"You must be logged in to get a Beams Token."}"#;
const MISMATCH: &str =
    r#"{"error":"Unauthorized","description":"The requested user_id is not the logged-in user."}"#;
const TOO_LONG: &str = r#"{"error":"Bad Request","description":"The user_id query parameter must be at most 164 bytes of UTF-8."}"#;
const METHOD: &str =
    r#"{"error":"Method Not Allowed","description":"Use GET to request a Beams Token."}"#;

/// The extra hostile requests, for an app at `addr` where `cookie` is alice's session.
pub fn hostile_rows(addr: &str, cookie: &str) -> Vec<HostileRow> {
    let session = format!("Cookie: {cookie}");
    let s = session.as_bytes();
    let get = |target: &[u8], headers: &[&[u8]]| request("GET", target, addr, headers, b"");
    let row = |name, bytes, expect| HostileRow {
        name,
        request: bytes,
        head: false,
        expect,
    };
    let pad = "x".repeat(64 * 1024);
    let huge_query = format!("/pusher/beams-auth?user_id=alice&pad={pad}");
    let huge_user = format!("/pusher/beams-auth?user_id={pad}");
    let flood: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("X-Flood-{i}: {i}").into_bytes())
        .collect();
    let mut flood_refs: Vec<&[u8]> = flood.iter().map(Vec::as_slice).collect();
    flood_refs.push(s);
    let big_header = format!("X-Big: {}", "y".repeat(64 * 1024));
    let absolute = format!("http://{addr}/pusher/beams-auth?user_id=alice");
    let long_path = format!("/{}", "a/".repeat(32 * 1024));

    vec![
        // Sizes.
        row(
            "64 KiB query with a valid user_id",
            get(huge_query.as_bytes(), &[s]),
            Expect::Refused,
        ),
        row(
            "64 KiB user_id",
            get(huge_user.as_bytes(), &[s]),
            Expect::Refused,
        ),
        row(
            "64 KiB path",
            get(long_path.as_bytes(), &[s]),
            Expect::Refused,
        ),
        row(
            "200 headers",
            get(b"/pusher/beams-auth?user_id=alice", &flood_refs),
            Expect::Refused,
        ),
        row(
            "one 64 KiB header",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[s, big_header.as_bytes()],
            ),
            Expect::Token,
        ),
        row(
            "2 KiB user_id",
            get(
                format!("/pusher/beams-auth?user_id={}", &pad[..2048]).as_bytes(),
                &[s],
            ),
            Expect::Route(400, TOO_LONG),
        ),
        // Bytes in the request target.
        // hyper passes the raw bytes on (the route decodes "é", not alice's id); actix-http
        // refuses the request line with a 400.
        row(
            "raw UTF-8 in the query",
            get("/pusher/beams-auth?user_id=é".as_bytes(), &[s]),
            Expect::AnyOf(vec![Expect::Route(401, MISMATCH), Expect::Refused]),
        ),
        row(
            "raw 0xFF in the query",
            get(b"/pusher/beams-auth?user_id=\xff", &[s]),
            Expect::Refused,
        ),
        row(
            "raw NUL in the query",
            get(b"/pusher/beams-auth?user_id=a\0b", &[s]),
            Expect::Refused,
        ),
        row(
            "raw space in the query",
            get(b"/pusher/beams-auth?user_id=a b", &[s]),
            Expect::Refused,
        ),
        row(
            "%00 as the user_id",
            get(b"/pusher/beams-auth?user_id=%00", &[s]),
            Expect::Route(401, MISMATCH),
        ),
        row(
            "%00 in the path",
            get(b"/pusher/beams-auth%00?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        // Both frameworks drop the fragment.
        row(
            "fragment in the target",
            get(b"/pusher/beams-auth?user_id=alice#x", &[s]),
            Expect::Token,
        ),
        row(
            "';' does not separate parameters",
            get(b"/pusher/beams-auth?user_id=alice;user_id=bob", &[s]),
            Expect::Route(401, MISMATCH),
        ),
        // Cookies and headers.
        row(
            "duplicate Cookie: session then garbage",
            get(b"/pusher/beams-auth?user_id=alice", &[s, b"Cookie: junk=1"]),
            Expect::Token,
        ),
        row(
            "duplicate Cookie: garbage then session",
            get(b"/pusher/beams-auth?user_id=alice", &[b"Cookie: junk=1", s]),
            Expect::Token,
        ),
        row(
            "garbage cookies",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[b"Cookie: id=%%%; beams-example-session=!!!; ===; ;;; a"],
            ),
            Expect::Route(401, NOT_LOGGED_IN),
        ),
        row(
            "session cookies with garbage values",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[b"Cookie: id=AAAAAAAAAAAAAAAAAAAAAA; beams-example-session=eyJhIjoxfQ%3D%3D"],
            ),
            Expect::Route(401, NOT_LOGGED_IN),
        ),
        row(
            "invalid UTF-8 in Cookie",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[b"Cookie: id=\xff\xfe; beams-example-session=\xc3\x28"],
            ),
            Expect::Route(401, NOT_LOGGED_IN),
        ),
        row(
            "invalid UTF-8 in another header",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[s, b"X-Junk: \xff\xfe\xfd"],
            ),
            Expect::Token,
        ),
        row(
            "header without a colon",
            get(b"/pusher/beams-auth?user_id=alice", &[s, b"NoColonHere"]),
            Expect::Refused,
        ),
        row(
            "Host of another site",
            request(
                "GET",
                b"/pusher/beams-auth?user_id=alice",
                "evil.example",
                &[s],
                b"",
            ),
            Expect::Token,
        ),
        row(
            "X-Forwarded-Host of another site",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[s, b"X-Forwarded-Host: evil.example"],
            ),
            Expect::Token,
        ),
        row(
            "cross-site Origin",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[s, b"Origin: https://evil.example"],
            ),
            Expect::Token,
        ),
        // RFC 9112 §6.3 allows either: hyper lets Transfer-Encoding win (and closes), actix-http
        // refuses with a 400.
        row(
            "Content-Length and Transfer-Encoding together",
            get(
                b"/pusher/beams-auth?user_id=alice",
                &[s, b"Content-Length: 5", b"Transfer-Encoding: chunked"],
            ),
            Expect::AnyOf(vec![Expect::Token, Expect::Refused]),
        ),
        // Methods.
        HostileRow {
            name: "HEAD",
            request: request("HEAD", b"/pusher/beams-auth?user_id=alice", addr, &[s], b""),
            head: true,
            expect: Expect::TokenHead,
        },
        row(
            "OPTIONS (CORS preflight)",
            request(
                "OPTIONS",
                b"/pusher/beams-auth?user_id=alice",
                addr,
                &[
                    s,
                    b"Origin: https://evil.example",
                    b"Access-Control-Request-Method: GET",
                ],
                b"",
            ),
            Expect::Route(405, METHOD),
        ),
        row(
            "TRACE",
            request(
                "TRACE",
                b"/pusher/beams-auth?user_id=alice",
                addr,
                &[s],
                b"",
            ),
            Expect::Route(405, METHOD),
        ),
        row(
            "CONNECT origin-form",
            request(
                "CONNECT",
                b"/pusher/beams-auth?user_id=alice",
                addr,
                &[s],
                b"",
            ),
            Expect::Refused,
        ),
        row(
            "CONNECT authority-form",
            request("CONNECT", addr.as_bytes(), addr, &[s], b""),
            Expect::Refused,
        ),
        row(
            "lowercase method",
            request("get", b"/pusher/beams-auth?user_id=alice", addr, &[s], b""),
            Expect::Route(405, METHOD),
        ),
        row(
            "made-up method",
            request("BREW", b"/pusher/beams-auth?user_id=alice", addr, &[s], b""),
            Expect::Route(405, METHOD),
        ),
        // Request targets near the route.
        row(
            "absolute-form URI",
            get(absolute.as_bytes(), &[s]),
            Expect::Token,
        ),
        row(
            "absolute-form URI of another host",
            get(b"http://evil.example/pusher/beams-auth?user_id=alice", &[s]),
            Expect::Token,
        ),
        row(
            "'..' segment",
            get(b"/pusher/../pusher/beams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "'.' segment",
            get(b"/pusher/./beams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "leading '//'",
            get(b"//pusher/beams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "inner '//'",
            get(b"/pusher//beams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "trailing '/'",
            get(b"/pusher/beams-auth/?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "trailing '/..'",
            get(b"/pusher/beams-auth/..?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "encoded slash",
            get(b"/pusher%2Fbeams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "encoded slash, lowercase",
            get(b"/pusher%2fbeams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "encoded dots",
            get(b"/pusher/%2E%2E/pusher/beams-auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        // actix-router decodes percent-encoded unreserved characters before matching (RFC 3986
        // §6.2.2.2 says they are equivalent); axum matches the raw path.
        row(
            "encoded unreserved '-'",
            get(b"/pusher/beams%2Dauth?user_id=alice", &[s]),
            Expect::AnyOf(vec![Expect::Token, Expect::Status(404)]),
        ),
        row(
            "different case",
            get(b"/PUSHER/Beams-Auth?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "matrix parameter",
            get(b"/pusher/beams-auth;x=1?user_id=alice", &[s]),
            Expect::Status(404),
        ),
        row(
            "backslash",
            get(b"/pusher\\beams-auth?user_id=alice", &[s]),
            Expect::Refused,
        ),
        row("asterisk-form", get(b"*", &[s]), Expect::Refused),
        // Old protocol.
        row(
            "HTTP/1.0 without Host",
            format!("GET /pusher/beams-auth?user_id=alice HTTP/1.0\r\n{session}\r\n\r\n")
                .into_bytes(),
            Expect::Token,
        ),
    ]
}

fn check_route_headers(r: &RawResponse) -> Result<(), String> {
    for (name, value) in [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
    ] {
        if r.header(name) != Some(value) {
            return Err(format!("header {name} is {:?}", r.header(name)));
        }
    }
    // The route never grants cross-origin reads.
    if r.header("access-control-allow-origin").is_some() {
        return Err("the route sent Access-Control-Allow-Origin".into());
    }
    Ok(())
}

/// Checks an outcome against an expectation.
pub fn check_expect(expect: &Expect, outcome: &Outcome) -> Result<(), String> {
    if let Expect::AnyOf(options) = expect {
        let errors: Vec<String> = options
            .iter()
            .filter_map(|e| check_expect(e, outcome).err())
            .collect();
        return if errors.len() < options.len() {
            Ok(())
        } else {
            Err(errors.join("; or "))
        };
    }
    let response = match (expect, outcome) {
        (_, Outcome::Response(r)) if r.status >= 500 => {
            return Err(format!("a 5xx: {}", outcome.summary()));
        }
        (Expect::Refused, Outcome::Closed(_)) => return Ok(()),
        (Expect::Refused, Outcome::Response(r)) if (400..500).contains(&r.status) => return Ok(()),
        (_, Outcome::Closed(why)) => return Err(format!("no answer: {why}")),
        (_, Outcome::Response(r)) => r,
    };
    match expect {
        Expect::Route(status, body) => {
            if response.status != *status || response.body != body.as_bytes() {
                return Err(format!(
                    "got {}, expected {status} {body:?}",
                    outcome.summary()
                ));
            }
            check_route_headers(response)?;
            if *status == 405 && response.header("allow") != Some("GET") {
                return Err(format!("Allow is {:?}", response.header("allow")));
            }
            Ok(())
        }
        Expect::Token | Expect::TokenHead => {
            if response.status != 200 {
                return Err(format!("got {}, expected a token", outcome.summary()));
            }
            check_route_headers(response)?;
            let ok_body = if *expect == Expect::TokenHead {
                response.body.is_empty()
            } else {
                response.body.starts_with(b"{\"token\":\"eyJ") && response.body.ends_with(b"\"}")
            };
            if ok_body {
                Ok(())
            } else {
                Err(format!("unexpected body {}", outcome.summary()))
            }
        }
        Expect::Status(status) => {
            if response.status == *status {
                Ok(())
            } else {
                Err(format!("got {}, expected {status}", outcome.summary()))
            }
        }
        Expect::Refused => Err(format!(
            "got {}, expected a 4xx or a closed connection",
            outcome.summary()
        )),
        Expect::AnyOf(_) => unreachable!("handled above"),
    }
}

/// What [`run_table`] did.
#[derive(Debug, Default)]
pub struct TableReport {
    /// Conformance rows sent and checked.
    pub table_rows_run: usize,
    /// Conformance rows skipped, by reason.
    pub table_rows_skipped: BTreeMap<String, Vec<String>>,
    /// Hostile rows sent and checked.
    pub hostile_rows_run: usize,
    /// For each hostile row: what the app answered (for the report and for comparing apps).
    pub hostile_outcomes: Vec<(String, String)>,
    /// Every failed check: row name and why.
    pub failures: Vec<(String, String)>,
}

impl TableReport {
    /// Rows skipped in all.
    pub fn skipped(&self) -> usize {
        self.table_rows_skipped.values().map(Vec::len).sum()
    }
}

/// Runs the conformance `rows` and [`hostile_rows`] against `app` over real HTTP, then checks
/// that the app is still alive, still answering, and printed no panic.
pub fn run_table(app: &mut AppProcess, rows: Vec<TableRow>) -> TableReport {
    let addr = app.addr();
    let mut report = TableReport::default();
    let mut cookies: BTreeMap<String, Result<String, String>> = BTreeMap::new();

    for row in rows {
        let cookie = match &row.session {
            RowSession::Unproducible(why) => {
                report
                    .table_rows_skipped
                    .entry(format!("session not producible over HTTP: {why}"))
                    .or_default()
                    .push(row.name);
                continue;
            }
            RowSession::LoggedOut => None,
            RowSession::LoggedIn(user) => {
                let entry = cookies
                    .entry(user.clone())
                    .or_insert_with(|| login(&addr, user).map_err(|o| o.summary()));
                match entry {
                    Ok(cookie) => Some(cookie.clone()),
                    Err(why) => {
                        report
                            .table_rows_skipped
                            .entry(format!("the login form refused the user id ({why})"))
                            .or_default()
                            .push(row.name);
                        continue;
                    }
                }
            }
        };
        let cookie_line = cookie.map(|c| format!("Cookie: {c}"));
        let headers: Vec<&[u8]> = cookie_line.iter().map(|c| c.as_bytes()).collect();
        let req = request(&row.method, row.target.as_bytes(), &addr, &headers, b"");
        report.table_rows_run += 1;
        match send_raw(&addr, &req, row.method == "HEAD") {
            Outcome::Response(r) => {
                if let Err(why) = (row.check)(&r) {
                    report.failures.push((row.name, why));
                }
            }
            Outcome::Closed(why) => report
                .failures
                .push((row.name, format!("no answer: {why}"))),
        }
    }

    let alice = match login(&addr, "alice") {
        Ok(cookie) => cookie,
        Err(o) => panic!("cannot log alice in: {}", o.summary()),
    };
    for row in hostile_rows(&addr, &alice) {
        report.hostile_rows_run += 1;
        let outcome = send_raw(&addr, &row.request, row.head);
        if let Err(why) = check_expect(&row.expect, &outcome) {
            report.failures.push((row.name.to_owned(), why));
        }
        report
            .hostile_outcomes
            .push((row.name.to_owned(), outcome.summary()));
    }

    // Still alive, still answering, no panic on the way.
    if !app.is_running() {
        report
            .failures
            .push(("process".into(), "the app exited".into()));
    }
    let probe = request(
        "GET",
        b"/pusher/beams-auth?user_id=alice",
        &addr,
        &[format!("Cookie: {alice}").as_bytes()],
        b"",
    );
    if let Err(why) = check_expect(&Expect::Token, &send_raw(&addr, &probe, false)) {
        report.failures.push(("still answering".into(), why));
    }
    let output = app.output();
    if output.contains("panicked") {
        report
            .failures
            .push(("process".into(), format!("the app panicked:\n{output}")));
    }
    report
}

/// Prints a report and fails (panics) on any failure.
pub fn assert_report(app_name: &str, report: &TableReport) {
    eprintln!(
        "{app_name}: {} conformance rows run, {} skipped, {} hostile rows run",
        report.table_rows_run,
        report.skipped(),
        report.hostile_rows_run
    );
    for (reason, rows) in &report.table_rows_skipped {
        eprintln!("  skipped ({reason}): {rows:?}");
    }
    for (name, outcome) in &report.hostile_outcomes {
        eprintln!("  {name}: {outcome}");
    }
    assert!(
        report.failures.is_empty(),
        "{app_name}: {} failure(s):\n{}",
        report.failures.len(),
        report
            .failures
            .iter()
            .map(|(n, w)| format!("- {n}: {w}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The secret the hygiene run uses: distinctive, so any trace of it is found.
pub const HYGIENE_SECRET: &str = "HYGIENE-5e5a7c1d9b3f4e21a8c6d0f2b7e9a4c3-SECRET";
/// The instance id of the hygiene run.
pub const HYGIENE_INSTANCE: &str = "0f1e2d3c-hygiene-instance";

/// What [`secret_hygiene`] saw.
#[derive(Debug, Default)]
pub struct HygieneReport {
    /// Tokens the app issued during the run.
    pub tokens: Vec<String>,
    /// Requests sent, with their statuses.
    pub requests: Vec<(String, Option<u16>)>,
    /// Bytes the app printed.
    pub output_bytes: usize,
    /// Lines the app printed.
    pub output_lines: usize,
}

/// Runs `binary` with `RUST_LOG=trace` and a known secret against an emulator started here,
/// drives every path (page, demo-config, login, token issue 200/401/400/405, notify success
/// and failure, logout), and asserts that neither the secret, nor any issued token, nor any
/// token's signature appears in what the app printed or in any answer it sent. Needs a
/// multi-threaded Tokio runtime (the emulator runs on it while this drives the app).
pub async fn secret_hygiene(binary: &str) -> HygieneReport {
    use beams_emulator::{Emulator, Fault};

    let emulator = Emulator::builder()
        .instance_id(HYGIENE_INSTANCE)
        .secret_key(HYGIENE_SECRET)
        .start()
        .await
        .expect("the emulator starts");
    let app = AppProcess::start(
        binary,
        &[
            ("BEAMS_INSTANCE_ID", HYGIENE_INSTANCE),
            ("BEAMS_SECRET_KEY", HYGIENE_SECRET),
            ("BEAMS_ENDPOINT", emulator.base_url()),
            ("RUST_LOG", "trace"),
        ],
        &[],
    );
    let addr = app.addr();
    let mut report = HygieneReport::default();
    let mut answers: Vec<RawResponse> = Vec::new();
    let mut send = |name: &str, req: Vec<u8>, expected: &[u16]| {
        let outcome = send_raw(&addr, &req, false);
        report.requests.push((name.to_owned(), outcome.status()));
        match outcome {
            Outcome::Response(r) => {
                assert!(
                    expected.contains(&r.status),
                    "{name}: {} {}",
                    r.status,
                    r.text()
                );
                if r.status == 200 && r.body.starts_with(b"{\"token\":\"") {
                    let token = r.text()["{\"token\":\"".len()..]
                        .trim_end_matches("\"}")
                        .to_owned();
                    report.tokens.push(token);
                }
                answers.push(r);
            }
            Outcome::Closed(why) => panic!("{name}: no answer ({why})"),
        }
    };

    let form = b"Content-Type: application/x-www-form-urlencoded".as_slice();
    send("page", request("GET", b"/", &addr, &[], b""), &[200]);
    send(
        "demo-config, logged out",
        request("GET", b"/demo-config", &addr, &[], b""),
        &[200],
    );
    send(
        "token, logged out",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[], b""),
        &[401],
    );
    send(
        "notify, logged out",
        request("POST", b"/notify", &addr, &[form], b""),
        &[401],
    );
    let cookie = format!(
        "Cookie: {}",
        login(&addr, "alice").unwrap_or_else(|o| panic!("login: {}", o.summary()))
    );
    let c = cookie.as_bytes();
    send(
        "demo-config, logged in",
        request("GET", b"/demo-config", &addr, &[c], b""),
        &[200],
    );
    for _ in 0..3 {
        send(
            "token",
            request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[c], b""),
            &[200],
        );
    }
    send(
        "token, once more",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[c], b""),
        &[200],
    );
    send(
        "token for another user",
        request("GET", b"/pusher/beams-auth?user_id=bob", &addr, &[c], b""),
        &[401],
    );
    send(
        "token, no user_id",
        request("GET", b"/pusher/beams-auth", &addr, &[c], b""),
        &[400],
    );
    send(
        "token, malformed",
        request("GET", b"/pusher/beams-auth?user_id=%ZZ", &addr, &[c], b""),
        &[400],
    );
    send(
        "token, POST",
        request(
            "POST",
            b"/pusher/beams-auth?user_id=alice",
            &addr,
            &[c],
            b"",
        ),
        &[405],
    );
    send(
        "notify",
        request(
            "POST",
            b"/notify",
            &addr,
            &[c, form],
            b"title=Hi&body=There",
        ),
        &[200],
    );
    emulator
        .state()
        .inject_fault(Fault::status(500).path_prefix("/publish_api"));
    send(
        "notify, Beams 500",
        request("POST", b"/notify", &addr, &[c, form], b""),
        &[502],
    );
    emulator.state().inject_fault(
        Fault::status(429)
            .retry_after("0")
            .times(3)
            .path_prefix("/publish_api"),
    );
    send(
        "notify, Beams 429",
        request("POST", b"/notify", &addr, &[c, form], b""),
        &[502],
    );
    emulator
        .state()
        .inject_fault(Fault::drop_connection().path_prefix("/publish_api"));
    send(
        "notify, connection dropped",
        request("POST", b"/notify", &addr, &[c, form], b""),
        &[502],
    );
    send(
        "logout",
        request("POST", b"/logout", &addr, &[c], b""),
        &[200, 204],
    );
    // As a browser does after logout, the cleared cookie is not sent again.
    send(
        "token after logout",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[], b""),
        &[401],
    );
    // A copy of the cookie taken before logout is worthless: both apps keep sessions on the
    // server, and logout deleted this one there.
    send(
        "token for the old cookie replayed after logout",
        request("GET", b"/pusher/beams-auth?user_id=alice", &addr, &[c], b""),
        &[401],
    );

    // Let the last log lines arrive before stopping.
    std::thread::sleep(Duration::from_millis(300));
    let output = app.stop_with_output();
    emulator.shutdown().await;

    report.output_bytes = output.len();
    report.output_lines = output.lines().count();
    assert_eq!(
        report.tokens.len(),
        4,
        "tokens issued: {:?}",
        report.requests
    );
    // The run really logged at trace level, through our targets too.
    assert!(output.contains("TRACE"), "no trace output: {output}");
    assert!(
        output.contains("beams::auth"),
        "no beams::auth events: {output}"
    );
    let mut leaks = Vec::new();
    if output.contains(HYGIENE_SECRET) {
        leaks.push("the secret key".to_owned());
    }
    for token in &report.tokens {
        let signature = token.rsplit('.').next().unwrap_or(token);
        if output.contains(token.as_str()) {
            leaks.push(format!("a token ({}…)", &token[..20]));
        }
        if output.contains(signature) {
            leaks.push(format!("a token signature ({signature})"));
        }
    }
    for r in &answers {
        let headers: String = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        if headers.contains(HYGIENE_SECRET) || r.text().contains(HYGIENE_SECRET) {
            leaks.push(format!("the secret in an answer ({})", r.status));
        }
    }
    assert!(
        leaks.is_empty(),
        "leaked: {leaks:?}\n--- output ---\n{output}"
    );
    report
}

/// `Debug` (plain and `{:#?}`) of every public type that holds the secret, and `Display`
/// where there is one, never shows the secret; a token's `Debug` never shows the token.
pub async fn assert_debug_redacted() {
    use beams_core::publish::BeamsClient;
    use beams_core::{BeamsAuth, Instance, SecretKey, TokenIssuer, UserId};
    use beams_emulator::Emulator;

    let instance = Instance::builder(HYGIENE_INSTANCE, HYGIENE_SECRET)
        .endpoint("http://127.0.0.1:9")
        .build()
        .unwrap();
    let builder = Instance::builder(HYGIENE_INSTANCE, HYGIENE_SECRET);
    let key = SecretKey::new(HYGIENE_SECRET);
    let auth = BeamsAuth::new(&instance);
    let auth_builder = BeamsAuth::builder(&instance);
    let issuer = TokenIssuer::new(&instance);
    let token = issuer.issue(&UserId::new("alice").unwrap()).unwrap();
    let client = BeamsClient::new(&instance).unwrap();
    let client_builder = BeamsClient::builder(&instance);
    let emulator_builder = Emulator::builder().secret_key(HYGIENE_SECRET);
    let state = Emulator::builder()
        .secret_key(HYGIENE_SECRET)
        .build_state()
        .unwrap();
    let emulator = Emulator::builder()
        .secret_key(HYGIENE_SECRET)
        .start()
        .await
        .unwrap();
    let emulator_debug = [format!("{emulator:?}"), format!("{emulator:#?}")];
    let demo = example_support::DemoBeams::with_emulator(emulator).unwrap();

    let mut shown: Vec<(&str, String)> = Vec::new();
    macro_rules! debug {
        ($($name:literal => $value:expr),* $(,)?) => {$(
            shown.push(($name, format!("{:?}", $value)));
            shown.push(($name, format!("{:#?}", $value)));
        )*};
    }
    debug!(
        "Instance" => instance,
        "InstanceBuilder" => builder,
        "SecretKey" => key,
        "BeamsAuth" => auth,
        "BeamsAuthBuilder" => auth_builder,
        "TokenIssuer" => issuer,
        "BeamsToken" => token,
        "BeamsClient" => client,
        "BeamsClientBuilder" => client_builder,
        "EmulatorBuilder" => emulator_builder,
        "EmulatorState" => state,
        "DemoBeams" => demo,
        "DemoBeams.auth" => demo.auth,
    );
    shown.push(("SecretKey (Display)", key.to_string()));
    shown.push(("Emulator", emulator_debug[0].clone()));
    shown.push(("Emulator", emulator_debug[1].clone()));

    for (name, text) in &shown {
        assert!(
            !text.contains(HYGIENE_SECRET),
            "{name} shows the secret: {text}"
        );
        assert!(
            !text.contains(token.as_str()),
            "{name} shows the token: {text}"
        );
        let signature = token.as_str().rsplit('.').next().unwrap();
        assert!(
            !text.contains(signature),
            "{name} shows the token's signature: {text}"
        );
    }
    // The types do say what they are (the check above is not passing on empty output).
    assert!(shown.iter().all(|(_, text)| !text.is_empty()));
}
