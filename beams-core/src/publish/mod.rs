//! The publish client (being written).
