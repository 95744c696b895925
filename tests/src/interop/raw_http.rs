//! A GET request written to the socket byte for byte as given (no URL parser re-encodes the
//! request target). The client is the hostile-input suite's raw HTTP/1.1 client
//! ([`crate::hostile::client`]), run off the async runtime because the apps under test share it.

pub use crate::hostile::client::RawResponse;
use crate::hostile::client::{Outcome, request, send_raw};

/// Sends `GET {target} HTTP/1.1` to `base` (`http://host:port`) with `headers` and
/// `Connection: close`, and reads the whole answer; panics when none comes.
pub async fn get(base: &str, target: &str, headers: &[(&str, &str)]) -> RawResponse {
    let addr = base
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{base} is not an http:// base URL"))
        .trim_end_matches('/')
        .to_owned();
    let lines: Vec<Vec<u8>> = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}").into_bytes())
        .collect();
    let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let raw = request("GET", target.as_bytes(), &addr, &lines, b"");
    let outcome = tokio::task::spawn_blocking(move || send_raw(&addr, &raw, false))
        .await
        .expect("the raw client does not panic");
    match outcome {
        Outcome::Response(response) => response,
        Outcome::Closed(why) => panic!("no complete answer to GET {target}: {why}"),
    }
}
