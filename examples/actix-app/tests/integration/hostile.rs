//! The conformance table and the extra hostile requests
//! ([`beams_test_support::hostile`]), then what a hostile-client run found and what keeps it
//! fixed ([`beams_test_support::hardening`]), over real HTTP against the `example-actix`
//! binary. Both apps run the same tests ([`beams_test_support::hostile_suite`]) against the
//! same expectations.

beams_test_support::hostile_suite!("example-actix", env!("CARGO_BIN_EXE_example-actix"));
