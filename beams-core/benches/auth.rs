//! The auth route's whole decision in beams-core, from raw query and session to a complete
//! `http::Response` (status, the three headers, JSON body, token): what every adapter runs per
//! request on top of its framework and the host's session extractor.
//!
//! `cargo bench -p beams-core --bench auth`
//!
//! `token/issue` and `token/raw_hmac_sha256_prekeyed` (bench `token`) are the token alone.

use std::hint::black_box;

use beams_core::auth::SessionState;
use beams_core::{BeamsAuth, BeamsConfig};
use criterion::{Criterion, criterion_group, criterion_main};

const INSTANCE: &str = "1b880590-6301-4bb5-b34f-45db1c5f5644";
const SECRET: &str = "F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE";

fn bench(c: &mut Criterion) {
    let auth = BeamsAuth::new(BeamsConfig::new(INSTANCE, SECRET).unwrap());
    let user = "user-42@example.com";
    let query = "user_id=user-42%40example.com";

    let mut group = c.benchmark_group("auth_decision");
    // 200 {"token":"…"}: query decoding, comparison, token, response with headers.
    group.bench_function("issued", |b| {
        b.iter(|| black_box(auth.respond(black_box(Some(query)), SessionState::LoggedIn(user))))
    });
    // The same in the adapters' two phases (query first, then the session).
    group.bench_function("issued_two_phases", |b| {
        b.iter(|| {
            let requested = auth.requested_user(black_box(Some(query))).unwrap();
            black_box(auth.authorize(&requested, SessionState::LoggedIn(user)))
        })
    });
    group.bench_function("mismatch_401", |b| {
        b.iter(|| {
            black_box(auth.respond(
                black_box(Some("user_id=bob")),
                SessionState::LoggedIn("alice"),
            ))
        })
    });
    group.bench_function("not_logged_in_401", |b| {
        b.iter(|| black_box(auth.respond(black_box(Some(query)), SessionState::LoggedOut)))
    });
    group.bench_function("malformed_400", |b| {
        b.iter(|| black_box(auth.respond(black_box(Some("user_id=%ZZ")), SessionState::LoggedOut)))
    });
    // Phase 1 alone: the query decoding and user-id validation.
    group.bench_function("requested_user", |b| {
        b.iter(|| black_box(auth.requested_user(black_box(Some(query)))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
