//! `beams_core::auth::user_id_from_query` on any string, checked against a reference decoder
//! written from DESIGN.md §2; and the whole route decision (`BeamsAuth::respond`) on it.
#![no_main]

use std::sync::OnceLock;

use beams_core::auth::{AuthRejection, SessionState, user_id_from_query};
use beams_core::{BeamsAuth, BeamsConfig, UserIdError};
use libfuzzer_sys::fuzz_target;

fn model_decode(s: &str) -> Option<Vec<u8>> {
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

fn model(query: &str) -> Result<String, AuthRejection> {
    let values: Vec<&str> = query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (model_decode(k).as_deref() == Some(b"user_id".as_slice())).then_some(v)
        })
        .collect();
    let raw = match values.as_slice() {
        [] => return Err(AuthRejection::MissingUserId),
        [one] => *one,
        _ => return Err(AuthRejection::RepeatedUserId),
    };
    let bytes = model_decode(raw).ok_or(AuthRejection::MalformedUserId)?;
    let s = String::from_utf8(bytes).map_err(|e| {
        AuthRejection::InvalidUserId(UserIdError::NotUtf8(e.utf8_error().valid_up_to()))
    })?;
    match s.len() {
        0 => Err(AuthRejection::InvalidUserId(UserIdError::Empty)),
        n if n > 164 => Err(AuthRejection::InvalidUserId(UserIdError::TooLong(n))),
        _ => Ok(s),
    }
}

fn auth() -> &'static BeamsAuth {
    static AUTH: OnceLock<BeamsAuth> = OnceLock::new();
    AUTH.get_or_init(|| BeamsAuth::new(BeamsConfig::new("instance", "secret").unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let got = user_id_from_query(Some(query)).map(|id| id.into_string());
    assert_eq!(got, model(query), "query {query:?}");
    let status = match &got {
        Ok(id) => {
            let res = auth().respond(Some(query), SessionState::LoggedIn(id));
            assert!(res.body().starts_with("{\"token\":\"ey"));
            res.status()
        }
        Err(_) => auth().respond(Some(query), SessionState::LoggedOut).status(),
    };
    assert!(matches!(status.as_u16(), 200 | 400 | 401), "{status}");
});
