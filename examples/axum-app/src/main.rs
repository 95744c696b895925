//! `cargo run -p example-axum`: the example app on `127.0.0.1:$PORT` (default 3000).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    example_axum::init_tracing();
    let port = match example_axum::port_from_env() {
        Ok(port) => port,
        Err(error) => {
            eprintln!("example-axum: {error}");
            return ExitCode::from(2);
        }
    };
    let beams = match example_support::DemoBeams::from_env_or_emulator().await {
        Ok(beams) => beams,
        Err(error) => {
            eprintln!("example-axum: {error}");
            return ExitCode::from(2);
        }
    };
    match example_axum::run(beams, port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("example-axum: {error}");
            ExitCode::FAILURE
        }
    }
}
