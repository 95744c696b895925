//! `cargo run -p example-axum`: the demo app on `127.0.0.1:$PORT` (default 3000).

use example_support::axum::AppStore;
use example_support::{Demo, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The settings, the port, and Beams: the instance in `BEAMS_*`, or an embedded emulator.
    let demo = Demo::start(example_axum::DEFAULT_PORT).await?;
    // Sessions in Redis with `REDIS_URL`, else in memory (at most `SESSION_CAPACITY`).
    let store = AppStore::from_settings(&demo.settings).await?;
    let app = example_axum::app(demo.beams.clone(), store);
    // As `axum::serve(listener, app)`, with a header-read timeout, a connection cap and a
    // deadline on every request (`REQUEST_TIMEOUT_SECS`); until Ctrl-C or SIGTERM.
    demo.serve(app).await
}
