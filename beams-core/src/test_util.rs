//! Test helpers (feature `test-util`): the auth route's conformance table, replayed by every
//! adapter, and the checks that compare an observed response with the table.
//!
//! An adapter's replay builds [`auth`], mounts it with a test extractor that reads
//! [`TEST_USER_HEADER`] and [`TEST_REJECT_HEADER`] (see [`session_from_headers`]), sends each
//! case's [`method`](Case::method), [`uri`](Case::uri) and [`headers`](Case::headers), and
//! calls [`Case::check`] on what came back.
//!
//! ```
//! use beams_core::test_util::{self, Observed};
//! use beams_core::auth::SessionState;
//!
//! let auth = test_util::auth();
//! for case in test_util::cases() {
//!     if case.method != "GET" {
//!         continue; // methods are the adapter's business; see `check_method`
//!     }
//!     let res = match case.session {
//!         test_util::CaseSession::LoggedIn(u) => auth.respond(case.query, SessionState::LoggedIn(u)),
//!         test_util::CaseSession::LoggedOut => auth.respond(case.query, SessionState::LoggedOut),
//!         test_util::CaseSession::Rejected(status) => {
//!             auth.respond(case.query, SessionState::Unavailable { status, error: &"test" })
//!         }
//!     };
//!     case.check(&Observed::from_http(&res)).unwrap();
//! }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{BeamsAuth, BeamsConfig};

/// The instance id of [`auth`].
pub const INSTANCE_ID: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
/// The secret key of [`auth`].
pub const SECRET_KEY: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";
/// Request header carrying the logged-in user (percent-encoded) for test extractors.
pub const TEST_USER_HEADER: &str = "x-test-user";
/// Request header telling test extractors to fail with this status.
pub const TEST_REJECT_HEADER: &str = "x-test-reject";

/// The [`BeamsAuth`] the table expects: [`INSTANCE_ID`], [`SECRET_KEY`], default TTL and path.
pub fn auth() -> BeamsAuth {
    BeamsAuth::new(BeamsConfig::new(INSTANCE_ID, SECRET_KEY).expect("valid test config"))
}

/// The session a case runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSession {
    /// This user is logged in.
    LoggedIn(&'static str),
    /// Nobody is logged in.
    LoggedOut,
    /// The host's extractor fails with this status.
    Rejected(u16),
}

/// One row of the conformance table.
#[derive(Debug, Clone)]
pub struct Case {
    /// A short unique name.
    pub name: &'static str,
    /// The request method.
    pub method: &'static str,
    /// The raw query string, without `?` (`None`: no query at all).
    pub query: Option<&'static str>,
    /// The session the request carries.
    pub session: CaseSession,
    /// The expected status.
    pub status: u16,
    /// The expected `description` of the JSON error (`None` for 200).
    pub description: Option<&'static str>,
    /// For 200: the `sub` of the issued token.
    pub token_sub: Option<&'static str>,
    /// Extra query parameters appended when building the URI (for very long queries).
    pub padding: usize,
}

/// Builds the test session from request headers, as a test extractor would:
/// `Err(status)` to reject, `Ok(None)` for logged out, `Ok(Some(user))` for logged in.
pub fn session_from_headers<'a>(
    get: impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<Option<String>, u16> {
    if let Some(status) = get(TEST_REJECT_HEADER) {
        let status = std::str::from_utf8(status)
            .ok()
            .and_then(|s| s.parse().ok());
        return Err(status.unwrap_or(500));
    }
    Ok(get(TEST_USER_HEADER).map(|raw| {
        let raw = std::str::from_utf8(raw).expect("test header is ASCII");
        let bytes = crate::auth::percent_decode_for_tests(raw).expect("test header is encoded");
        String::from_utf8(bytes).expect("test user is UTF-8")
    }))
}

impl Case {
    /// The request target: the route's default path plus the query (and padding).
    pub fn uri(&self) -> String {
        let mut uri = String::from(crate::config::DEFAULT_AUTH_PATH);
        if let Some(q) = self.query {
            uri.push('?');
            uri.push_str(q);
        }
        for i in 0..self.padding {
            uri.push_str(if uri.contains('?') { "&" } else { "?" });
            uri.push_str(&format!("pad{i}=xxxxxxxxxxxxxxxxxxxx"));
        }
        uri
    }

    /// The headers the test extractor reads.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self.session {
            CaseSession::LoggedIn(user) => vec![(TEST_USER_HEADER, encode(user))],
            CaseSession::LoggedOut => vec![],
            CaseSession::Rejected(status) => vec![(TEST_REJECT_HEADER, status.to_string())],
        }
    }

    /// Compares an observed response with the table: status, the three headers on every
    /// response, `Allow` on 405, the exact error body, or for 200 a body of exactly
    /// `{"token": …}` whose JWT verifies with [`SECRET_KEY`] and has exactly `exp`, `iss`
    /// and the expected `sub`.
    pub fn check(&self, observed: &Observed) -> Result<(), String> {
        let fail = |what: String| Err(format!("case `{}`: {what}", self.name));
        if observed.status != self.status {
            return fail(format!(
                "status {} (expected {}), body {:?}",
                observed.status,
                self.status,
                String::from_utf8_lossy(&observed.body)
            ));
        }
        for (name, value) in [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
        ] {
            if observed.header(name) != Some(value) {
                return fail(format!("header {name} is {:?}", observed.header(name)));
            }
        }
        if self.status == 405 && observed.header("allow") != Some("GET") {
            return fail(format!("Allow is {:?}", observed.header("allow")));
        }
        let body = std::str::from_utf8(&observed.body).map_err(|e| e.to_string())?;
        match (self.description, self.token_sub) {
            (Some(description), _) => {
                let reason = http::StatusCode::from_u16(self.status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                let expected = format!(r#"{{"error":"{reason}","description":"{description}"}}"#);
                if body != expected {
                    return fail(format!("body {body:?}, expected {expected:?}"));
                }
            }
            (None, Some(sub)) => verify_token_body(body, sub).or_else(fail)?,
            (None, None) => return fail("table row expects neither error nor token".into()),
        }
        Ok(())
    }
}

/// Checks that `body` is exactly `{"token":"<jwt>"}` with a valid Beams Token for `sub`.
pub fn verify_token_body(body: &str, sub: &str) -> Result<(), String> {
    let token = body
        .strip_prefix("{\"token\":\"")
        .and_then(|rest| rest.strip_suffix("\"}"))
        .ok_or_else(|| format!("body is not exactly {{\"token\":…}}: {body:?}"))?;
    verify_token(token, sub)
}

/// Verifies a Beams Token signed with [`SECRET_KEY`]: HS256, `iss`, `sub`, an `exp` 24 h from
/// now (±5 minutes), and no other claim.
pub fn verify_token(token: &str, sub: &str) -> Result<(), String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
    crate::token::ensure_default_provider();
    let header = decode_header(token).map_err(|e| format!("bad header: {e}"))?;
    if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some("JWT") {
        return Err(format!("unexpected header {header:?}"));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[format!(
        "https://{INSTANCE_ID}.pushnotifications.pusher.com"
    )]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.sub = Some(sub.to_owned());
    let data = decode::<serde_json::Map<String, serde_json::Value>>(
        token,
        &DecodingKey::from_secret(SECRET_KEY.as_bytes()),
        &validation,
    )
    .map_err(|e| format!("token does not verify: {e}"))?;
    let mut keys: Vec<&str> = data.claims.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["exp", "iss", "sub"] {
        return Err(format!(
            "claims are {keys:?}, expected exactly exp, iss, sub"
        ));
    }
    let exp = data.claims["exp"].as_u64().ok_or("exp is not an integer")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    if exp.abs_diff(now + 86_400) > 300 {
        return Err(format!("exp {exp} is not 24 h from now ({now})"));
    }
    Ok(())
}

/// A response as seen by a test, independent of the framework's `http` version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Observed {
    /// Reads an `http::Response<String>` (beams-core's own or axum's after collecting).
    pub fn from_http<B: AsRef<[u8]>>(res: &http::Response<B>) -> Self {
        Self::from_parts(
            res.status().as_u16(),
            res.headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes())),
            res.body().as_ref().to_vec(),
        )
    }

    /// Reads any framework's response from its status, its headers (name, raw value) and
    /// its body, e.g. actix-web's, whose `http` types differ from beams-core's.
    pub fn from_parts<'a>(
        status: u16,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: Vec<u8>,
    ) -> Self {
        Self {
            status,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_owned(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            body,
        }
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The response with the token replaced by `<token>` and the headers reduced to the ones
    /// the route owns (sorted), so that two adapters' answers compare byte for byte.
    pub fn normalized(&self) -> Self {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.to_ascii_lowercase().as_str(),
                    "content-type" | "cache-control" | "x-content-type-options" | "allow"
                )
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        headers.sort();
        let body = match std::str::from_utf8(&self.body) {
            Ok(b) if b.starts_with("{\"token\":\"") => b"{\"token\":\"<token>\"}".to_vec(),
            _ => self.body.clone(),
        };
        Self {
            status: self.status,
            headers,
            body,
        }
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const BAD_REQUEST: u16 = 400;
const UNAUTHORIZED: u16 = 401;

fn ok(name: &'static str, query: &'static str, user: &'static str) -> Case {
    Case {
        name,
        method: "GET",
        query: Some(query),
        session: CaseSession::LoggedIn(user),
        status: 200,
        description: None,
        token_sub: Some(user),
        padding: 0,
    }
}

fn err(
    name: &'static str,
    query: Option<&'static str>,
    session: CaseSession,
    status: u16,
    description: &'static str,
) -> Case {
    Case {
        name,
        method: "GET",
        query,
        session,
        status,
        description: Some(description),
        token_sub: None,
        padding: 0,
    }
}

const MISSING: &str = "The user_id query parameter is required.";
const REPEATED: &str = "The user_id query parameter must appear exactly once.";
const MALFORMED: &str = "The user_id query parameter has a malformed percent-encoding.";
const EMPTY: &str = "The user_id query parameter must not be empty.";
const TOO_LONG: &str = "The user_id query parameter must be at most 164 bytes of UTF-8.";
const NOT_UTF8: &str = "The user_id query parameter must be valid UTF-8.";
const NOT_LOGGED_IN: &str = "You must be logged in to get a Beams Token.";
const UNAVAILABLE: &str = "The login session could not be read.";
const MISMATCH: &str = "The requested user_id is not the logged-in user.";
const METHOD: &str = "Use GET to request a Beams Token.";

/// The conformance table: every auth case as (method, query, session) → (status, body).
pub fn cases() -> Vec<Case> {
    use CaseSession::{LoggedIn, LoggedOut, Rejected};
    let alice = LoggedIn("alice");
    let a164: &'static str = "a".repeat(164).leak();
    let a165: &'static str = "a".repeat(165).leak();
    let e82: &'static str = "é".repeat(82).leak();
    let e82_q: &'static str = format!("user_id={}", "%C3%A9".repeat(82)).leak();
    let e83_q: &'static str = format!("user_id={}", "%C3%A9".repeat(83)).leak();
    let emoji41: &'static str = "😀".repeat(41).leak();
    let emoji41_q: &'static str = format!("user_id={}", "%F0%9F%98%80".repeat(41)).leak();
    let emoji41a_q: &'static str = format!("user_id={}a", "%F0%9F%98%80".repeat(41)).leak();
    let long_value_q: &'static str = format!("user_id={}", "b".repeat(10_000)).leak();
    let long_extra_q: &'static str = format!("x={}&user_id=alice", "y".repeat(8_000)).leak();

    let mut padded = ok("1000 extra parameters", "user_id=alice", "alice");
    padded.padding = 1000;

    vec![
        ok("plain user", "user_id=alice", "alice"),
        ok(
            "extra parameters are ignored",
            "foo=1&user_id=alice&bar=2",
            "alice",
        ),
        ok(
            "web SDK queryParams after user_id",
            "user_id=alice&token=abc&v=2",
            "alice",
        ),
        ok("trailing ampersand", "user_id=alice&", "alice"),
        ok("percent-encoded key", "%75ser_id=alice", "alice"),
        ok(
            "plus is a literal plus (iOS)",
            "user_id=john+test@example.com",
            "john+test@example.com",
        ),
        ok("%20 is a space", "user_id=john%20test", "john test"),
        ok("%2B is a plus", "user_id=john%2Btest", "john+test"),
        ok("lowercase hex escapes", "user_id=%c3%a9", "é"),
        ok("value with '='", "user_id==a=b", "=a=b"),
        ok(
            "quotes, ampersand, equals encoded",
            "user_id=%22a%26b%3D%27",
            "\"a&b='",
        ),
        ok("164 ASCII bytes", format!("user_id={a164}").leak(), a164),
        ok("164 bytes of 2-byte characters", e82_q, e82),
        ok("164 bytes of 4-byte characters", emoji41_q, emoji41),
        ok("NUL inside the id", "user_id=a%00b", "a\u{0}b"),
        ok("control characters", "user_id=a%0A%09b", "a\n\tb"),
        ok("backslash and slash", "user_id=a%5C%2Fb", "a\\/b"),
        ok("8 KB parameter before user_id", long_extra_q, "alice"),
        padded,
        err("no query", None, alice, BAD_REQUEST, MISSING),
        err("empty query", Some(""), alice, BAD_REQUEST, MISSING),
        err(
            "other parameters only",
            Some("foo=bar"),
            alice,
            BAD_REQUEST,
            MISSING,
        ),
        err(
            "parameter name is case-sensitive",
            Some("USER_ID=alice"),
            alice,
            BAD_REQUEST,
            MISSING,
        ),
        err(
            "userid without underscore",
            Some("userid=alice"),
            alice,
            BAD_REQUEST,
            MISSING,
        ),
        err("empty value", Some("user_id="), alice, BAD_REQUEST, EMPTY),
        err(
            "key without '='",
            Some("user_id"),
            alice,
            BAD_REQUEST,
            EMPTY,
        ),
        err(
            "repeated, same value",
            Some("user_id=alice&user_id=alice"),
            alice,
            BAD_REQUEST,
            REPEATED,
        ),
        err(
            "repeated, other value",
            Some("user_id=alice&user_id=bob"),
            alice,
            BAD_REQUEST,
            REPEATED,
        ),
        err(
            "repeated through an encoded key",
            Some("user_id=alice&user%5Fid=alice"),
            alice,
            BAD_REQUEST,
            REPEATED,
        ),
        err("%ZZ", Some("user_id=%ZZ"), alice, BAD_REQUEST, MALFORMED),
        err(
            "truncated escape at the end",
            Some("user_id=alice%"),
            alice,
            BAD_REQUEST,
            MALFORMED,
        ),
        err(
            "one hex digit",
            Some("user_id=alice%4"),
            alice,
            BAD_REQUEST,
            MALFORMED,
        ),
        err(
            "%FF is not UTF-8",
            Some("user_id=%FF"),
            alice,
            BAD_REQUEST,
            NOT_UTF8,
        ),
        err(
            "overlong encoding",
            Some("user_id=%C0%AF"),
            alice,
            BAD_REQUEST,
            NOT_UTF8,
        ),
        err(
            "UTF-16 surrogate",
            Some("user_id=%ED%A0%80"),
            alice,
            BAD_REQUEST,
            NOT_UTF8,
        ),
        err(
            "truncated multi-byte character",
            Some("user_id=%C3"),
            alice,
            BAD_REQUEST,
            NOT_UTF8,
        ),
        err(
            "165 ASCII bytes",
            Some(format!("user_id={a165}").leak()),
            alice,
            BAD_REQUEST,
            TOO_LONG,
        ),
        err(
            "166 bytes of 2-byte characters",
            Some(e83_q),
            alice,
            BAD_REQUEST,
            TOO_LONG,
        ),
        err(
            "165 bytes: 41 emoji and a letter",
            Some(emoji41a_q),
            alice,
            BAD_REQUEST,
            TOO_LONG,
        ),
        err(
            "10 000-byte user id",
            Some(long_value_q),
            alice,
            BAD_REQUEST,
            TOO_LONG,
        ),
        err(
            "plus is not a space",
            Some("user_id=john+test"),
            LoggedIn("john test"),
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "other user",
            Some("user_id=bob"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "case differs",
            Some("user_id=Alice"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "trailing space",
            Some("user_id=alice%20"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "NUL truncation does not match",
            Some("user_id=alice%00"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "NFC vs NFD look-alike",
            Some("user_id=%C3%A9"),
            LoggedIn("e\u{301}"),
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "Cyrillic a vs Latin a",
            Some("user_id=%D0%B0lice"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "fullwidth letters",
            Some("user_id=%EF%BD%81lice"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "zero-width joiner",
            Some("user_id=ali%E2%80%8Dce"),
            alice,
            UNAUTHORIZED,
            MISMATCH,
        ),
        err(
            "logged out",
            Some("user_id=alice"),
            LoggedOut,
            UNAUTHORIZED,
            NOT_LOGGED_IN,
        ),
        err(
            "logged out, bad query is a 400",
            Some("user_id=%ZZ"),
            LoggedOut,
            BAD_REQUEST,
            MALFORMED,
        ),
        err(
            "extractor failed with 500",
            Some("user_id=alice"),
            Rejected(500),
            UNAUTHORIZED,
            UNAVAILABLE,
        ),
        err(
            "extractor failed with 401",
            Some("user_id=alice"),
            Rejected(401),
            UNAUTHORIZED,
            UNAVAILABLE,
        ),
        err(
            "extractor failed, bad query is a 400",
            None,
            Rejected(500),
            BAD_REQUEST,
            MISSING,
        ),
        Case {
            method: "POST",
            ..err("POST", Some("user_id=alice"), alice, 405, METHOD)
        },
        Case {
            method: "PUT",
            ..err("PUT", Some("user_id=alice"), alice, 405, METHOD)
        },
        Case {
            method: "DELETE",
            ..err("DELETE", None, LoggedOut, 405, METHOD)
        },
        Case {
            method: "PATCH",
            ..err("PATCH", Some("user_id=%ZZ"), alice, 405, METHOD)
        },
    ]
}

/// A reference for [`user_id_from_query`](crate::auth::user_id_from_query), written from
/// DESIGN.md §2 alone and sharing no code with it: split on `&`, the key and the value at the
/// first `=`, keys compared after strict `%XX` decoding, exactly one `user_id`, its value
/// decoded (`+` stays a plus), then UTF-8 and 1–164 bytes. The property tests and the fuzz
/// target check the real decoder against it.
///
/// ```
/// use beams_core::auth::AuthRejection;
/// use beams_core::test_util::reference_user_id;
///
/// assert_eq!(reference_user_id(Some("user_id=a+b%21")), Ok("a+b!".to_owned()));
/// assert_eq!(reference_user_id(Some("user_id=%ZZ")), Err(AuthRejection::MalformedUserId));
/// ```
pub fn reference_user_id(query: Option<&str>) -> Result<String, crate::auth::AuthRejection> {
    use crate::UserIdError;
    use crate::auth::AuthRejection;

    let values: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| {
            let (k, v) = match pair.find('=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, ""),
            };
            (reference_decode(k).as_deref() == Some(b"user_id".as_slice())).then_some(v)
        })
        .collect();
    let raw = match values.as_slice() {
        [] => return Err(AuthRejection::MissingUserId),
        [one] => *one,
        _ => return Err(AuthRejection::RepeatedUserId),
    };
    let bytes = reference_decode(raw).ok_or(AuthRejection::MalformedUserId)?;
    let s = String::from_utf8(bytes).map_err(|e| {
        AuthRejection::InvalidUserId(UserIdError::NotUtf8(e.utf8_error().valid_up_to()))
    })?;
    match s.len() {
        0 => Err(AuthRejection::InvalidUserId(UserIdError::Empty)),
        n if n > 164 => Err(AuthRejection::InvalidUserId(UserIdError::TooLong(n))),
        _ => Ok(s),
    }
}

/// The reference percent-decoder of [`reference_user_id`]: strict `%XX`, `+` kept, `None`
/// for a malformed escape.
fn reference_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SessionState;

    #[test]
    fn table_is_large_and_names_are_unique() {
        let cases = cases();
        assert!(cases.len() >= 40, "{}", cases.len());
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
    }

    /// Replays the table straight through `BeamsAuth`, the way the adapters do.
    #[test]
    fn core_passes_the_table() {
        let auth = auth();
        for case in cases() {
            let uri: http::Uri = case.uri().parse().unwrap();
            let method: http::Method = case.method.parse().unwrap();
            let headers = case.headers();
            let session = session_from_headers(|name| {
                headers
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.as_bytes())
            });
            let res = match auth.check_request(&method, uri.query()) {
                Err(res) => res,
                Ok(user) => match &session {
                    Ok(u) => auth.authorize(&user, u.as_deref().into()),
                    Err(status) => auth.authorize(
                        &user,
                        SessionState::Unavailable {
                            status: *status,
                            error: &"test",
                        },
                    ),
                },
            };
            case.check(&Observed::from_http(&res)).unwrap();
        }
    }

    #[test]
    fn check_detects_wrong_answers() {
        let auth = auth();
        let case = &cases()[0];
        let wrong_user = auth.respond(
            case.query.map(|_| "user_id=bob"),
            SessionState::LoggedIn("bob"),
        );
        assert!(case.check(&Observed::from_http(&wrong_user)).is_err());
        let mut missing_header =
            Observed::from_http(&auth.respond(case.query, SessionState::LoggedIn("alice")));
        missing_header.headers.retain(|(k, _)| k != "cache-control");
        assert!(case.check(&missing_header).is_err());
        let mut with_iat =
            Observed::from_http(&auth.respond(case.query, SessionState::LoggedIn("alice")));
        with_iat.body = b"{\"token\":\"x.y.z\"}".to_vec();
        assert!(case.check(&with_iat).is_err());
    }
}
