//! beams-axum's integration tests, one binary (`cargo test -p beams-axum --test integration`).

mod route;
