//! `cargo run -p example-actix`: the actix-web example on `127.0.0.1:$PORT` (default 3001).

use std::io::Write;

use actix_web::HttpServer;
use actix_web::middleware::from_fn;

fn main() -> std::io::Result<()> {
    example_support::init_tracing();
    let fail = |message: String| -> ! {
        eprintln!("example-actix: {message}");
        std::process::exit(2);
    };
    let settings = example_support::Settings::from_env(example_actix::DEFAULT_PORT)
        .unwrap_or_else(|e| fail(e));
    let session_key = example_actix::session_key_from_env().unwrap_or_else(|e| fail(e));

    actix_web::rt::System::new().block_on(async move {
        let listener = std::net::TcpListener::bind(("127.0.0.1", settings.port))?;
        let port = listener.local_addr()?.port();
        let origin = format!("http://127.0.0.1:{port}");
        let beams = example_support::DemoBeams::from_env_or_emulator(&origin, &settings)
            .await
            .unwrap_or_else(|e| fail(e));
        eprintln!("example-actix: {}", beams.describe());
        // Shared by all workers: the cookie key and the store the cookie points into.
        let sessions = example_actix::Sessions::from_settings(&settings, session_key)
            .await
            .unwrap_or_else(|e| fail(e));
        // actix-web closes a connection whose request head takes longer than 5 s (408) and
        // an idle kept-alive one after 5 s; `deadline` bounds the rest of a request
        // (REQUEST_TIMEOUT_SECS, default 30 s). Stated here so a reader sees the bounds.
        let limit = settings.request_timeout;
        let server = HttpServer::new(move || {
            example_actix::app(beams.clone(), sessions.clone()).wrap(from_fn(move |req, next| {
                example_actix::deadline(limit, req, next)
            }))
        })
        .client_request_timeout(std::time::Duration::from_secs(5))
        .keep_alive(std::time::Duration::from_secs(5))
        .max_connections(1024)
        .listen(listener)?
        .run();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {origin}")?;
        stdout.flush()?;
        drop(stdout);
        eprintln!("example-actix: open {origin} for the demo");
        server.await
    })
}
