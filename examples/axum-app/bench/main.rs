//! The benchmark's build of example-axum (bench/load.sh): the same app on the same server,
//! plus `GET /bench/bare`, the same session extractor without the Beams route's work.

use example_support::axum::AppStore;
use example_support::{Demo, Error, bench};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let demo = Demo::start(example_axum::DEFAULT_PORT).await?;
    let bare = bench::axum_routes(&demo.beams.auth);
    let routes = example_axum::routes(demo.beams.clone()).merge(bare);
    let store = AppStore::from_settings(&demo.settings).await?;
    demo.serve(routes.layer(example_axum::sessions(store)))
        .await
}
