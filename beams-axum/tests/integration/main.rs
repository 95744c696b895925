//! beams-axum's integration tests, one binary (`cargo test -p beams-axum --test integration`).

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "metrics")]
mod route;
