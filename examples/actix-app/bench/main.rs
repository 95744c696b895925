//! The benchmark's build of example-actix (bench/load.sh): the same app on the same server,
//! plus `GET /bench/bare`, the same session extractor without the Beams route's work.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use example_support::actix::{Sessions, deadline};
use example_support::{Demo, Error, bench};

#[actix_web::main]
async fn main() -> Result<(), Error> {
    let demo = Demo::start(example_actix::DEFAULT_PORT).await?;
    let sessions = Sessions::from_settings(&demo.settings).await?;
    let beams = demo.beams.clone();
    let limit = demo.settings.request_timeout;
    let server = HttpServer::new(move || {
        App::new()
            .configure(example_actix::routes(beams.clone()))
            // After every other route.
            .configure(bench::actix_routes(&beams.auth))
            .wrap(sessions.middleware())
            .wrap(from_fn(move |req, next| deadline(limit, req, next)))
    });
    demo.run(server).await
}
