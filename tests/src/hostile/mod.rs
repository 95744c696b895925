//! The hostile-input and secret-hygiene suites that both example apps run against their real
//! binaries ([`AppProcess`](crate::process::AppProcess)), one module per job:
//!
//! - [`client`]: a raw HTTP/1.1 client that sends exactly the bytes it is given;
//! - [`table`]: the conformance table over real HTTP, with [`requests`], run and reported;
//! - [`requests`]: the extra hostile requests and what each must get;
//! - [`hygiene`]: secrets and tokens never printed nor answered, `Debug` redacted.
//!
//! Everything is framework-neutral, so both apps' tests share one copy of the logic and their
//! answers are held to the same expectations row for row.

pub mod client;
pub mod hygiene;
pub mod requests;
pub mod table;
