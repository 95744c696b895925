//! The light test code beams-rs's library crates dev-depend on (never published). It needs
//! beams-core, `http` and a few small pure crates only, so that `cargo test -p beams-core`
//! builds what a user builds:
//!
//! - [`conformance`]: the auth route's conformance table, replayed by beams-core's tower
//!   layer, both adapters and both example apps, and the checks of an observed response;
//! - [`independent`]: webhook signatures by Python's `hmac` and Node's `crypto`;
//! - [`hardening`]: the slow-client probes (a connection closed in time, a slow body cut
//!   off) shared by the emulator's and the example apps' hardening checks;
//! - [`redis`]: a real `redis-server` process a test owns (std only: no Redis client).
//!
//! The heavy harnesses (app processes, the hostile-input suite, replicas) live in the
//! `beams-tests` crate beside the suites that use them.
#![warn(missing_docs)]

pub mod conformance;
pub mod hardening;
pub mod independent;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod redis;
