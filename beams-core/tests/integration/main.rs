//! beams-core's integration tests, one binary (`cargo test -p beams-core --test integration`).
//! Modules that need a feature say so with their own `#![cfg(feature = …)]`, so the default
//! build runs what a user builds and `--all-features` runs every one.

mod conformance;
mod outbox_cli;
mod proptest_auth;
mod proptest_publish;
mod proptest_token;
mod publish;
mod publish_fake;
mod webhook_layer;

/// The property tests' settings: 256 cases (a second or so), `PROPTEST_CASES=N` for longer
/// runs. Failures print the minimal input; nothing is written into the source tree.
fn proptest_config() -> proptest::test_runner::Config {
    let defaults = proptest::test_runner::Config::default();
    proptest::test_runner::Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            defaults.cases
        } else {
            256
        },
        failure_persistence: None,
        ..defaults
    }
}
