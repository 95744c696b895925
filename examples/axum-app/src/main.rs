//! `cargo run -p example-axum`: the example app on `127.0.0.1:$PORT` (default 3000).

use std::process::ExitCode;

use beams_axum::BeamsAuth;

#[tokio::main]
async fn main() -> ExitCode {
    example_axum::init_tracing();
    let setup = example_axum::beams_config_from_env_or_default()
        .and_then(|config| Ok((config, example_axum::port_from_env()?)));
    let (config, port) = match setup {
        Ok(setup) => setup,
        Err(error) => {
            eprintln!("example-axum: {error}");
            return ExitCode::from(2);
        }
    };
    match example_axum::run(BeamsAuth::new(config), port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("example-axum: {error}");
            ExitCode::FAILURE
        }
    }
}
