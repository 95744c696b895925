//! The extra hostile requests beyond the conformance table (exact bytes: floods, odd
//! targets, odd methods, old protocols) and what each must get, the same for both apps.

use super::client::{Outcome, RawResponse, request};

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
