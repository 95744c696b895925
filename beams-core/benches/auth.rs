//! The auth route's whole decision in beams-core, from method, raw query and session to a
//! complete `http::Response` (status, the three headers, JSON body, token): what every adapter
//! runs per request on top of its framework and the host's session extractor.
//!
//! `cargo bench -p beams-core --bench auth`
//!
//! Group `auth_metrics` times the issued decision with no metrics recorder, then with the
//! Prometheus exporter's recorder installed (for this thread), in one run; with feature
//! `metrics` the decision records its outcome and duration (`recordings_alone_…`: those two
//! recordings without the decision):
//! `cargo bench -p beams-core --features metrics --bench auth -- auth_metrics`.
//!
//! `token/issue` and `token/raw_hmac_sha256_prekeyed` (bench `token`) are the token alone.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use beams_core::{BeamsAuth, Instance, SessionUser};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Response};
use metrics_exporter_prometheus::PrometheusBuilder;

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

/// The issued decision without and with a recorder. The recorder is the one
/// `metrics-exporter-prometheus` installs (default settings: durations as summaries), set for
/// this thread around the measured loop, so that the loop itself is the same in both; its
/// upkeep runs every 5 s on another thread, as the exporter's own task would.
fn overhead(c: &mut Criterion) {
    let auth = BeamsAuth::new(&Instance::new(INSTANCE, SECRET).unwrap());
    let user = "user-42@example.com";
    let query = "user_id=user-42%40example.com";
    let logged_in = || SessionUser::LoggedIn(user.to_owned());
    let issued = || {
        let response = respond(&auth, black_box(query), logged_in());
        assert_eq!(response.status(), 200);
        black_box(response)
    };

    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let done = Arc::new(AtomicBool::new(false));
    let upkeep = std::thread::spawn({
        let done = Arc::clone(&done);
        move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::park_timeout(Duration::from_secs(5));
                handle.run_upkeep();
            }
        }
    });

    let mut group = c.benchmark_group("auth_metrics");
    group.bench_function("issued_no_recorder", |b| b.iter(issued));
    group.bench_function("issued_prometheus_recorder", |b| {
        metrics::with_local_recorder(&recorder, || b.iter(issued));
    });
    // The part of the difference that is the recorder's: the two recordings an issued
    // decision makes (its counter and its duration), through the facade, nothing else.
    group.bench_function("recordings_alone_prometheus_recorder", |b| {
        metrics::with_local_recorder(&recorder, || {
            b.iter(|| {
                metrics::counter!("beams_auth_requests_total", "outcome" => "issued").increment(1);
                metrics::histogram!("beams_auth_duration_seconds").record(black_box(0.000_5));
            });
        });
    });
    group.finish();

    done.store(true, Ordering::Relaxed);
    upkeep.thread().unpark();
    upkeep.join().unwrap();
    // What the recorder saw, so that a run shows whether the decision recorded at all.
    let text = recorder.handle().render();
    let recorded = text.lines().filter(|l| l.starts_with("beams_auth")).count();
    eprintln!("auth_metrics: {recorded} beams_auth_* line(s) in the recorder's Prometheus text");
}

criterion_group!(benches, bench, overhead);
criterion_main!(benches);
