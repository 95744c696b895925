//! Secret hygiene of the `example-actix` binary: run with `RUST_LOG=trace` and a known
//! secret against an emulator, every path exercised, nothing it prints or answers holds the
//! secret, an issued token or a token's signature; and `Debug` of every public type holding
//! the secret is redacted. The logic lives in [`beams_tests::hostile::hygiene`].

use beams_tests::hostile::hygiene::{assert_debug_redacted, secret_hygiene};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_hold_no_secret_and_no_token() {
    secret_hygiene(env!("CARGO_BIN_EXE_example-actix")).await;
}

#[tokio::test]
async fn debug_output_is_redacted() {
    assert_debug_redacted().await;
}
