//! `beams-outbox`: an operator's view of a beams-core outbox (feature `outbox-cli`).
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 beams-outbox sizes
//! beams-outbox status <publish-id>
//! beams-outbox dead list [--start N] [--limit N]
//! beams-outbox dead replay <dead-letter-id>... | --all
//! beams-outbox dead delete <dead-letter-id>... | --all
//! ```
//!
//! The Redis URL comes from `REDIS_URL` only (an argument would show its password in the
//! process list), or, for a Redis Cluster, `REDIS_CLUSTER_URLS` (some nodes' URLs, comma
//! separated); `--prefix P` (or `OUTBOX_PREFIX`) selects the outbox's key prefix. Every
//! answer is one JSON object per line on stdout. Exit status: 0 done, 1 not found (or not a
//! dead letter), 2 bad usage, 3 Redis unavailable or refusing.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use beams_core::outbox::{DeadLetter, Outbox, OutboxError, Status};
use serde_json::{Value, json};

const USAGE: &str = "usage: beams-outbox [--prefix P] <command>
commands:
  sizes                              batches pending and dead letters kept
  status <publish-id>                one publish's state
  dead list [--start N] [--limit N]  dead letters, oldest first (default 100)
  dead replay <id>... | --all        send dead letters again
  dead delete <id>... | --all        forget dead letters
environment: REDIS_URL, or REDIS_CLUSTER_URLS (comma-separated nodes of a cluster);
             OUTBOX_PREFIX (default {beams-outbox})";

enum Command {
    Sizes,
    Status(String),
    List { start: usize, limit: usize },
    Replay(Targets),
    Delete(Targets),
}

enum Targets {
    All,
    These(Vec<String>),
}

fn parse(args: Vec<String>) -> Result<(Option<String>, Command), String> {
    let mut prefix = None;
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--prefix" {
            prefix = Some(args.next().ok_or("--prefix needs a value")?);
        } else if let Some(value) = arg.strip_prefix("--prefix=") {
            prefix = Some(value.to_owned());
        } else {
            rest.push(arg);
        }
    }
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    let targets = |ids: &[&str]| match ids {
        [] => Err("name dead-letter ids, or --all".to_owned()),
        ["--all"] => Ok(Targets::All),
        ids if ids.contains(&"--all") => Err("--all goes alone".to_owned()),
        ids => Ok(Targets::These(
            ids.iter().map(|s| (*s).to_owned()).collect(),
        )),
    };
    let command = match words.as_slice() {
        ["sizes"] => Command::Sizes,
        ["status", id] => Command::Status((*id).to_owned()),
        ["dead", "list", options @ ..] => {
            let (mut start, mut limit) = (0, 100);
            let mut options = options.iter();
            while let Some(option) = options.next() {
                let value = options
                    .next()
                    .and_then(|v| v.parse::<usize>().ok())
                    .ok_or_else(|| format!("{option} needs a number"))?;
                match *option {
                    "--start" => start = value,
                    "--limit" => limit = value.min(10_000),
                    other => return Err(format!("unknown option {other}")),
                }
            }
            Command::List { start, limit }
        }
        ["dead", "replay", ids @ ..] => Command::Replay(targets(ids)?),
        ["dead", "delete", ids @ ..] => Command::Delete(targets(ids)?),
        _ => return Err("unknown command".to_owned()),
    };
    Ok((prefix, command))
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn status_json(id: &str, status: &Status) -> Value {
    let mut out = json!({
        "id": id,
        "state": status.state().as_str(),
        "batches": status.batches(),
        "deadBatches": status.dead_batches(),
        "attempts": status.attempts(),
        "createdMs": millis(status.created()),
        "publishIds": status.publish_ids(),
    });
    if let Some(next) = status.next_attempt() {
        out["nextAttemptMs"] = millis(next).into();
    }
    if let Some(error) = status.error() {
        out["error"] = error.to_json();
    }
    if let Some(tag) = status.tag() {
        out["tag"] = tag.into();
    }
    out
}

fn dead_letter_json(letter: &DeadLetter) -> Value {
    let mut out = json!({
        "id": letter.id(),
        "outboxId": letter.outbox_id(),
        "diedMs": millis(letter.died()),
        "attempts": letter.attempts(),
        "error": letter.error().to_json(),
    });
    if let Some(tag) = letter.tag() {
        out["tag"] = tag.into();
    }
    out
}

/// Replays or deletes every dead letter there is now: all are listed first, so that one
/// replayed and dead again is not met a second time.
async fn each_dead_letter(outbox: &Outbox, replay: bool) -> Result<(u64, u64), OutboxError> {
    let mut ids = Vec::new();
    loop {
        let page = outbox.dead_letters(ids.len(), 10_000).await?;
        if page.is_empty() {
            break;
        }
        ids.extend(page.iter().map(|l| l.id().to_owned()));
    }
    let (mut done, mut skipped) = (0, 0);
    for id in ids {
        let ok = if replay {
            outbox.replay(&id).await?
        } else {
            outbox.delete_dead_letter(&id).await?
        };
        if ok {
            done += 1;
        } else {
            skipped += 1;
        }
    }
    Ok((done, skipped))
}

/// Replays (or deletes) the dead letters named, or all of them; one line per id, or one
/// summary for `--all`. `false` when a named id was not a dead letter.
async fn apply(outbox: &Outbox, targets: Targets, replay: bool) -> Result<bool, OutboxError> {
    let verb = if replay { "replayed" } else { "deleted" };
    match targets {
        Targets::All => {
            let (done, skipped) = each_dead_letter(outbox, replay).await?;
            println!("{}", json!({ verb: done, "skipped": skipped }));
            Ok(true)
        }
        Targets::These(ids) => {
            let mut all = true;
            for id in ids {
                let ok = if replay {
                    outbox.replay(&id).await?
                } else {
                    outbox.delete_dead_letter(&id).await?
                };
                all &= ok;
                println!("{}", json!({"id": id, verb: ok}));
            }
            Ok(all)
        }
    }
}

async fn run(outbox: Outbox, command: Command) -> Result<bool, OutboxError> {
    match command {
        Command::Sizes => {
            let sizes = outbox.sizes().await?;
            println!(
                "{}",
                json!({"pending": sizes.pending, "deadLetters": sizes.dead_letters})
            );
            Ok(true)
        }
        Command::Status(id) => match outbox.status(&id).await? {
            Some(status) => {
                println!("{}", status_json(&id, &status));
                Ok(true)
            }
            None => {
                println!("{}", json!({"id": id, "error": "not found"}));
                Ok(false)
            }
        },
        Command::List { start, limit } => {
            for letter in outbox.dead_letters(start, limit).await? {
                println!("{}", dead_letter_json(&letter));
            }
            Ok(true)
        }
        Command::Replay(targets) => apply(&outbox, targets, true).await,
        Command::Delete(targets) => apply(&outbox, targets, false).await,
    }
}

fn main() -> ExitCode {
    let (prefix, command) = match parse(std::env::args().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("beams-outbox: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cluster = std::env::var("REDIS_CLUSTER_URLS").ok();
    let mut builder = match (cluster, std::env::var("REDIS_URL")) {
        (Some(nodes), _) => Outbox::cluster_builder(nodes.split(',').map(str::trim)),
        (None, Ok(url)) => Outbox::builder(&url),
        (None, Err(_)) => {
            eprintln!("beams-outbox: set REDIS_URL (or REDIS_CLUSTER_URLS)\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(prefix) = prefix.or_else(|| std::env::var("OUTBOX_PREFIX").ok()) {
        builder = builder.prefix(prefix);
    }
    let outbox = match builder.build() {
        Ok(outbox) => outbox,
        Err(error) => {
            eprintln!("beams-outbox: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("beams-outbox: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(outbox, command)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("beams-outbox: {error}");
            ExitCode::from(3)
        }
    }
}
