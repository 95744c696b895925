//! beams-core's integration tests, one binary (`cargo test -p beams-core --test integration`).
//! Modules that need a feature say so with their own `#![cfg(feature = …)]`, so the default
//! build runs what a user builds and `--all-features` runs every one.

mod conformance;
mod proptest_auth;
mod proptest_publish;
mod proptest_token;
mod publish;
mod publish_fake;
mod webhook_layer;
