//! The auth route's whole decision in beams-core, from method, raw query and session to a
//! complete `http::Response` (status, the three headers, JSON body, token): what every adapter
//! runs per request on top of its framework and the host's session extractor.
//!
//! `cargo bench -p beams-core --bench auth`
//!
//! `token/issue` and `token/raw_hmac_sha256_prekeyed` (bench `token`) are the token alone.

use std::hint::black_box;

use beams_core::{BeamsAuth, Instance, SessionUser};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Response};

const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

/// Both phases, as an adapter runs them.
fn respond(auth: &BeamsAuth, query: &str, session: SessionUser) -> Response<String> {
    match auth.check_request(&Method::GET, Some(query)) {
        Ok(requested) => auth.authorize(requested, session),
        Err(rejection) => rejection.to_response(),
    }
}

fn bench(c: &mut Criterion) {
    let auth = BeamsAuth::new(&Instance::new(INSTANCE, SECRET).unwrap());
    let user = "user-42@example.com";
    let query = "user_id=user-42%40example.com";
    let logged_in = || SessionUser::LoggedIn(user.to_owned());

    let mut group = c.benchmark_group("auth_decision");
    // 200 {"token":"…"}: query decoding, comparison, token, response with headers (the
    // session's user is a `String` the host's hook returns).
    group.bench_function("issued", |b| {
        b.iter(|| black_box(respond(&auth, black_box(query), logged_in())))
    });
    group.bench_function("mismatch_401", |b| {
        b.iter(|| {
            black_box(respond(
                &auth,
                black_box("user_id=bob"),
                SessionUser::LoggedIn("alice".to_owned()),
            ))
        })
    });
    group.bench_function("not_logged_in_401", |b| {
        b.iter(|| black_box(respond(&auth, black_box(query), SessionUser::LoggedOut)))
    });
    group.bench_function("malformed_400", |b| {
        b.iter(|| {
            black_box(respond(
                &auth,
                black_box("user_id=%ZZ"),
                SessionUser::LoggedOut,
            ))
        })
    });
    // Phase 1 alone: the method, the query decoding and user-id validation.
    group.bench_function("check_request", |b| {
        b.iter(|| black_box(auth.check_request(&Method::GET, black_box(Some(query)))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
