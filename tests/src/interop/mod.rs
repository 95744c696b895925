//! Shared helpers of the interop suite (`tests/tests/interop_*.rs`).
//!
//! - [`peers`]: run the pinned Node (`tests/js`) and Python (`tests/py/.venv`) programs. A missing
//!   `node`, npm package, `python3` or venv is a test failure with a message saying what to
//!   install, never a silent skip.
//! - [`apps`]: both example apps in-process on `127.0.0.1:0` in emulator mode with a fixed
//!   instance, and logged-in sessions (reqwest cookie jars).
//! - [`raw_http`]: a GET sent byte for byte as given, for the mobile SDKs' query encodings.
//! - [`encode`]: how `encodeURIComponent`, iOS `URLComponents.queryItems` and Android's OkHttp
//!   `HttpUrl.Builder.addQueryParameter` encode a query.
//! - [`jwt`]: decoding Beams Tokens and verifying them with PyJWT and Node's `jsonwebtoken`.

pub mod apps;
pub mod encode;
pub mod jwt;
pub mod peers;
pub mod raw_http;

/// User ids that exercise the query encodings: spaces, `+`, `&`, `=`, quotes, `%`, reserved
/// characters and multi-byte UTF-8 (2-, 3- and 4-byte sequences).
pub const AWKWARD_USER_IDS: &[&str] = &[
    "alice",
    "john doe",
    "john+test@example.com",
    "a&b=c",
    "say \"hi\" 'there'",
    "100% sure",
    "semi;colon,comma/slash?q#frag",
    "Zoë 日本語 😀",
    "tab\tand ~tilde* (parens)!",
];
