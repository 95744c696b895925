//! The conformance table and the extra hostile requests
//! ([`beams_tests::hostile`]), then what a hostile-client run found and what keeps it
//! fixed ([`beams_tests::hardening`]), over real HTTP against the `example-axum`
//! binary. Both apps run the same tests ([`beams_tests::hostile_suite`]) against the
//! same expectations.

beams_tests::hostile_suite!("example-axum", env!("CARGO_BIN_EXE_example-axum"));
