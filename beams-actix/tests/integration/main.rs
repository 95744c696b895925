//! beams-actix's integration tests, one binary (`cargo test -p beams-actix --test integration`).

mod conformance;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "metrics")]
mod sessions;
