//! The real `example-axum` binary with `REDIS_URL`: `/notify` through the durable outbox
//! against a real `redis-server`, its worker, and Redis frozen; and the app in-process with the
//! outbox's Redis frozen at enqueue ([`beams_tests::outbox`]).

use beams_tests::interop::apps::Framework;
use beams_tests::outbox;

const BINARY: &str = env!("CARGO_BIN_EXE_example-axum");

#[tokio::test]
async fn notify_goes_through_the_outbox() {
    outbox::notify_goes_through_the_outbox(BINARY).await;
}

#[tokio::test]
async fn a_frozen_redis_is_never_accepted() {
    outbox::a_frozen_redis_is_never_accepted(BINARY).await;
}

#[tokio::test]
async fn an_unavailable_outbox_answers_503() {
    outbox::an_unavailable_outbox_answers_503(Framework::Axum).await;
}
