//! `cargo run -p example-actix`: the actix-web example on `127.0.0.1:$PORT` (default 3001).

use std::io::Write;

use actix_web::HttpServer;
use tracing_subscriber::EnvFilter;

fn main() -> std::io::Result<()> {
    // Logs go to stderr: stdout carries only the `listening on` line.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let port = example_actix::port_from_env().unwrap_or_else(|message| {
        eprintln!("example-actix: {message}");
        std::process::exit(2);
    });
    // Sessions live as long as the process: a fresh cookie key and an empty store on every
    // start, shared by all workers.
    let sessions = example_actix::Sessions::generate();

    actix_web::rt::System::new().block_on(async move {
        let beams = example_support::DemoBeams::from_env_or_emulator()
            .await
            .unwrap_or_else(|message| {
                eprintln!("example-actix: {message}");
                std::process::exit(2);
            });
        eprintln!("example-actix: {}", beams.describe());
        let server = HttpServer::new(move || example_actix::app(beams.clone(), sessions.clone()))
            .bind(("127.0.0.1", port))?;
        let port = server.addrs().first().map_or(port, |addr| addr.port());
        let server = server.run();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://127.0.0.1:{port}")?;
        stdout.flush()?;
        drop(stdout);
        eprintln!("example-actix: open http://127.0.0.1:{port} for the demo");
        server.await
    })
}
