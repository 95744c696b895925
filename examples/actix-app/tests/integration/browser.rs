//! Headless Chromium drives the demo page served by the real `example-actix` binary in
//! emulator mode, end to end. The steps live in `tests/js/demo-e2e.mjs`, the runner in
//! [`beams_tests::process::run_demo_in_chromium`], both shared with the other app.

#[test]
fn demo_page_works_end_to_end_in_chromium() {
    beams_tests::process::run_demo_in_chromium(env!("CARGO_BIN_EXE_example-actix"), "actix");
}
