//! The real `example-axum` binary with `METRICS_ADDR`: Prometheus text on that address after
//! real traffic, never on the app's own port.

use beams_tests::metrics;

const BINARY: &str = env!("CARGO_BIN_EXE_example-axum");

#[tokio::test]
async fn metrics_addr_serves_prometheus_text_after_real_traffic() {
    metrics::serves_metrics_after_real_traffic(BINARY).await;
}

#[test]
fn a_bad_metrics_addr_is_named() {
    metrics::a_bad_metrics_addr_is_named(BINARY);
}

#[test]
fn metrics_never_share_the_apps_port() {
    metrics::metrics_never_share_the_apps_port(BINARY);
}
