//! beams-axum (work in progress).
