//! `beams_core::auth::user_id_from_query` on any string, checked against a reference decoder
//! written from DESIGN.md §2; and the whole route decision (`BeamsAuth::respond`) on it.
#![no_main]

use std::sync::OnceLock;

use beams_core::auth::{AuthRejection, SessionState, user_id_from_query};
use beams_core::test_util::reference_user_id;
use beams_core::{BeamsAuth, BeamsConfig};
use libfuzzer_sys::fuzz_target;

fn auth() -> &'static BeamsAuth {
    static AUTH: OnceLock<BeamsAuth> = OnceLock::new();
    AUTH.get_or_init(|| BeamsAuth::new(BeamsConfig::new("instance", "secret").unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let got = user_id_from_query(Some(query)).map(|id| id.into_string());
    assert_eq!(got, reference_user_id(Some(query)), "query {query:?}");
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
