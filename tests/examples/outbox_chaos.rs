//! The outbox chaos benchmark (`bash bench/outbox_chaos.sh` builds and runs it): a
//! `redis-server` with `--appendonly yes --appendfsync everysec`, a `beams-emulator` that
//! allows Beams' 100 requests per second, and three `outbox_replica` processes draining one
//! outbox with a shared rate limiter.
//!
//! 1. Enqueue throughput: rounds of single-user publishes from this one process, several at
//!    once, into an outbox no worker drains (median of the rounds).
//! 2. The run: a fan-out to `--users` users (batches of 1000) and `--singles` single-user
//!    publishes; while they drain, a random replica is SIGKILLed (and restarted) every few
//!    seconds, the emulator answers bursts of 5xx, and Redis is stopped (SIGTERM) and started
//!    again on its appendonly directory once.
//! 3. It waits until every id is `published` or `dead`, then compares what the emulator
//!    accepted with the users expected: each delivered, duplicates counted and explained from
//!    the replicas' request logs, 429s counted, the drain rate, and how long a killed
//!    replica's entries took to be published by another.
//!
//! ```text
//! cargo build --release -p beams-emulator -p beams-tests --features beams-emulator/cli \
//!     --bin beams-emulator --example outbox_replica --example outbox_chaos
//! target/release/examples/outbox_chaos --emulator target/release/beams-emulator \
//!     --replica target/release/examples/outbox_replica --work /tmp/chaos
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use beams_core::outbox::{Outbox, Publish, State};
use beams_core::publish::{Notification, WebNotification, WebPayload};
use serde_json::Value;

type BoxError = Box<dyn Error + Send + Sync>;

const USAGE: &str = "usage: outbox_chaos --emulator PATH --replica PATH --work DIR \
    [--users 100000] [--singles 1000] [--replicas 3] [--claim-idle-secs 5] \
    [--chaos-secs 16] [--timeout-secs 240] [--enqueue-rounds 5] [--enqueue-count 4000] \
    [--enqueue-concurrency 32] [--rate N] [--seed N]";

const INSTANCE: &str = "00000000-0000-4000-8000-00000000c4a0";
const SECRET: &str = "OUTBOX-CHAOS-SECRET";

struct Args {
    emulator: PathBuf,
    replica: PathBuf,
    work: PathBuf,
    users: usize,
    singles: usize,
    replicas: usize,
    claim_idle: u64,
    chaos_secs: f64,
    timeout_secs: u64,
    enqueue_rounds: usize,
    enqueue_count: usize,
    enqueue_concurrency: usize,
    rate: Option<u32>,
    seed: u64,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        emulator: PathBuf::new(),
        replica: PathBuf::new(),
        work: PathBuf::new(),
        users: 100_000,
        singles: 1000,
        replicas: 3,
        claim_idle: 5,
        chaos_secs: 16.0,
        timeout_secs: 240,
        enqueue_rounds: 5,
        enqueue_count: 4000,
        enqueue_concurrency: 32,
        rate: None,
        seed: now_ms(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--emulator" => args.emulator = value.into(),
            "--replica" => args.replica = value.into(),
            "--work" => args.work = value.into(),
            "--users" => args.users = value.parse()?,
            "--singles" => args.singles = value.parse()?,
            "--replicas" => args.replicas = value.parse()?,
            "--claim-idle-secs" => args.claim_idle = value.parse()?,
            "--chaos-secs" => args.chaos_secs = value.parse()?,
            "--timeout-secs" => args.timeout_secs = value.parse()?,
            "--enqueue-rounds" => args.enqueue_rounds = value.parse()?,
            "--enqueue-count" => args.enqueue_count = value.parse()?,
            "--enqueue-concurrency" => args.enqueue_concurrency = value.parse()?,
            "--rate" => args.rate = Some(value.parse()?),
            "--seed" => args.seed = value.parse()?,
            _ => return Err(USAGE.into()),
        }
    }
    if args.emulator.as_os_str().is_empty()
        || args.replica.as_os_str().is_empty()
        || args.work.as_os_str().is_empty()
        || args.replicas == 0
        || args.enqueue_rounds == 0
        || args.enqueue_concurrency == 0
    {
        return Err(USAGE.into());
    }
    Ok(args)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A small xorshift generator: the schedule is reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(port: u16, what: &str) -> Result<(), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen on {port}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn append(path: &Path) -> Result<File, BoxError> {
    Ok(File::options().create(true).append(true).open(path)?)
}

fn signal(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
}

/// Waits for a child to exit, at most `within`; kills it after that.
fn wait_exit(child: &mut Child, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(Some(_)) = child.try_wait() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    started.elapsed()
}

struct Redis {
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start(&mut self) -> Result<(), BoxError> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", "", "--protected-mode", "yes"])
            .stdin(Stdio::null())
            .stdout(append(&self.log)?)
            .stderr(append(&self.log)?)
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        self.child = Some(child);
        wait_listening(self.port, "redis-server")
    }

    /// SIGTERM (Redis fsyncs its appendonly file and exits); answers how long it took.
    fn stop(&mut self) -> Duration {
        match self.child.take() {
            Some(mut child) => {
                signal(&child, "-TERM");
                wait_exit(&mut child, Duration::from_secs(20))
            }
            None => Duration::ZERO,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// The replicas, restarted in place: replica `i`'s generation `g` logs to `replica-i-g.jsonl`.
struct Replicas {
    binary: PathBuf,
    work: PathBuf,
    env: Vec<(String, String)>,
    running: Vec<(usize, Child)>,
}

impl Replicas {
    fn log(&self, replica: usize, generation: usize) -> PathBuf {
        self.work
            .join(format!("replica-{replica}-{generation}.jsonl"))
    }

    fn spawn(&self, replica: usize, generation: usize) -> Result<Child, BoxError> {
        let stderr = append(&self.work.join(format!("replica-{replica}.stderr")))?;
        Ok(Command::new(&self.binary)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("OUTBOX_REPLICA_LOG", self.log(replica, generation))
            .env("HOSTNAME", format!("replica-{replica}-{generation}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?)
    }

    fn start(&mut self, count: usize) -> Result<(), BoxError> {
        for replica in 0..count {
            let child = self.spawn(replica, 0)?;
            self.running.push((0, child));
        }
        Ok(())
    }

    /// SIGKILL (or SIGTERM, `graceful`), then a new generation in its place; answers the
    /// generation stopped and how long it took to exit.
    fn stop_and_restart(
        &mut self,
        replica: usize,
        graceful: bool,
    ) -> Result<(usize, Duration), BoxError> {
        let (generation, child) = &mut self.running[replica];
        let exited_in = if graceful {
            signal(child, "-TERM");
            wait_exit(child, Duration::from_secs(30))
        } else {
            let _ = child.kill();
            let _ = child.wait();
            Duration::ZERO
        };
        let killed = *generation;
        let next = self.spawn(replica, killed + 1)?;
        self.running[replica] = (killed + 1, next);
        Ok((killed, exited_in))
    }
}

#[derive(Debug, Clone)]
enum ChaosEvent {
    Kill {
        replica: usize,
        generation: usize,
    },
    Term {
        replica: usize,
        generation: usize,
        exited_in: Duration,
    },
    Faults {
        status: u16,
        count: u32,
    },
    RedisDown,
    RedisUp {
        stopped_in: Duration,
    },
}

type Timeline = Arc<Mutex<Vec<(u64, ChaosEvent)>>>;

fn record(timeline: &Timeline, event: ChaosEvent) {
    timeline
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((now_ms(), event));
}

fn notification() -> Notification {
    Notification::new()
        .web(WebPayload::new().notification(WebNotification::new("Sale", "50% off today")))
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Enqueues `count` single-user publishes, `concurrency` at once; answers their ids and the
/// wall time.
async fn enqueue_singles(
    outbox: &Outbox,
    prefix: &str,
    count: usize,
    concurrency: usize,
) -> Result<(Vec<String>, Duration), BoxError> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency.min(count.max(1)) {
        let outbox = outbox.clone();
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            let mut i = worker;
            while i < count {
                let publish = Publish::to_users([format!("{prefix}{i:04}")], &notification())?;
                ids.push(outbox.enqueue(publish).await?.id().to_owned());
                i += concurrency;
            }
            Ok::<_, BoxError>(ids)
        });
    }
    let mut ids = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        ids.extend(done??);
    }
    Ok((ids, started.elapsed()))
}

/// One request from a replica's log.
#[derive(Debug)]
struct Request {
    replica: usize,
    generation: usize,
    key: String,
    start: u64,
    end: Option<(u64, i64, String)>,
}

fn read_requests(replicas: &Replicas, generations: &[usize]) -> Result<Vec<Request>, BoxError> {
    let mut out = Vec::new();
    for (replica, &last) in generations.iter().enumerate() {
        for generation in 0..=last {
            let path = replicas.log(replica, generation);
            let Ok(file) = File::open(&path) else {
                continue;
            };
            let mut by_seq: BTreeMap<u64, Request> = BTreeMap::new();
            for line in BufReader::new(file).lines() {
                let line = line?;
                // A SIGKILL can cut the last line short.
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let seq = v["seq"].as_u64().unwrap_or(0);
                match v["ev"].as_str() {
                    Some("start") => {
                        by_seq.insert(
                            seq,
                            Request {
                                replica,
                                generation,
                                key: v["k"].as_str().unwrap_or("").to_owned(),
                                start: v["t"].as_u64().unwrap_or(0),
                                end: None,
                            },
                        );
                    }
                    Some("end") => {
                        if let Some(r) = by_seq.get_mut(&seq) {
                            r.end = Some((
                                v["t"].as_u64().unwrap_or(0),
                                v["status"].as_i64().unwrap_or(0),
                                v["pub"].as_str().unwrap_or("").to_owned(),
                            ));
                        }
                    }
                    _ => {}
                }
            }
            out.extend(by_seq.into_values());
        }
    }
    Ok(out)
}

/// A publish the emulator accepted.
struct Accepted {
    id: String,
    key: String,
    users: Vec<String>,
    at: u64,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.work)?;
    let mut rng = Rng(args.seed);
    let http = reqwest::Client::new();

    // Redis with appendonly, and the emulator.
    let mut redis = Redis {
        port: free_port()?,
        dir: args.work.join("redis"),
        log: args.work.join("redis.log"),
        child: None,
    };
    std::fs::create_dir_all(&redis.dir)?;
    redis.start()?;
    let emulator_port = free_port()?;
    let mut emulator = Command::new(&args.emulator)
        .args(["--port", &emulator_port.to_string()])
        .args(["--instance-id", INSTANCE, "--secret-key", SECRET])
        .args(["--rate-limit", "100"])
        // Every accepted publish stays recorded: the delivery check reads them all.
        .args(["--publish-history-mib", "512"])
        .stdin(Stdio::null())
        .stdout(append(&args.work.join("emulator.log"))?)
        .stderr(append(&args.work.join("emulator.log"))?)
        .spawn()?;
    wait_listening(emulator_port, "beams-emulator")?;
    let emulator_url = format!("http://127.0.0.1:{emulator_port}");
    let result = run(&args, &mut rng, &http, &mut redis, &emulator_url).await;
    signal(&emulator, "-TERM");
    wait_exit(&mut emulator, Duration::from_secs(10));
    redis.stop();
    result
}

async fn run(
    args: &Args,
    rng: &mut Rng,
    http: &reqwest::Client,
    redis: &mut Redis,
    emulator_url: &str,
) -> Result<(), BoxError> {
    let claim_idle = Duration::from_secs(args.claim_idle);

    // 1. Enqueue throughput, into an outbox nobody drains.
    let scratch = Outbox::builder(&redis.url())
        .prefix("{outbox-chaos-enqueue}")
        .build()?;
    enqueue_singles(&scratch, "warm-", 200, args.enqueue_concurrency).await?;
    let mut rates = Vec::new();
    for round in 0..args.enqueue_rounds {
        let (_, took) = enqueue_singles(
            &scratch,
            &format!("round{round}-"),
            args.enqueue_count,
            args.enqueue_concurrency,
        )
        .await?;
        rates.push(args.enqueue_count as f64 / took.as_secs_f64());
    }
    let round_rates: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    let enqueue_rate = median(&mut rates);

    // 2. The replicas, then the publishes.
    let mut env = vec![
        ("REDIS_URL".to_owned(), redis.url()),
        ("BEAMS_ENDPOINT".to_owned(), emulator_url.to_owned()),
        ("BEAMS_INSTANCE_ID".to_owned(), INSTANCE.to_owned()),
        ("BEAMS_SECRET_KEY".to_owned(), SECRET.to_owned()),
        (
            "OUTBOX_CLAIM_IDLE_SECS".to_owned(),
            args.claim_idle.to_string(),
        ),
        ("RUST_LOG".to_owned(), "beams=info".to_owned()),
    ];
    if let Some(rate) = args.rate {
        env.push(("OUTBOX_RATE".to_owned(), rate.to_string()));
    }
    let replicas = Arc::new(Mutex::new(Replicas {
        binary: args.replica.clone(),
        work: args.work.clone(),
        env,
        running: Vec::new(),
    }));
    replicas
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .start(args.replicas)?;
    let outbox = Outbox::builder(&redis.url())
        .claim_idle(claim_idle)
        .build()?;
    // Let the replicas connect and make the consumer group.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let fanout_users: Vec<String> = (0..args.users).map(|i| format!("fan-{i:06}")).collect();
    let enqueue_started = Instant::now();
    let fanout = Publish::to_users(&fanout_users, &notification())?;
    let batches = fanout.batches();
    let fanout_id = outbox.enqueue(fanout).await?.id().to_owned();
    let fanout_took = enqueue_started.elapsed();
    let (single_ids, singles_took) =
        enqueue_singles(&outbox, "single-", args.singles, args.enqueue_concurrency).await?;
    let drain_start = now_ms();
    let mut ids = single_ids.clone();
    ids.push(fanout_id.clone());

    // 3. Chaos while it drains.
    let timeline: Timeline = Arc::new(Mutex::new(Vec::new()));
    let chaos_t0 = tokio::time::Instant::now();
    let chaos_end = Instant::now() + Duration::from_secs_f64(args.chaos_secs);
    let kills = {
        let replicas = Arc::clone(&replicas);
        let timeline = Arc::clone(&timeline);
        let mut rng = Rng(rng.next());
        let count = args.replicas as u64;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let mut round = 0;
            while Instant::now() < chaos_end {
                let replica = rng.below(count) as usize;
                // The fourth is a deploy: SIGTERM, the replica settles what it holds.
                let graceful = round == 3;
                round += 1;
                let stopped = tokio::task::block_in_place(|| {
                    replicas
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .stop_and_restart(replica, graceful)
                });
                match stopped {
                    Ok((generation, exited_in)) if graceful => record(
                        &timeline,
                        ChaosEvent::Term {
                            replica,
                            generation,
                            exited_in,
                        },
                    ),
                    Ok((generation, _)) => record(
                        &timeline,
                        ChaosEvent::Kill {
                            replica,
                            generation,
                        },
                    ),
                    Err(error) => eprintln!("restarting replica {replica} failed: {error}"),
                }
                // Every 2–3 s.
                tokio::time::sleep(Duration::from_millis(2000 + rng.below(1000))).await;
            }
        })
    };
    let faults = {
        let timeline = Arc::clone(&timeline);
        let http = http.clone();
        let url = format!("{emulator_url}/_emulator/faults");
        tokio::spawn(async move {
            for (at_ms, status) in [(2500, 503), (7000, 500), (11_000, 502)] {
                tokio::time::sleep_until(chaos_t0 + Duration::from_millis(at_ms)).await;
                let count = 40;
                let body = serde_json::json!({
                    "status": status, "count": count, "pathPrefix": "/publish_api",
                });
                match http.post(&url).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        record(&timeline, ChaosEvent::Faults { status, count });
                    }
                    Ok(r) => eprintln!("fault injection answered {}", r.status()),
                    Err(e) => eprintln!("fault injection failed: {e}"),
                }
            }
        })
    };
    // Redis: down once, 5 s in, and up again on the same appendonly directory.
    let chaos_started = Instant::now();
    tokio::time::sleep(Duration::from_millis(5000)).await;
    record(&timeline, ChaosEvent::RedisDown);
    let stopped_in = tokio::task::block_in_place(|| redis.stop());
    tokio::task::block_in_place(|| redis.start())?;
    record(&timeline, ChaosEvent::RedisUp { stopped_in });

    // 4. Until every id is published or dead.
    let deadline = chaos_started + Duration::from_secs(args.timeout_secs);
    let mut unfinished: HashSet<String> = ids.iter().cloned().collect();
    let mut finished_at: HashMap<String, u64> = HashMap::new();
    let mut states: HashMap<String, State> = HashMap::new();
    let mut unknown: HashSet<String> = HashSet::new();
    while !unfinished.is_empty() && Instant::now() < deadline {
        let mut done = Vec::new();
        for id in &unfinished {
            match outbox.status(id).await {
                Ok(Some(status)) if status.state() != State::Queued => {
                    states.insert(id.clone(), status.state());
                    done.push(id.clone());
                }
                Ok(Some(_)) => {
                    unknown.remove(id);
                }
                Ok(None) => {
                    unknown.insert(id.clone());
                }
                Err(_) => break,
            }
        }
        for id in done {
            unfinished.remove(&id);
            finished_at.insert(id, now_ms());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = kills.await;
    let _ = faults.await;
    let fanout_status = outbox.status(&fanout_id).await?;
    let sizes = outbox.sizes().await?;

    // Graceful stop: SIGTERM, each replica's time to exit.
    let (generations, mut stop_times) = tokio::task::block_in_place(|| {
        let mut replicas = replicas.lock().unwrap_or_else(|e| e.into_inner());
        let generations: Vec<usize> = replicas.running.iter().map(|(g, _)| *g).collect();
        let mut times = Vec::new();
        let signalled = Instant::now();
        for (_, child) in &mut replicas.running {
            signal(child, "-TERM");
        }
        for (_, child) in &mut replicas.running {
            wait_exit(child, Duration::from_secs(30));
            times.push(signalled.elapsed().as_secs_f64() * 1000.0);
        }
        (generations, times)
    });

    // 5. What the emulator accepted, and what the replicas logged.
    let publishes: Vec<Value> = http
        .get(format!("{emulator_url}/_emulator/publishes"))
        .send()
        .await?
        .json()
        .await?;
    let pending_faults: Vec<Value> = http
        .get(format!("{emulator_url}/_emulator/faults"))
        .send()
        .await?
        .json()
        .await?;
    let accepted: Vec<Accepted> = publishes
        .iter()
        .filter_map(|p| {
            let users: Vec<String> = p["users"]
                .as_array()?
                .iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect();
            Some(Accepted {
                id: p["publishId"].as_str()?.to_owned(),
                key: users.first()?.clone(),
                users,
                at: p["receivedAtMs"].as_u64()?,
            })
        })
        .collect();
    let requests = {
        let replicas = replicas.lock().unwrap_or_else(|e| e.into_inner());
        read_requests(&replicas, &generations)?
    };
    let timeline = timeline.lock().unwrap_or_else(|e| e.into_inner()).clone();

    // Every user delivered?
    let mut per_user: HashMap<&str, u32> = HashMap::new();
    for publish in &accepted {
        for user in &publish.users {
            *per_user.entry(user.as_str()).or_default() += 1;
        }
    }
    let expected: Vec<String> = fanout_users
        .iter()
        .cloned()
        .chain((0..args.singles).map(|i| format!("single-{i:04}")))
        .collect();
    let missing = expected
        .iter()
        .filter(|u| !per_user.contains_key(u.as_str()))
        .count();
    let twice = per_user.values().filter(|&&n| n > 1).count();
    let extra_deliveries: u32 = per_user.values().map(|n| n.saturating_sub(1)).sum();

    // Duplicated batches, and why.
    let mut by_key: HashMap<&str, Vec<&Accepted>> = HashMap::new();
    for publish in &accepted {
        by_key
            .entry(publish.key.as_str())
            .or_default()
            .push(publish);
    }
    let answered: HashMap<&str, &Request> = requests
        .iter()
        .filter_map(|r| match &r.end {
            Some((_, 200, id)) => Some((id.as_str(), r)),
            _ => None,
        })
        .collect();
    let kill_at: HashMap<(usize, usize), u64> = timeline
        .iter()
        .filter_map(|(t, e)| match e {
            ChaosEvent::Kill {
                replica,
                generation,
            } => Some(((*replica, *generation), *t)),
            _ => None,
        })
        .collect();
    let redis_down = timeline.iter().find_map(|(t, e)| match e {
        ChaosEvent::RedisDown => Some(*t),
        _ => None,
    });
    let redis_up = timeline.iter().find_map(|(t, e)| match e {
        ChaosEvent::RedisUp { .. } => Some(*t),
        _ => None,
    });
    let mut causes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut duplicated_batches = 0;
    for publishes in by_key.values_mut() {
        publishes.sort_by_key(|p| p.at);
        for pair in publishes.windows(2) {
            duplicated_batches += 1;
            let earlier = pair[0];
            let cause = match answered.get(earlier.id.as_str()) {
                None => {
                    // Accepted, but no replica logged the answer: was its sender killed
                    // with the request in flight?
                    let in_flight_killed = requests.iter().any(|r| {
                        r.key == earlier.key
                            && r.end.is_none()
                            && r.start <= earlier.at
                            && kill_at.contains_key(&(r.replica, r.generation))
                    });
                    if in_flight_killed {
                        "SIGKILL with the request in flight (Beams accepted it, the answer was lost)"
                    } else {
                        "accepted, answer never logged (unexplained)"
                    }
                }
                Some(r) => {
                    let (end, _, _) = r.end.clone().unwrap_or_default();
                    let killed_after = kill_at
                        .get(&(r.replica, r.generation))
                        .is_some_and(|&t| t >= end && t - end <= 2000);
                    let settle_window =
                        end.saturating_sub(1500)..=end + args.claim_idle * 1000 / 2 + 1000;
                    let redis_overlap = match (redis_down, redis_up) {
                        (Some(d), Some(u)) => {
                            settle_window.contains(&d)
                                || settle_window.contains(&u)
                                || (d <= end && end <= u)
                        }
                        _ => false,
                    };
                    if killed_after {
                        "SIGKILL after Beams' answer, before the outcome was recorded"
                    } else if redis_overlap {
                        "Redis restart: the outcome was not recorded"
                    } else {
                        "answered and logged, sent again (unexplained)"
                    }
                }
            };
            *causes.entry(cause).or_default() += 1;
        }
    }

    // A killed replica's entries: published by another how long after the kill?
    let mut per_kill: Vec<(usize, usize, u64, usize, Option<u64>)> = Vec::new();
    let mut all_latencies = Vec::new();
    let mut claim_latencies = Vec::new();
    let mut failed_again = 0;
    let mut killed_again = 0;
    let mut not_republished = 0;
    for (t, event) in &timeline {
        let ChaosEvent::Kill {
            replica,
            generation,
        } = event
        else {
            continue;
        };
        let held: Vec<&Request> = requests
            .iter()
            .filter(|r| r.replica == *replica && r.generation == *generation && r.end.is_none())
            .collect();
        let mut worst = None;
        for r in &held {
            // Taken again by another process: its first request for the batch after the kill.
            let retaken = requests
                .iter()
                .filter(|o| {
                    o.key == r.key
                        && o.start > *t
                        && (o.replica, o.generation) != (*replica, *generation)
                })
                .min_by_key(|o| o.start);
            if let Some(o) = retaken {
                claim_latencies.push((o.start - t) as f64 / 1000.0);
                if o.end.is_none() {
                    // Its new holder was killed too: timed from that kill.
                    killed_again += 1;
                    continue;
                }
                if o.end.as_ref().is_some_and(|(_, s, _)| *s != 200) {
                    failed_again += 1;
                }
            }
            let next = by_key
                .get(r.key.as_str())
                .and_then(|ps| ps.iter().find(|p| p.at > *t))
                .map(|p| p.at - t);
            match next {
                Some(latency) => {
                    all_latencies.push(latency as f64 / 1000.0);
                    worst = worst.max(Some(latency));
                }
                None => not_republished += 1,
            }
        }
        per_kill.push((*replica, *generation, *t, held.len(), worst));
    }

    // Requests and their answers, from the replicas' logs.
    let ended: Vec<&Request> = requests.iter().filter(|r| r.end.is_some()).collect();
    let status_count = |f: &dyn Fn(i64) -> bool| {
        ended
            .iter()
            .filter(|r| r.end.as_ref().is_some_and(|(_, s, _)| f(*s)))
            .count()
    };
    let ok = status_count(&|s| s == 200);
    let limited = status_count(&|s| s == 429);
    let server_errors = status_count(&|s| s >= 500);
    let no_answer = status_count(&|s| s == 0);
    let limiter_errors = status_count(&|s| s == -1);
    let other = ended.len() - ok - limited - server_errors - no_answer - limiter_errors;
    let in_flight_at_kill = requests.iter().filter(|r| r.end.is_none()).count();

    // Drain rate: requests per second while fresh work remained (until the last batch's
    // first attempt started), medians of whole seconds; and over the whole drain.
    let first_start = requests
        .iter()
        .map(|r| r.start)
        .min()
        .unwrap_or(drain_start);
    let mut first_attempt: HashMap<&str, u64> = HashMap::new();
    for r in &requests {
        let slot = first_attempt.entry(r.key.as_str()).or_insert(r.start);
        *slot = (*slot).min(r.start);
    }
    let busy_end = first_attempt.values().copied().max().unwrap_or(first_start);
    let busy_secs = ((busy_end - first_start) / 1000) as usize;
    // Counted when answered: a request is logged as started before it waits for the
    // rate limiter.
    let mut sent_per_sec = vec![0f64; busy_secs];
    for (end, _, _) in requests.iter().filter_map(|r| r.end.as_ref()) {
        let i = (end.saturating_sub(first_start) / 1000) as usize;
        if i < busy_secs {
            sent_per_sec[i] += 1.0;
        }
    }
    let mut accepted_per_sec = vec![0f64; busy_secs];
    for p in &accepted {
        if p.at >= first_start {
            let i = ((p.at - first_start) / 1000) as usize;
            if i < busy_secs {
                accepted_per_sec[i] += 1.0;
            }
        }
    }
    let per_sec_text = sent_per_sec
        .iter()
        .map(|n| format!("{n:.0}"))
        .collect::<Vec<_>>()
        .join(" ");
    let busy_median = median(&mut sent_per_sec.clone());
    let accepted_median = median(&mut accepted_per_sec);
    let last_end = ended
        .iter()
        .filter_map(|r| r.end.as_ref().map(|e| e.0))
        .max()
        .unwrap_or(first_start);
    let whole_rate = ended.len() as f64 / ((last_end - first_start).max(1) as f64 / 1000.0);
    let mut arrivals: Vec<u64> = accepted.iter().map(|p| p.at).collect();
    arrivals.sort_unstable();
    let busiest = arrivals
        .iter()
        .enumerate()
        .map(|(i, &t)| arrivals[i..].partition_point(|&u| u < t + 1000))
        .max()
        .unwrap_or(0);

    let published = states.values().filter(|s| **s == State::Published).count();
    let dead = states.values().filter(|s| **s == State::Dead).count();
    let finish_secs = finished_at
        .values()
        .max()
        .map_or(0.0, |t| (t - drain_start) as f64 / 1000.0);

    // The summary.
    let ok_mark = |pass: bool| if pass { "ok" } else { "MISSED" };
    println!("## Outbox chaos run");
    println!();
    println!(
        "setup: {} replicas (concurrency 8 each), claim_idle {} s, limiter {}, emulator --rate-limit 100, redis appendonly everysec, seed {}",
        args.replicas,
        args.claim_idle,
        args.rate.map_or(
            "RedisRateLimiter::beams (75/s, one at a time)".to_owned(),
            |r| format!("RedisRateLimiter {r}/s, burst 5")
        ),
        args.seed
    );
    println!(
        "enqueue throughput: median {enqueue_rate:.0} publishes/s ({} rounds of {} single-user publishes, {} at once; rounds {}) [{} ≥ 5000/s]",
        args.enqueue_rounds,
        args.enqueue_count,
        args.enqueue_concurrency,
        round_rates.join(", "),
        ok_mark(enqueue_rate >= 5000.0)
    );
    println!(
        "enqueued: 1 fan-out of {} users as {batches} batches in {} ms; {} single publishes in {} ms ({:.0}/s)",
        args.users,
        fanout_took.as_millis(),
        args.singles,
        singles_took.as_millis(),
        args.singles as f64 / singles_took.as_secs_f64()
    );
    println!("chaos (ms after the drain started):");
    for (t, event) in &timeline {
        let at = t.saturating_sub(drain_start);
        match event {
            ChaosEvent::Kill {
                replica,
                generation,
            } => {
                let held = per_kill
                    .iter()
                    .find(|k| k.0 == *replica && k.1 == *generation)
                    .map_or(0, |k| k.3);
                println!(
                    "  {at:>6}  SIGKILL replica {replica} (generation {generation}), {held} requests in flight; restarted"
                );
            }
            ChaosEvent::Term {
                replica,
                generation,
                exited_in,
            } => {
                let left = requests
                    .iter()
                    .filter(|r| {
                        r.replica == *replica && r.generation == *generation && r.end.is_none()
                    })
                    .count();
                println!(
                    "  {at:>6}  SIGTERM replica {replica} (generation {generation}): exited in {} ms, {left} requests left unanswered; restarted",
                    exited_in.as_millis()
                );
            }
            ChaosEvent::Faults { status, count } => {
                println!("  {at:>6}  emulator answers the next {count} publishes {status}");
            }
            ChaosEvent::RedisDown => println!("  {at:>6}  redis SIGTERM"),
            ChaosEvent::RedisUp { stopped_in } => println!(
                "  {at:>6}  redis up again on its appendonly dir (shutdown took {} ms)",
                stopped_in.as_millis()
            ),
        }
    }
    println!(
        "outcome: {} of {} ids finished ({published} published, {dead} dead, {} still queued, {} unknown to the outbox) {:.1} s after the drain started [{}]",
        states.len(),
        ids.len(),
        unfinished.len(),
        unknown.len(),
        finish_secs,
        ok_mark(unfinished.is_empty())
    );
    if let Some(status) = &fanout_status {
        println!(
            "fan-out job: {:?}, {} of {} batches with a publish id, {} dead; outbox sizes after: {} pending, {} dead letters",
            status.state(),
            status.publish_ids().len(),
            status.batches(),
            status.dead_batches(),
            sizes.pending,
            sizes.dead_letters
        );
    }
    println!(
        "delivery: {} of {} expected users got the notification, {missing} missing [{}]",
        expected.len() - missing,
        expected.len(),
        ok_mark(missing == 0)
    );
    println!(
        "duplicates: {twice} users got it more than once ({extra_deliveries} extra deliveries), from {duplicated_batches} batches sent twice"
    );
    for (cause, n) in &causes {
        println!("  {n:>4}  {cause}");
    }
    println!(
        "requests (replica logs): {} answered — {ok} accepted, {limited} 429, {server_errors} 5xx, {no_answer} no answer, {limiter_errors} limiter unreachable, {other} other; {in_flight_at_kill} in flight at a SIGKILL; emulator recorded {} accepted",
        ended.len(),
        accepted.len()
    );
    println!(
        "429s: {limited} [{}]; injected 5xx left unmet: {}",
        ok_mark(limited <= 5),
        pending_faults.len()
    );
    println!(
        "drain rate: median {busy_median:.0} requests/s answered, {accepted_median:.0}/s accepted, over the {busy_secs} whole seconds with fresh work (per second: {per_sec_text}); {whole_rate:.1}/s over the whole drain ({} requests in {:.1} s); at most {busiest} accepted in any 1 s [{} ≥ 95/s]",
        ended.len(),
        (last_end - first_start) as f64 / 1000.0,
        ok_mark(busy_median >= 95.0)
    );
    let bound = args.claim_idle as f64 + 5.0;
    let max_latency = all_latencies.iter().copied().fold(0.0, f64::max);
    let mut worst_per_kill: Vec<f64> = per_kill
        .iter()
        .filter_map(|k| k.4.map(|w| w as f64 / 1000.0))
        .collect();
    let max_claim = claim_latencies.iter().copied().fold(0.0, f64::max);
    println!(
        "killed replicas' entries taken by another: {} entries over {} kills, median {:.2} s after the kill, worst {max_claim:.2} s [{} ≤ claim_idle + 5 s = {bound:.0} s]",
        claim_latencies.len(),
        per_kill.len(),
        median(&mut claim_latencies.clone()),
        ok_mark(
            max_claim <= bound
                && claim_latencies.len() == all_latencies.len() + killed_again + not_republished
        )
    );
    println!(
        "  and published: median {:.2} s after the kill, the last of a kill median {:.2} s, worst {max_latency:.2} s, {not_republished} never ({killed_again} taken by a replica killed in turn, timed from that kill); {failed_again} met a 5xx or a 429 when taken again and waited their backoff [{} ≤ {bound:.0} s]",
        median(&mut all_latencies.clone()),
        median(&mut worst_per_kill),
        ok_mark(max_latency <= bound && not_republished == 0)
    );
    println!(
        "graceful stop at the end (SIGTERM, idle): replicas exited in median {:.0} ms (max {:.0} ms)",
        median(&mut stop_times),
        stop_times.iter().copied().fold(0.0, f64::max)
    );
    if !unfinished.is_empty() {
        return Err(format!("{} ids never finished", unfinished.len()).into());
    }
    Ok(())
}
