//! `cargo run -p example-axum`: the example app on `127.0.0.1:$PORT` (default 3000).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    example_support::init_tracing();
    let settings = match example_support::Settings::from_env(example_axum::DEFAULT_PORT) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("example-axum: {error}");
            return ExitCode::from(2);
        }
    };
    match example_axum::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("example-axum: {error}");
            ExitCode::from(2)
        }
    }
}
