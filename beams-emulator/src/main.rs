//! `beams-emulator`: run a local Pusher Beams-compatible server.
//!
//! ```text
//! cargo run -p beams-emulator --features cli -- --port 8085 --instance-id my-instance --secret-key MYSECRET
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use beams_emulator::{Emulator, EmulatorBuilder, WebhookTarget};

const USAGE: &str = "\
Usage: beams-emulator [OPTIONS]

A local, in-memory Pusher Beams-compatible server for development and tests.

Options:
  -p, --port <PORT>          Port to listen on (default: a free port, printed at start)
      --host <ADDR>          Address to listen on (default: 127.0.0.1)
      --instance-id <ID>     Instance id to serve (env BEAMS_INSTANCE_ID; default: a new UUID)
      --secret-key <KEY>     Secret key (env BEAMS_SECRET_KEY; default: generated and printed)
      --rate-limit <RPS>     Answer 429 beyond RPS requests/s on the publish and customer APIs
                             (Beams' limit is 100; default: no limit)
      --publish-history-mib <N>
                             Keep up to N MiB of recorded publishes for the inspection API
                             (default 16; the oldest are dropped past it)
      --inspection-origin <ORIGIN>
                             Let web pages on ORIGIN (e.g. http://127.0.0.1:3000) use the
                             inspection API under /_emulator/ (repeatable; env
                             BEAMS_EMULATOR_INSPECTION_ORIGINS, comma-separated). Other
                             browser origins get 403 there; the device API stays open.
      --webhook-url <URL>    Call URL with Beams' webhook events (PublishToUsersAttempt after
                             each publish to users, UserNotificationAcknowledgement/Open for
                             reported deliveries/opens); env BEAMS_EMULATOR_WEBHOOK_URL
      --webhook-secret <S>   Sign them with S (hex HMAC-SHA1 in Webhook-Signature); env
                             BEAMS_EMULATOR_WEBHOOK_SECRET. Never printed.
      --webhook-retry-scale <F>
                             Multiply Beams' retry delays of 10, 30, 120 and 300 s by F
                             (default 1)
      --issue-tokens         Serve GET /_emulator/users/{USER}/token: a Beams Token for any
                             user, for clients tested without a backend. Whoever can reach
                             the emulator can then attach devices to any user.
  -h, --help                 Print this help
  -V, --version              Print the version

Logs go to stderr; set RUST_LOG=beams_emulator=debug to see every request.";

#[derive(Debug, Default)]
struct Args {
    port: Option<u16>,
    host: Option<IpAddr>,
    instance_id: Option<String>,
    secret_key: Option<String>,
    rate_limit: Option<u32>,
    publish_history_mib: Option<usize>,
    inspection_origins: Vec<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    webhook_retry_scale: Option<f64>,
    issue_tokens: bool,
    help: bool,
    version: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => parsed.help = true,
            "-V" | "--version" => parsed.version = true,
            "--issue-tokens" => parsed.issue_tokens = true,
            "-p" | "--port" => {
                let v = value("--port")?;
                parsed.port = Some(
                    v.parse()
                        .map_err(|_| format!("invalid --port {v:?}: expected a number 0-65535"))?,
                );
            }
            "--host" => {
                let v = value("--host")?;
                parsed.host = Some(
                    v.parse()
                        .map_err(|_| format!("invalid --host {v:?}: expected an IP address"))?,
                );
            }
            "--instance-id" => parsed.instance_id = Some(value("--instance-id")?),
            // Never echo the value back: it is a secret.
            "--secret-key" => parsed.secret_key = Some(value("--secret-key")?),
            "--rate-limit" => {
                let v = value("--rate-limit")?;
                parsed.rate_limit = Some(v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("invalid --rate-limit {v:?}: expected a positive number")
                })?);
            }
            "--publish-history-mib" => {
                let v = value("--publish-history-mib")?;
                parsed.publish_history_mib = Some(
                    v.parse()
                        .ok()
                        .filter(|n| (1..=65_536).contains(n))
                        .ok_or_else(|| {
                            format!("invalid --publish-history-mib {v:?}: expected 1 to 65536")
                        })?,
                );
            }
            "--inspection-origin" => parsed
                .inspection_origins
                .push(value("--inspection-origin")?),
            "--webhook-url" => parsed.webhook_url = Some(value("--webhook-url")?),
            // Never echo the value back: it is a secret.
            "--webhook-secret" => parsed.webhook_secret = Some(value("--webhook-secret")?),
            "--webhook-retry-scale" => {
                let v = value("--webhook-retry-scale")?;
                parsed.webhook_retry_scale = Some(
                    v.parse()
                        .ok()
                        .filter(|f: &f64| f.is_finite() && *f >= 0.0)
                        .ok_or_else(|| {
                            format!("invalid --webhook-retry-scale {v:?}: expected a number >= 0")
                        })?,
                );
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("beams-emulator {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("beams_emulator=info")),
        )
        .init();

    let instance_id = args
        .instance_id
        .or_else(|| env_var("BEAMS_INSTANCE_ID"))
        .unwrap_or_else(EmulatorBuilder::generate_instance_id);
    let (secret_key, generated_secret) =
        match args.secret_key.or_else(|| env_var("BEAMS_SECRET_KEY")) {
            Some(secret) => (secret, false),
            None => (EmulatorBuilder::generate_secret_key(), true),
        };

    let mut builder = Emulator::builder()
        .instance_id(instance_id)
        .secret_key(secret_key)
        .rate_limit(args.rate_limit)
        .port(args.port.unwrap_or(0));
    if let Some(host) = args.host {
        builder = builder.host(host);
    }
    if let Some(mib) = args.publish_history_mib {
        let mut limits = beams_emulator::Limits::default();
        limits.max_publish_bytes = mib << 20;
        builder = builder.limits(limits);
    }
    let mut origins = args.inspection_origins;
    if origins.is_empty()
        && let Some(list) = env_var("BEAMS_EMULATOR_INSPECTION_ORIGINS")
    {
        origins = list.split(',').map(|o| o.trim().to_owned()).collect();
    }
    for origin in origins.into_iter().filter(|o| !o.is_empty()) {
        builder = builder.inspection_origin(origin);
    }
    let webhook_url = args
        .webhook_url
        .or_else(|| env_var("BEAMS_EMULATOR_WEBHOOK_URL"));
    let webhook_secret = args
        .webhook_secret
        .or_else(|| env_var("BEAMS_EMULATOR_WEBHOOK_SECRET"));
    if let Some(url) = &webhook_url {
        let mut target = WebhookTarget::new(url.clone());
        if let Some(secret) = webhook_secret {
            target = target.secret(secret);
        }
        builder = builder.webhook(target);
    }
    if args.issue_tokens {
        builder = builder.issue_tokens(true);
    }
    if let Some(scale) = args.webhook_retry_scale {
        builder = builder.webhook_retry_scale(scale);
    }
    let emulator = match builder.start().await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let base = emulator.base_url();
    println!(
        "beams-emulator {} listening on {base}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  instance id: {}", emulator.state().instance_id());
    if generated_secret {
        println!(
            "  secret key:  {} (generated)",
            emulator.state().secret_key()
        );
    } else {
        println!("  secret key:  (as given; not shown)");
    }
    println!();
    println!("Point your app at it:");
    println!("  BEAMS_INSTANCE_ID={}", emulator.state().instance_id());
    if generated_secret {
        println!("  BEAMS_SECRET_KEY={}", emulator.state().secret_key());
    } else {
        println!("  BEAMS_SECRET_KEY=<the secret key you gave>");
    }
    println!("  BEAMS_ENDPOINT={base}");
    println!();
    if let Some(url) = &webhook_url {
        println!("Webhooks: {url} (attempts at {base}/_emulator/webhooks)");
    }
    println!("Inspect: {base}/_emulator/publishes, {base}/_emulator/devices (Ctrl-C to stop)");

    wait_for_signal().await;
    tracing::info!(target: "beams_emulator", "shutting down");
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_flags_in_both_forms() {
        let a = parse(&["--port", "8085", "--instance-id=abc", "--secret-key", "S"]).unwrap();
        assert_eq!(a.port, Some(8085));
        assert_eq!(a.instance_id.as_deref(), Some("abc"));
        assert_eq!(a.secret_key.as_deref(), Some("S"));
        let a = parse(&[
            "--inspection-origin",
            "http://a:1",
            "--inspection-origin=http://b:2",
        ])
        .unwrap();
        assert_eq!(a.inspection_origins, ["http://a:1", "http://b:2"]);
        let a = parse(&[
            "--webhook-url",
            "http://127.0.0.1:3000/pusher/beams-webhooks",
            "--webhook-secret=S",
            "--webhook-retry-scale",
            "0.01",
        ])
        .unwrap();
        assert_eq!(a.webhook_secret.as_deref(), Some("S"));
        assert_eq!(a.webhook_retry_scale, Some(0.01));
        assert!(parse(&["--webhook-retry-scale", "-1"]).is_err());
        assert!(parse(&["--issue-tokens"]).unwrap().issue_tokens);
        let a = parse(&["--publish-history-mib", "256"]).unwrap();
        assert_eq!(a.publish_history_mib, Some(256));
        assert!(parse(&["--publish-history-mib", "0"]).is_err());
        assert!(!parse(&[]).unwrap().issue_tokens);
        assert!(
            parse(&["-p=1"]).is_err(),
            "short flags take a separate value"
        );
    }

    #[test]
    fn rejects_bad_input_without_echoing_secrets() {
        assert!(parse(&["--port", "x"]).unwrap_err().contains("--port"));
        assert!(parse(&["--port"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--bogus"]).unwrap_err().contains("--bogus"));
        let e = parse(&["--secret-key"]).unwrap_err();
        assert!(e.contains("needs a value"));
    }
}
