//! The machinery of the `example-axum` and `example-actix` demo apps, so that the apps' own
//! code is only what a user copies: routes, handlers and a short `main`.
//!
//! - [`settings`]: what the apps read from the environment (`PORT`, `REDIS_URL`,
//!   `SESSION_CAPACITY`, `REQUEST_TIMEOUT_SECS`, `METRICS_ADDR`, `OUTBOX_CLAIM_IDLE_SECS`,
//!   `OUTBOX_MAX_AGE_SECS`), logging, the start-up [`Error`].
//! - [`beams`]: the Beams instance from `BEAMS_*`, or an embedded [`beams_emulator`]; the
//!   publish client, the outbox (with `REDIS_URL`), the webhook receiver, the demo page.
//! - [`reports`]: what Beams' webhooks said, for the demo page.
//! - [`api`]: what both apps' routes share: forms, the session key, the cross-site check, the
//!   error answers.
//! - [`server`]: start-up, the Prometheus exporter (`METRICS_ADDR`), the hardened server
//!   (header-read timeout, connection cap, request deadline) and the outbox worker stopped
//!   with it.
//! - `axum`, `actix` (features of the same names): each framework's session stores and
//!   middleware.
//! - `bench` (feature): the benchmark's bare route.
#![warn(missing_docs)]

pub mod api;
pub mod beams;
#[cfg(feature = "bench")]
pub mod bench;
pub mod reports;
pub mod server;
pub mod settings;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;

pub use beams::{DEMO_PAGE, DemoBeams, notification};
pub use reports::{DeliveryReport, DeliveryReports};
pub use server::Demo;
pub use settings::{Error, Settings, env_var, init_tracing};
