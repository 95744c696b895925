//! The auth route's conformance table, replayed by every mounting of the route (beams-core's
//! tower layer, beams-axum, beams-actix, both example apps), and the checks that compare an
//! observed response with it.
//!
//! A replay builds [`auth`], mounts it with a test extractor that reads [`TEST_USER_HEADER`],
//! [`TEST_UNAVAILABLE_HEADER`] and [`TEST_REJECT_HEADER`] (see [`rejection_from_headers`] and
//! [`user_from_headers`]), sends each case's [`method`](Case::method), [`uri`](Case::uri) and
//! [`headers`](Case::headers), and calls [`Case::check`] on what came back.

use std::time::{SystemTime, UNIX_EPOCH};

use beams_core::{AuthRejection, BeamsAuth, Instance, SessionUser, UserIdError};
use http::StatusCode;

/// The instance id of [`auth`].
pub const INSTANCE_ID: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
/// The secret key of [`auth`].
pub const SECRET_KEY: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";
/// Request header carrying the logged-in user (percent-encoded) for test extractors.
pub const TEST_USER_HEADER: &str = "x-test-user";
/// Request header telling test extractors to fail with this status.
pub const TEST_REJECT_HEADER: &str = "x-test-reject";
/// Request header telling test resolvers that the session store is down.
pub const TEST_UNAVAILABLE_HEADER: &str = "x-test-unavailable";

/// The instance the table expects: [`INSTANCE_ID`], [`SECRET_KEY`].
pub fn instance() -> Instance {
    Instance::new(INSTANCE_ID, SECRET_KEY).expect("valid test instance")
}

/// The [`BeamsAuth`] the table expects: [`instance`], default TTL and path.
pub fn auth() -> BeamsAuth {
    BeamsAuth::new(&instance())
}

/// The session a case runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSession {
    /// This user is logged in.
    LoggedIn(&'static str),
    /// Nobody is logged in.
    LoggedOut,
    /// The session store is down: the host's hook returns an error.
    Unavailable,
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
    /// The expected answer.
    pub expect: Expected,
    /// Extra query parameters appended when building the URI (for very long queries).
    pub padding: usize,
}

/// What a case must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `200 {"token":…}` whose JWT has this `sub`.
    Token(&'static str),
    /// This rejection's status, headers and exact body.
    Rejected(AuthRejection),
}

/// The extractor's rejection status a test extractor should fail with, if any.
pub fn rejection_from_headers<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> Option<u16> {
    get(TEST_REJECT_HEADER).map(|status| {
        std::str::from_utf8(status)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(500)
    })
}

/// What a test hook returns: `Err` when the store is "down", else the logged-in user.
pub fn user_from_headers<'a>(
    get: impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<Option<String>, String> {
    if get(TEST_UNAVAILABLE_HEADER).is_some() {
        return Err("test session store: connection refused".to_owned());
    }
    Ok(get(TEST_USER_HEADER).map(|raw| {
        let raw = std::str::from_utf8(raw).expect("test header is ASCII");
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .expect("test user is UTF-8")
            .into_owned()
    }))
}

impl Case {
    /// The request target: the route's default path plus the query (and padding).
    pub fn uri(&self) -> String {
        let mut uri = String::from(BeamsAuth::DEFAULT_PATH);
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
            CaseSession::Unavailable => vec![(TEST_UNAVAILABLE_HEADER, "1".to_owned())],
            CaseSession::Rejected(status) => vec![(TEST_REJECT_HEADER, status.to_string())],
        }
    }

    /// The expected status.
    pub fn status(&self) -> u16 {
        match &self.expect {
            Expected::Token(_) => 200,
            Expected::Rejected(r) => r.status().as_u16(),
        }
    }

    /// Compares an observed response with the table: status, the three headers on every
    /// response, `Allow: GET` on 405 and `Retry-After` on 503 (and neither elsewhere), the
    /// exact error body, or for 200 a body of exactly `{"token": …}` whose JWT verifies with
    /// [`SECRET_KEY`] and has exactly `exp`, `iss` and the expected `sub`.
    pub fn check(&self, observed: &Observed) -> Result<(), String> {
        let fail = |what: String| Err(format!("case `{}`: {what}", self.name));
        let status = self.status();
        if observed.status != status {
            return fail(format!(
                "status {} (expected {status}), body {:?}",
                observed.status,
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
        for (name, expected) in [
            ("allow", (status == 405).then_some("GET")),
            ("retry-after", (status == 503).then_some("5")),
        ] {
            if observed.header(name) != expected {
                return fail(format!("{name} is {:?}", observed.header(name)));
            }
        }
        let body = std::str::from_utf8(&observed.body).map_err(|e| e.to_string())?;
        match &self.expect {
            Expected::Rejected(rejection) => {
                let expected = rejection.body_text();
                if body != expected {
                    return fail(format!("body {body:?}, expected {expected:?}"));
                }
            }
            Expected::Token(sub) => verify_token_body(body, sub).or_else(fail)?,
        }
        Ok(())
    }
}

/// What beams-core itself answers for a case, without any framework in between: the two
/// phases, with the case's session as the adapters would report it.
pub fn core_answer(auth: &BeamsAuth, case: &Case) -> Observed {
    let method: http::Method = case.method.parse().expect("a valid method");
    let uri: http::Uri = case.uri().parse().expect("a valid URI");
    let res = match auth.check_request(&method, uri.query()) {
        Err(rejection) => rejection.to_response(),
        Ok(requested) => {
            let session = match case.session {
                CaseSession::LoggedIn(user) => SessionUser::LoggedIn(user.to_owned()),
                CaseSession::LoggedOut => SessionUser::LoggedOut,
                CaseSession::Unavailable => SessionUser::Unavailable("test".to_owned()),
                CaseSession::Rejected(status) => {
                    let status = StatusCode::from_u16(status).expect("a valid status");
                    return Observed::from_http(&auth.extractor_rejected(
                        requested,
                        status,
                        "test::Session",
                        "test",
                    ));
                }
            };
            auth.authorize(requested, session)
        }
    };
    Observed::from_http(&res)
}

/// Checks that `body` is exactly `{"token":"<jwt>"}` with a valid Beams Token for `sub`.
pub fn verify_token_body(body: &str, sub: &str) -> Result<(), String> {
    let token = body
        .strip_prefix("{\"token\":\"")
        .and_then(|rest| rest.strip_suffix("\"}"))
        .ok_or_else(|| format!("body is not exactly {{\"token\":…}}: {body:?}"))?;
    verify_token(token, sub)
}

/// Verifies a Beams Token signed with [`SECRET_KEY`] through jsonwebtoken's own `decode`
/// (its RustCrypto backend, not ours): HS256, `iss`, `sub`, an `exp` 24 h from now
/// (±5 minutes), and no other claim.
pub fn verify_token(token: &str, sub: &str) -> Result<(), String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
    // With jsonwebtoken's two backends unified on (`--all-features`), it has no default:
    // name ours. An error means one is installed already, which is as good.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
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
    /// Reads an `http::Response` (beams-core's own, or axum's after collecting the body).
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
    #[must_use]
    pub fn normalized(&self) -> Self {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.to_ascii_lowercase().as_str(),
                    "content-type"
                        | "cache-control"
                        | "x-content-type-options"
                        | "allow"
                        | "retry-after"
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

fn leak(s: String) -> &'static str {
    s.leak()
}

/// The conformance table: every auth case as (method, query, session) → answer.
#[rustfmt::skip]
pub fn cases() -> Vec<Case> {
    use AuthRejection::{ExtractorRejected, MalformedUserId, MethodNotAllowed, MissingUserId, NotLoggedIn, RepeatedUserId, SessionUnavailable, UserMismatch};
    use CaseSession::{LoggedIn, LoggedOut, Rejected, Unavailable};
    const EMPTY: AuthRejection = AuthRejection::InvalidUserId(UserIdError::Empty);
    const NOT_UTF8: AuthRejection = AuthRejection::InvalidUserId(UserIdError::NotUtf8(0));
    let too_long = |n| AuthRejection::InvalidUserId(UserIdError::TooLong(n));
    let a164 = leak("a".repeat(164));
    let e82 = leak("é".repeat(82));
    let emoji41 = leak("😀".repeat(41));
    let alice = LoggedIn("alice");
    let ok = |name, query: &'static str, user: &'static str| case(name, "GET", Some(query), LoggedIn(user), Expected::Token(user));
    let no = |name, method, query, session, rejection| case(name, method, query, session, Expected::Rejected(rejection));

    vec![
        ok("plain user", "user_id=alice", "alice"),
        ok("extra parameters are ignored", "foo=1&user_id=alice&bar=2", "alice"),
        ok("web SDK queryParams after user_id", "user_id=alice&token=abc&v=2", "alice"),
        ok("trailing ampersand", "user_id=alice&", "alice"),
        ok("percent-encoded key", "%75ser_id=alice", "alice"),
        ok("plus is a literal plus (iOS)", "user_id=john+test@example.com", "john+test@example.com"),
        ok("%20 is a space", "user_id=john%20test", "john test"),
        ok("%2B is a plus", "user_id=john%2Btest", "john+test"),
        ok("lowercase hex escapes", "user_id=%c3%a9", "é"),
        ok("value with '='", "user_id==a=b", "=a=b"),
        ok("quotes, ampersand, equals encoded", "user_id=%22a%26b%3D%27", "\"a&b='"),
        ok("164 ASCII bytes", leak(format!("user_id={a164}")), a164),
        ok("164 bytes of 2-byte characters", leak(format!("user_id={}", "%C3%A9".repeat(82))), e82),
        ok("164 bytes of 4-byte characters", leak(format!("user_id={}", "%F0%9F%98%80".repeat(41))), emoji41),
        ok("NUL inside the id", "user_id=a%00b", "a\u{0}b"),
        ok("control characters", "user_id=a%0A%09b", "a\n\tb"),
        ok("backslash and slash", "user_id=a%5C%2Fb", "a\\/b"),
        ok("8 KB parameter before user_id", leak(format!("x={}&user_id=alice", "y".repeat(8_000))), "alice"),
        Case { padding: 1000, ..ok("1000 extra parameters", "user_id=alice", "alice") },
        no("no query", "GET", None, alice, MissingUserId),
        no("empty query", "GET", Some(""), alice, MissingUserId),
        no("other parameters only", "GET", Some("foo=bar"), alice, MissingUserId),
        no("parameter name is case-sensitive", "GET", Some("USER_ID=alice"), alice, MissingUserId),
        no("userid without underscore", "GET", Some("userid=alice"), alice, MissingUserId),
        no("empty value", "GET", Some("user_id="), alice, EMPTY),
        no("key without '='", "GET", Some("user_id"), alice, EMPTY),
        no("repeated, same value", "GET", Some("user_id=alice&user_id=alice"), alice, RepeatedUserId),
        no("repeated, other value", "GET", Some("user_id=alice&user_id=bob"), alice, RepeatedUserId),
        no("repeated through an encoded key", "GET", Some("user_id=alice&user%5Fid=alice"), alice, RepeatedUserId),
        no("%ZZ", "GET", Some("user_id=%ZZ"), alice, MalformedUserId),
        no("truncated escape at the end", "GET", Some("user_id=alice%"), alice, MalformedUserId),
        no("one hex digit", "GET", Some("user_id=alice%4"), alice, MalformedUserId),
        no("%FF is not UTF-8", "GET", Some("user_id=%FF"), alice, NOT_UTF8),
        no("overlong encoding", "GET", Some("user_id=%C0%AF"), alice, NOT_UTF8),
        no("UTF-16 surrogate", "GET", Some("user_id=%ED%A0%80"), alice, NOT_UTF8),
        no("truncated multi-byte character", "GET", Some("user_id=%C3"), alice, NOT_UTF8),
        no("165 ASCII bytes", "GET", Some(leak(format!("user_id={}", "a".repeat(165)))), alice, too_long(165)),
        no("166 bytes of 2-byte characters", "GET", Some(leak(format!("user_id={}", "%C3%A9".repeat(83)))), alice, too_long(166)),
        no("165 bytes: 41 emoji and a letter", "GET", Some(leak(format!("user_id={}a", "%F0%9F%98%80".repeat(41)))), alice, too_long(165)),
        no("10 000-byte user id", "GET", Some(leak(format!("user_id={}", "b".repeat(10_000)))), alice, too_long(10_000)),
        no("plus is not a space", "GET", Some("user_id=john+test"), LoggedIn("john test"), UserMismatch),
        no("other user", "GET", Some("user_id=bob"), alice, UserMismatch),
        no("case differs", "GET", Some("user_id=Alice"), alice, UserMismatch),
        no("trailing space", "GET", Some("user_id=alice%20"), alice, UserMismatch),
        no("NUL truncation does not match", "GET", Some("user_id=alice%00"), alice, UserMismatch),
        no("NFC vs NFD look-alike", "GET", Some("user_id=%C3%A9"), LoggedIn("e\u{301}"), UserMismatch),
        no("Cyrillic a vs Latin a", "GET", Some("user_id=%D0%B0lice"), alice, UserMismatch),
        no("fullwidth letters", "GET", Some("user_id=%EF%BD%81lice"), alice, UserMismatch),
        no("zero-width joiner", "GET", Some("user_id=ali%E2%80%8Dce"), alice, UserMismatch),
        no("logged out", "GET", Some("user_id=alice"), LoggedOut, NotLoggedIn),
        no("logged out, bad query is a 400", "GET", Some("user_id=%ZZ"), LoggedOut, MalformedUserId),
        no("session store unavailable", "GET", Some("user_id=alice"), Unavailable, SessionUnavailable),
        no("session store unavailable, bad query is a 400", "GET", Some("user_id="), Unavailable, EMPTY),
        no("extractor failed with 500", "GET", Some("user_id=alice"), Rejected(500), ExtractorRejected { status: StatusCode::INTERNAL_SERVER_ERROR }),
        no("extractor failed with 401", "GET", Some("user_id=alice"), Rejected(401), ExtractorRejected { status: StatusCode::UNAUTHORIZED }),
        no("extractor failed, bad query is a 400", "GET", None, Rejected(500), MissingUserId),
        no("POST", "POST", Some("user_id=alice"), alice, MethodNotAllowed),
        no("PUT", "PUT", Some("user_id=alice"), alice, MethodNotAllowed),
        no("DELETE", "DELETE", None, LoggedOut, MethodNotAllowed),
        no("PATCH", "PATCH", Some("user_id=%ZZ"), alice, MethodNotAllowed),
    ]
}

fn case(
    name: &'static str,
    method: &'static str,
    query: Option<&'static str>,
    session: CaseSession,
    expect: Expected,
) -> Case {
    Case {
        name,
        method,
        query,
        session,
        expect,
        padding: 0,
    }
}

/// A reference for the auth route's query decoding, written from its rules alone and sharing
/// no code with beams-core: split on `&`, the key and the value at the first `=`, keys
/// compared after strict `%XX` decoding, exactly one `user_id`, its value decoded (`+` stays
/// a plus), then UTF-8 and 1–164 bytes. The property tests and the fuzz target check the real
/// decoder against it.
///
/// ```
/// use beams_core::AuthRejection;
/// use beams_test_support::conformance::reference_user_id;
///
/// assert_eq!(reference_user_id(Some("user_id=a+b%21")), Ok("a+b!".to_owned()));
/// assert_eq!(reference_user_id(Some("user_id=%ZZ")), Err(AuthRejection::MalformedUserId));
/// ```
pub fn reference_user_id(query: Option<&str>) -> Result<String, AuthRejection> {
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

    #[test]
    fn table_is_large_and_names_are_unique() {
        let cases = cases();
        assert!(cases.len() >= 40, "{}", cases.len());
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
    }

    #[test]
    fn check_detects_wrong_answers() {
        let auth = auth();
        let case = &cases()[0];
        let requested = |query| auth.check_request(&http::Method::GET, Some(query)).unwrap();
        let bob = requested("user_id=bob");
        let wrong_user = auth.authorize(bob, SessionUser::LoggedIn("bob".into()));
        assert!(case.check(&Observed::from_http(&wrong_user)).is_err());
        let right = || {
            Observed::from_http(&auth.authorize(
                requested("user_id=alice"),
                SessionUser::LoggedIn("alice".into()),
            ))
        };
        assert!(case.check(&right()).is_ok());
        let mut missing_header = right();
        missing_header.headers.retain(|(k, _)| k != "cache-control");
        assert!(case.check(&missing_header).is_err());
        let mut extra_header = right();
        extra_header
            .headers
            .push(("retry-after".into(), "5".into()));
        assert!(case.check(&extra_header).is_err());
        let mut not_a_token = right();
        not_a_token.body = b"{\"token\":\"x.y.z\"}".to_vec();
        assert!(case.check(&not_a_token).is_err());
    }
}
