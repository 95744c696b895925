//! Cross-crate tests live in `tests/tests/`.
//!
//! [`interop`] holds what the interop suite (`tests/tests/interop_*.rs`) shares: runners for
//! the pinned Node and Python peers, both example apps started in-process, a raw HTTP client
//! and the query encodings of the iOS and Android SDKs.

pub mod interop;

/// The README's Rust blocks, compiled (`no_run`) so the quick starts keep working.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
