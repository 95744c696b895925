//! Feature `metrics`: exact counts by label through the tower layer, the publish client
//! against the emulator (and a refused connection), and the webhook receiver and its mounts;
//! and no label value ever holds a user id. Also the spans that join a publish to its
//! delivery reports. Each test records into its own debugging recorder,
//! local to its thread, and runs its async code on a current-thread runtime inside it.

mod client;
mod labels;
mod outbox;
mod route;
mod spans;
mod webhook;

/// A user id that must never appear in a label.
const USER: &str = "zz-distinctive-user-42";

/// Runs `fut` to completion on a current-thread runtime, so that every poll happens on this
/// thread (and is seen by its local recorder).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(fut)
}
