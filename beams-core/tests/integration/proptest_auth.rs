//! Property tests of the auth route's inputs: query decoding (RFC 3986, `+` kept literal) and `UserId`'s byte
//! rules, each against a small independent model.
//!
//! 256 cases per property (a few seconds in all). Run with
//! `cargo test -p beams-core --test integration proptest_auth`; `PROPTEST_CASES=10000` for a longer run.

use beams_core::{
    AuthRejection, AuthRequest, BeamsAuth, Instance, SessionUser, UserId, UserIdError,
};
use beams_test_support::conformance::reference_user_id;
use http::{Method, Response};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

use crate::proptest_config as config;

/// What JavaScript's `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// A lax, iOS-like query encoder: only what would break the query's structure (or is not
/// printable ASCII) is escaped; `+ = @ / ? : ; , $ ! ' ( ) *` stay raw.
const LAX_QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Any valid user id: 1–164 bytes of UTF-8, biased towards the characters that matter
/// (`+`, `%`, `&`, `=`, spaces, controls, multi-byte characters).
fn user_id() -> impl Strategy<Value = String> {
    let interesting = prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select(vec!['+', '%', '&', '=', ' ', '#', '?', '/', '\0', '\n', 'é', '😀', 'a', 'Z', '0']),
    ];
    prop::collection::vec(interesting, 1..80)
        .prop_map(|chars| {
            let mut s = String::new();
            for c in chars {
                if s.len() + c.len_utf8() > 164 {
                    break;
                }
                s.push(c);
            }
            s
        })
        .prop_filter("non-empty", |s| !s.is_empty())
}

/// Other query parameters a client may add (never a key that decodes to `user_id`).
fn other_param() -> impl Strategy<Value = String> {
    ("[a-z]{1,8}", "[A-Za-z0-9%+=._~-]{0,12}")
        .prop_filter("not user_id", |(k, _)| k != "user_id")
        .prop_map(|(k, v)| format!("{k}={v}"))
}

/// Strings made mostly of query syntax, so that the decoder's edge cases come up often.
fn query_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("user_id".to_owned()),
        Just("user%5Fid".to_owned()),
        Just("%75ser_id".to_owned()),
        Just("=".to_owned()),
        Just("&".to_owned()),
        Just("%".to_owned()),
        Just("+".to_owned()),
        "%[0-9A-Fa-fG-Zg-z]{0,2}",
        "[a-z]{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

fn auth() -> BeamsAuth {
    BeamsAuth::new(&Instance::new("1b880590-6301-4bb5-b34f-45db1c5f5644", "secret").unwrap())
}

/// Phase 1 of the route on a GET: the decoded `user_id` or the rejection.
fn user_id_from_query(query: Option<&str>) -> Result<UserId, AuthRejection> {
    auth()
        .check_request(&Method::GET, query)
        .map(AuthRequest::into_user)
}

/// Both phases of a GET, as an adapter runs them.
fn respond(query: Option<&str>, session: SessionUser) -> Response<String> {
    let auth = auth();
    match auth.check_request(&Method::GET, query) {
        Ok(requested) => auth.authorize(requested, session),
        Err(rejection) => rejection.to_response(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// encodeURIComponent-encoded ids round-trip, wherever `user_id` sits among other
    /// parameters.
    #[test]
    fn encode_uri_component_round_trips(
        id in user_id(),
        before in prop::collection::vec(other_param(), 0..3),
        after in prop::collection::vec(other_param(), 0..3),
    ) {
        let mut pairs = before;
        pairs.push(format!("user_id={}", utf8_percent_encode(&id, URI_COMPONENT)));
        pairs.extend(after);
        let query = pairs.join("&");
        let got = user_id_from_query(Some(&query)).map(UserId::into_string);
        prop_assert_eq!(got, Ok(id), "query {:?}", query);
    }

    /// `+` (and the other sub-delimiters iOS leaves unescaped) arrive as themselves.
    #[test]
    fn raw_plus_round_trips(id in user_id()) {
        let query = format!("user_id={}", utf8_percent_encode(&id, LAX_QUERY));
        let got = user_id_from_query(Some(&query)).map(UserId::into_string);
        prop_assert_eq!(got, Ok(id), "query {:?}", query);
    }

    /// A `+` is never a space: an id with `+` never decodes to the same id with spaces.
    #[test]
    fn plus_is_never_a_space(a in "[a-z]{1,20}", b in "[a-z]{1,20}") {
        let query = format!("user_id={a}+{b}");
        let got = user_id_from_query(Some(&query)).unwrap();
        prop_assert_eq!(got.as_str(), format!("{a}+{b}"));
    }

    /// Any query at all: no panic, and exactly the model's answer.
    #[test]
    fn arbitrary_queries_match_the_model(query in prop_oneof![any::<String>(), query_like()]) {
        prop_assert_eq!(
            user_id_from_query(Some(&query)).map(UserId::into_string),
            reference_user_id(Some(&query)),
            "query {:?}", query
        );
    }

    /// `user_id` present twice (in any spelling of the key, with any values, valid or not)
    /// is a 400 `RepeatedUserId`, whatever the session.
    #[test]
    fn repeated_is_400(
        k1 in prop::sample::select(vec!["user_id", "user%5Fid", "user%5fid", "%75ser_id", "%75%73%65%72%5F%69%64"]),
        k2 in prop::sample::select(vec!["user_id", "user%5Fid", "%75ser_id"]),
        v1 in query_like().prop_map(|v| v.replace('&', "")),
        v2 in query_like().prop_map(|v| v.replace('&', "")),
        others in prop::collection::vec(other_param(), 0..3),
        logged_in in any::<bool>(),
    ) {
        let mut pairs = others;
        pairs.insert(0, format!("{k1}={v1}"));
        pairs.push(format!("{k2}={v2}"));
        let query = pairs.join("&");
        prop_assert_eq!(user_id_from_query(Some(&query)), Err(AuthRejection::RepeatedUserId));
        let session = if logged_in { SessionUser::LoggedIn(v1.clone()) } else { SessionUser::LoggedOut };
        let res = respond(Some(&query), session);
        prop_assert_eq!(res.status(), 400);
        prop_assert!(res.body().contains("exactly once"));
    }

    /// The whole route on any query and session: only 200/400/401, always the three headers
    /// and a JSON body; 200 exactly when the decoded id is the session's user.
    #[test]
    fn respond_is_total(
        query in prop_oneof![any::<String>(), query_like()],
        session_user in prop_oneof![Just(None), user_id().prop_map(Some)],
    ) {
        let res = respond(Some(&query), SessionUser::from(session_user.clone()));
        let expected = match (reference_user_id(Some(&query)), session_user.as_deref()) {
            (Err(_), _) => 400,
            (Ok(id), Some(user)) if id == user => 200,
            (Ok(_), _) => 401,
        };
        prop_assert_eq!(res.status().as_u16(), expected);
        prop_assert_eq!(&res.headers()["content-type"], "application/json");
        prop_assert_eq!(&res.headers()["cache-control"], "no-store");
        prop_assert_eq!(&res.headers()["x-content-type-options"], "nosniff");
        let body: serde_json::Value = serde_json::from_str(res.body()).unwrap();
        if expected == 200 {
            prop_assert!(body["token"].is_string());
        } else {
            prop_assert!(body["error"].is_string() && body["description"].is_string());
        }
    }

    /// `UserId::from_bytes` against the byte model: UTF-8 first, then 1–164 bytes.
    #[test]
    fn user_id_from_bytes_matches_the_model(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        user_id().prop_map(String::into_bytes),
        "[aé😀]{150,170}".prop_map(String::into_bytes),
    ]) {
        let expected = match std::str::from_utf8(&bytes) {
            Err(e) => Err(UserIdError::NotUtf8(e.valid_up_to())),
            Ok("") => Err(UserIdError::Empty),
            Ok(s) if s.len() > 164 => Err(UserIdError::TooLong(s.len())),
            Ok(s) => Ok(s.to_owned()),
        };
        prop_assert_eq!(UserId::from_bytes(&bytes).map(UserId::into_string), expected);
    }

    /// `UserId::new` counts bytes, not characters: the limit falls inside multi-byte runs.
    #[test]
    fn user_id_counts_bytes(s in prop_oneof![
        ".{0,100}",
        "[a-z]{160,170}",
        "é{80,84}",
        "😀{39,43}",
        "[aé😀]{40,120}",
    ]) {
        let ok = (1..=164).contains(&s.len());
        prop_assert_eq!(UserId::new(s.as_str()).is_ok(), ok, "{} bytes", s.len());
        prop_assert_eq!(UserId::validate(&s).is_ok(), ok);
        if let Ok(id) = UserId::new(s.as_str()) {
            prop_assert_eq!(id.as_str(), s.as_str());
            // Serde goes through the same rules.
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        } else {
            let json = serde_json::to_string(&s).unwrap();
            prop_assert!(serde_json::from_str::<UserId>(&json).is_err());
        }
    }
}
