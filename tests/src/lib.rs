//! The cross-crate suites' shared code (never published); the suites themselves are this
//! crate's integration tests (`tests/tests/integration/`) and the example apps' own.
//!
//! - [`interop`]: what the interop suite shares: runners for the pinned Node and Python
//!   peers, both example apps started in-process, a raw HTTP client and the query encodings
//!   of the iOS and Android SDKs;
//! - [`process`]: an example binary as a child process, and the headless-Chromium demo run;
//! - [`browser`]: a cookie-keeping client, the demo's login and the auth route's headers;
//! - [`metrics`]: an example binary with `METRICS_ADDR`, its Prometheus text after real
//!   traffic;
//! - [`hostile`]: the hostile-input and secret-hygiene suites both example apps run against
//!   their real binaries, and [`hostile_suite!`] that writes them out as tests;
//! - [`hardening`]: the checks that keep the fixes of a hostile-client run fixed (slow
//!   clients, cross-site posts, oversized forms, session caps, log forging, webhooks);
//! - [`redis`]: a real `redis-server` a test owns (and can pause, kill, restart), from
//!   beams-test-support;
//! - [`replicas`]: two replicas of an app sharing sessions through Redis, and its outages;
//! - [`outbox`]: an app's `/notify` through the durable outbox in a real Redis.

pub mod browser;
pub mod hardening;
pub mod hostile;
pub mod interop;
pub mod metrics;
pub mod outbox;
pub mod process;
pub use beams_test_support::redis;
pub mod replicas;

/// The README's Rust blocks, compiled (`no_run`) so the quick starts keep working.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
