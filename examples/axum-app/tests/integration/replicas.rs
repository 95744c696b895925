//! Two replicas of the real `example-axum` binary sharing sessions through a real
//! `redis-server`, and the app while that Redis is paused, killed and back
//! ([`beams_tests::replicas`]).

use beams_tests::replicas;

const BINARY: &str = env!("CARGO_BIN_EXE_example-axum");

#[test]
fn sessions_are_shared_by_replicas() {
    replicas::sessions_are_shared(BINARY);
}

#[test]
fn an_unavailable_session_store_is_not_logged_out() {
    replicas::an_unavailable_store_is_not_logged_out(BINARY);
}
