//! beams-core's conformance table and the extra hostile requests
//! ([`example_support::hostile`]), over real HTTP against the `example-axum` binary: the
//! table's exact answers, no 5xx, no panic, still alive and answering afterwards. Both apps
//! run the same rows against the same expectations, so their answers are identical row for
//! row. The logic lives in `examples/support/src/hostile.rs`.

use beams_test_support::conformance::{INSTANCE_ID, SECRET_KEY};
use beams_test_support::hostile::{assert_report, run_table};
use beams_test_support::process::AppProcess;

#[test]
fn conformance_table_and_hostile_requests_over_http() {
    let mut app = AppProcess::start(
        env!("CARGO_BIN_EXE_example-axum"),
        &[
            ("BEAMS_INSTANCE_ID", INSTANCE_ID),
            ("BEAMS_SECRET_KEY", SECRET_KEY),
        ],
        &["BEAMS_ENDPOINT"],
    );
    let report = run_table(&mut app, beams_test_support::hostile::conformance_rows());
    assert_report("example-axum", &report);
    app.stop();
}
