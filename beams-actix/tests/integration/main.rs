//! beams-actix's integration tests, one binary (`cargo test -p beams-actix --test integration`).

mod conformance;
mod sessions;
