//! `cargo run -p example-actix`: the demo app on `127.0.0.1:$PORT` (default 3001).

use actix_web::HttpServer;
use actix_web::middleware::from_fn;
use example_support::actix::{Sessions, deadline};
use example_support::{Demo, Error};

#[actix_web::main]
async fn main() -> Result<(), Error> {
    // The settings, the port, and Beams: the instance in `BEAMS_*`, or an embedded emulator.
    let demo = Demo::start(example_actix::DEFAULT_PORT).await?;
    // Shared by all workers: the cookie key (`SESSION_KEY`) and the store the cookie points
    // into (Redis with `REDIS_URL`, else memory, at most `SESSION_CAPACITY`).
    let sessions = Sessions::from_settings(&demo.settings).await?;
    let (beams, limit) = (demo.beams.clone(), demo.settings.request_timeout);
    let server = HttpServer::new(move || {
        example_actix::app(beams.clone(), sessions.clone())
            // A request, its body included, gets `REQUEST_TIMEOUT_SECS`, then `408`.
            .wrap(from_fn(move |req, next| deadline(limit, req, next)))
    });
    // Listens with a header-read timeout and a connection cap; until Ctrl-C or SIGTERM.
    demo.run(server).await
}
