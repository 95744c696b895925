//! The conformance table and the extra hostile requests
//! ([`beams_test_support::hostile`]), then what a hostile-client run found and what keeps it
//! fixed ([`beams_test_support::hardening`]), over real HTTP against the `example-axum`
//! binary. Both apps run the same rows and checks against the same expectations.

use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY};
use beams_test_support::hardening;
use beams_test_support::hostile::{assert_report, conformance_rows, run_table};
use beams_test_support::process::AppProcess;

const BINARY: &str = env!("CARGO_BIN_EXE_example-axum");

fn start(extra: &[(&str, &str)]) -> AppProcess {
    let mut vars = vec![
        ("BEAMS_INSTANCE_ID", INSTANCE_ID),
        ("BEAMS_SECRET_KEY", SECRET_KEY),
    ];
    vars.extend_from_slice(extra);
    AppProcess::start(BINARY, &vars, &["BEAMS_ENDPOINT", "REDIS_URL"])
}

#[test]
fn conformance_table_and_hostile_requests_over_http() {
    let mut app = start(&[]);
    let report = run_table(&mut app, conformance_rows());
    assert_report("example-axum", &report);
    app.stop();
}

#[test]
fn idle_and_slow_connections_are_closed() {
    hardening::idle_and_slow_connections_are_closed(&start(&[]));
}

#[test]
fn cross_site_posts_are_refused() {
    hardening::cross_site_posts_are_refused(&start(&[]));
}

#[test]
fn oversized_forms_are_refused() {
    hardening::oversized_forms_are_refused(&start(&[]));
}

#[test]
fn the_session_store_is_capped() {
    hardening::the_session_store_is_capped(&start(&[("SESSION_CAPACITY", "50")]), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_text_cannot_forge_log_lines() {
    hardening::upstream_text_cannot_forge_log_lines(BINARY).await;
}

#[test]
fn webhooks_are_verified_against_independent_signatures() {
    let secret = "app-webhook-secret";
    hardening::webhooks_are_verified(&start(&[("BEAMS_WEBHOOK_SECRET", secret)]), secret);
}
