//! Headless Chromium drives the demo page served by the real `example-axum` binary in
//! emulator mode, end to end. The steps live in `tests/js/demo-e2e.mjs`, the runner in
//! [`beams_tests::process::run_demo_in_chromium`], both shared with the other app.

#[test]
fn demo_page_works_end_to_end_in_chromium() {
    beams_tests::process::run_demo_in_chromium(env!("CARGO_BIN_EXE_example-axum"), "axum");
}

/// The same with `REDIS_URL`: "Notify me" is queued in the outbox, the page follows it until
/// the app's worker has published it, then shows its delivery report.
#[test]
fn demo_page_follows_the_outbox_in_chromium() {
    let redis = beams_tests::redis::RedisServer::start();
    beams_tests::process::run_demo_in_chromium_with(
        env!("CARGO_BIN_EXE_example-axum"),
        "axum-outbox",
        &[("REDIS_URL", &redis.url())],
    );
}
