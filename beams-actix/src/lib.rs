//! beams-actix (work in progress).
