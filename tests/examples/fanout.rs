//! Fan-out benchmark: `FanOut` publishing one notification to N distinct users through
//! `BeamsClient`, over real HTTP, to a `beams-emulator` started in this process.
//!
//! ```text
//! cargo run --release -p beams-tests --example fanout -- [--users N] [--rps R]
//!     [--concurrency C] [--emulator-rate-limit L]
//! ```
//!
//! - `--users` (default 100 000): distinct users, so N / 1000 batches.
//! - `--rps` (default 100, Beams' limit): FanOut's requests per second; 0 = unlimited.
//! - `--concurrency` (default 4, FanOut's default): batches in flight at once.
//! - `--emulator-rate-limit` (default off): make the emulator answer 429 beyond L requests/s.
//!
//! The emulator runs on its own Tokio runtime whose threads are named `emulator`, and the
//! client on another, so the CPU time of each side is read from
//! `/proc/self/task/*/schedstat` (nanoseconds per thread). Linux only.
//!
//! The emulator here keeps up to 256 MiB of publishes and deliveries (its [`Limits`], raised
//! from their defaults), enough for every publish of 1 000 000 users; the figures below read
//! its publishes. Three devices (first, middle and last user) check routing.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use beams_core::Instance;
use beams_core::publish::{
    BeamsClient, FanOut, Notification, PublishError, PublishResponse, Publisher, RetryPolicy,
    WebNotification, WebPayload,
};
use beams_emulator::{Emulator, Fault, Limits, Platform};

/// Units of the do-nothing fault used to count the requests the emulator receives.
const COUNTER_UNITS: u32 = u32::MAX;
/// Name of the emulator runtime's threads.
const EMULATOR_THREAD: &str = "emulator";
/// What the emulator keeps of the publishes and of the deliveries, in bytes.
const EMULATOR_HISTORY_BYTES: usize = 256 << 20;

#[derive(Debug)]
struct Args {
    users: usize,
    rps: u32,
    concurrency: usize,
    emulator_rate_limit: Option<u32>,
}

const USAGE: &str = "usage: fanout [--users N] [--rps R (0 = unlimited)] [--concurrency C] \
                     [--emulator-rate-limit L]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        users: 100_000,
        rps: 100,
        concurrency: 4,
        emulator_rate_limit: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}\n{USAGE}");
        match flag.as_str() {
            "--users" => args.users = value.parse().map_err(bad)?,
            "--rps" => args.rps = value.parse().map_err(bad)?,
            "--concurrency" => args.concurrency = value.parse().map_err(bad)?,
            "--emulator-rate-limit" => args.emulator_rate_limit = Some(value.parse().map_err(bad)?),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if args.users == 0 {
        return Err("--users must be at least 1".into());
    }
    Ok(args)
}

/// Wraps the client to note when each batch actually starts (after FanOut's pacing).
struct Timed<P> {
    inner: P,
    starts: Mutex<Vec<Instant>>,
}

#[async_trait]
impl<P: Publisher> Publisher for Timed<P> {
    async fn publish_to_interests(
        &self,
        interests: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.inner
            .publish_to_interests(interests, notification)
            .await
    }

    async fn publish_to_users(
        &self,
        users: &[&str],
        notification: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.starts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Instant::now());
        self.inner.publish_to_users(users, notification).await
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), PublishError> {
        self.inner.delete_user(user_id).await
    }
}

/// CPU time so far of this process's live threads, by thread name (`comm`).
fn thread_cpu() -> BTreeMap<u32, (String, Duration)> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = ns {
            out.insert(tid, (comm.trim().to_owned(), Duration::from_nanos(ns)));
        }
    }
    out
}

/// CPU spent between two snapshots, split into (emulator threads, all other threads).
/// Threads that ended in between are missed; see the process total for a cross-check.
fn cpu_split(
    before: &BTreeMap<u32, (String, Duration)>,
    after: &BTreeMap<u32, (String, Duration)>,
) -> (Duration, Duration) {
    let mut emulator = Duration::ZERO;
    let mut client = Duration::ZERO;
    for (tid, (comm, total)) in after {
        let spent = total.saturating_sub(before.get(tid).map_or(Duration::ZERO, |(_, d)| *d));
        if comm == EMULATOR_THREAD {
            emulator += spent;
        } else {
            client += spent;
        }
    }
    (emulator, client)
}

/// utime + stime of the whole process (every thread, ended ones included), at USER_HZ = 100.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// A `Vm…` line of /proc/self/status, in KiB.
fn vm_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The most timestamps in any window `[t, t + width)`; `times` sorted.
fn max_in_window<T: Copy + PartialOrd>(times: &[T], within: impl Fn(T, T) -> bool) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while !within(times[lo], times[hi]) {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn per_request_us(d: Duration, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        d.as_secs_f64() * 1e6 / requests as f64
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };

    let emulator_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(EMULATOR_THREAD)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("client")
        .enable_all()
        .build()?;

    let mut limits = Limits::default();
    limits.max_publish_bytes = EMULATOR_HISTORY_BYTES;
    limits.max_delivery_bytes = EMULATOR_HISTORY_BYTES;
    let emu = emulator_rt.block_on(
        Emulator::builder()
            .rate_limit(args.emulator_rate_limit)
            .limits(limits)
            .start(),
    )?;
    let probe_users = [0, args.users / 2, args.users - 1].map(|i| format!("user-{i}"));
    let mut probe_devices = Vec::new();
    for (user, platform) in probe_users
        .iter()
        .zip([Platform::Web, Platform::Fcm, Platform::Apns])
    {
        if !probe_devices.iter().any(|(u, _)| u == user) {
            let device = emu.state().register_device(platform);
            emu.state().set_device_user(&device.id, user)?;
            probe_devices.push((user.clone(), device.id));
        }
    }
    // Counts every request reaching the emulator (a no-op fault loses a unit per request).
    emu.state()
        .inject_fault(Fault::latency(Duration::ZERO).times(COUNTER_UNITS));

    let config = Instance::builder(emu.state().instance_id(), emu.state().secret_key())
        .endpoint(emu.base_url())
        .build()?;
    let client = BeamsClient::builder(&config)
        .retry_policy(RetryPolicy::default())
        .build()?;
    let publisher = Timed {
        inner: client,
        starts: Mutex::new(Vec::with_capacity(args.users.div_ceil(1000))),
    };
    let notification = Notification::new()
        .web(WebPayload::new().notification(WebNotification::new("Sale", "50% off today")))
        .fcm_raw(serde_json::json!({"notification": {"title": "Sale", "body": "50% off today"}}))
        .apns_raw(serde_json::json!({"aps": {"alert": "Sale: 50% off today"}}));
    let users: Vec<String> = (0..args.users).map(|i| format!("user-{i}")).collect();
    let fan_out = if args.rps == 0 {
        FanOut::new().without_rate_limit()
    } else {
        FanOut::new().max_requests_per_second(args.rps)
    }
    .concurrency(args.concurrency);

    let rss_before = vm_kib("VmRSS:");
    let process_before = process_cpu();
    let threads_before = thread_cpu();
    let started = Instant::now();
    let report = client_rt.block_on(fan_out.publish_to_users(&publisher, &users, &notification))?;
    let wall = started.elapsed();
    let threads_after = thread_cpu();
    let process_after = process_cpu();
    let peak = vm_kib("VmHWM:");

    let requests = u64::from(COUNTER_UNITS)
        - emu
            .state()
            .pending_faults()
            .iter()
            .map(|f| u64::from(f.count))
            .sum::<u64>();
    let publishes = emu.state().publishes();
    let ok = report.batches.iter().filter(|b| b.result.is_ok()).count();
    let failed = report.batches.len() - ok;
    let (emulator_cpu, client_cpu) = cpu_split(&threads_before, &threads_after);

    let mut starts = publisher
        .starts
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    starts.sort_unstable();
    let client_window = max_in_window(&starts, |a, b| b.duration_since(a) < Duration::from_secs(1));
    let mut arrivals: Vec<u64> = publishes.iter().map(|p| p.received_at_ms).collect();
    arrivals.sort_unstable();
    let emulator_window = max_in_window(&arrivals, |a, b| b - a < 1000);
    let delivered = probe_devices
        .iter()
        .filter(|(_, device)| emu.state().deliveries(device).len() == 1)
        .count();

    let rps = if args.rps == 0 {
        "unlimited".to_owned()
    } else {
        args.rps.to_string()
    };
    let limit = args
        .emulator_rate_limit
        .map_or_else(|| "off".to_owned(), |l| format!("{l} rps"));
    println!(
        "beams-rs fan-out benchmark ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "  setup            {} distinct users -> {} batches; FanOut rps {rps}, concurrency {}; emulator rate limit {limit}",
        args.users,
        report.batches.len(),
        args.concurrency
    );
    println!(
        "  requests         {requests} seen by the emulator; {} publishes recorded, {} refused (429s when its limit is on, then retried){}",
        publishes.len(),
        requests.saturating_sub(publishes.len() as u64),
        if publishes.len() < report.batches.len() - failed {
            " (the emulator's history limit was reached: counts below are partial)"
        } else {
            ""
        }
    );
    println!(
        "  batches          {ok} ok, {failed} failed; {} users published; probe devices with exactly one delivery: {delivered}/{}",
        report.users_published(),
        probe_devices.len()
    );
    for batch in report.failed_batches().take(5) {
        println!("    batch {} failed: {:?}", batch.index, batch.result);
    }
    println!(
        "  wall time        {:.1} ms for the FanOut call ({:.1} requests/s)",
        ms(wall),
        requests as f64 / wall.as_secs_f64()
    );
    println!(
        "  max in any 1 s   {client_window} batch starts (client clock, ns) / {emulator_window} arrivals (emulator clock, ms)"
    );
    println!(
        "  CPU client       {:.1} ms = {:.0} us/request (all threads but the emulator's: dedupe, validation, JSON, HTTP)",
        ms(client_cpu),
        per_request_us(client_cpu, requests)
    );
    println!(
        "  CPU emulator     {:.1} ms = {:.0} us/request (its own runtime's threads)",
        ms(emulator_cpu),
        per_request_us(emulator_cpu, requests)
    );
    if let (Some(b), Some(a)) = (process_before, process_after) {
        println!(
            "  CPU process      {:.0} ms (utime+stime from /proc/self/stat, 10 ms ticks; cross-check of the two above)",
            ms(a.saturating_sub(b))
        );
    }
    println!(
        "  peak RSS         {:.1} MiB VmHWM (whole process: emulator and its records included; VmRSS before the fan-out {:.1} MiB)",
        peak.unwrap_or(0) as f64 / 1024.0,
        rss_before.unwrap_or(0) as f64 / 1024.0
    );

    drop(emu);
    drop(emulator_rt);
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
