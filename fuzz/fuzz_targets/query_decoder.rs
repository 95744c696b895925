//! The auth route's query decoding (`BeamsAuth::check_request`) on any string, checked against
//! an independent reference decoder; and the whole route decision on it.
#![no_main]

use std::sync::OnceLock;

use beams_core::{BeamsAuth, Instance, SessionUser};
use beams_test_support::conformance::reference_user_id;
use http::Method;
use libfuzzer_sys::fuzz_target;

fn auth() -> &'static BeamsAuth {
    static AUTH: OnceLock<BeamsAuth> = OnceLock::new();
    AUTH.get_or_init(|| BeamsAuth::new(&Instance::new("instance", "secret").unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let checked = auth().check_request(&Method::GET, Some(query));
    let got = checked
        .as_ref()
        .map(|id| id.user().as_str().to_owned())
        .map_err(Clone::clone);
    assert_eq!(got, reference_user_id(Some(query)), "query {query:?}");
    let res = match checked {
        Ok(id) => {
            let user = id.user().as_str().to_owned();
            let res = auth().authorize(id, SessionUser::LoggedIn(user));
            assert!(res.body().starts_with("{\"token\":\"ey"));
            res
        }
        Err(rejection) => rejection.to_response(),
    };
    assert!(matches!(res.status().as_u16(), 200 | 400), "{}", res.status());
});
