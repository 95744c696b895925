//! The emulator's integration tests, one binary: `cargo test -p beams-emulator --all-features`
//! (one module: `cargo test -p beams-emulator --all-features --test it webhooks::`).

#[cfg(feature = "cli")]
mod binary;
mod common;
mod device_api;
mod hardening;
mod node_sdk;
mod proptest_jwt;
mod publish_api;
mod serve;
mod webhooks;
