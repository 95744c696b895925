//! Test code shared by beams-rs's crates, examples and suites (never published):
//!
//! - [`conformance`]: the auth route's conformance table, replayed by beams-core's tower
//!   layer, both adapters and both example apps, and the checks of an observed response;
//! - [`hardening`]: the checks that keep the fixes of a hostile-client run fixed (slow
//!   clients, cross-site posts, oversized forms, session caps, log forging);
//! - [`hostile`]: the hostile-input and secret-hygiene harness both example apps run
//!   against their real binaries;
//! - [`independent`]: webhook signatures by Python's `hmac` and Node's `crypto`;
//! - [`process`]: an example binary as a child process, and the headless-Chromium demo run;
//! - [`redis`]: a real `redis-server` a test owns (and can pause, kill, restart);
//! - [`replicas`]: two replicas of an app sharing sessions through Redis, and its outages.
#![warn(missing_docs)]

pub mod conformance;
pub mod hardening;
pub mod hostile;
pub mod independent;
pub mod process;
pub mod redis;
pub mod replicas;
