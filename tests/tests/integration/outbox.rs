//! The durable outbox against a real `redis-server`: through the emulator over HTTP (with its
//! fault injection) and through a recording publisher where the count of calls matters.
//!
//! `cargo test -p beams-tests --test integration outbox`

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use beams_core::Instance;
use beams_core::outbox::{Outbox, OutboxError, Publish, State, Status, Worker};
use beams_core::publish::{
    ApiError, BeamsClient, FakePublisher, Notification, PublishCall, PublishError, PublishResponse,
    Publisher, RetryPolicy, ValidationError, WebNotification, WebPayload,
};
use beams_emulator::{Emulator, Fault, PublishTarget};
use beams_tests::redis::RedisServer;
use http::StatusCode;
use tokio::sync::oneshot;

fn notification() -> Notification {
    Notification::new().web(WebPayload::new().notification(WebNotification::new("Hi", "Hello")))
}

fn outbox(redis: &RedisServer) -> beams_core::outbox::OutboxBuilder {
    Outbox::builder(&redis.url()).redis_timeout(Duration::from_millis(500))
}

/// A worker running until the returned sender is dropped or fired.
fn spawn_worker(
    outbox: &Outbox,
    publisher: Arc<dyn Publisher>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    spawn(outbox.worker(publisher))
}

/// `worker`, polling every 20 ms, running until the returned sender is dropped or fired.
fn spawn(worker: Worker) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = worker.poll_interval(Duration::from_millis(20));
    let handle = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    (stop, handle)
}

/// Waits (at most 10 s) until `calls` reaches `n`.
async fn until_called(calls: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "{n} calls expected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the status of `id` until `done` holds, for at most `within`.
async fn wait_for(
    outbox: &Outbox,
    id: &str,
    within: Duration,
    done: impl Fn(&Status) -> bool,
) -> Status {
    let deadline = Instant::now() + within;
    loop {
        let status = outbox.status(id).await.unwrap().expect("a stored publish");
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{id} still {status:?} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stores a publish to `user`; its id.
async fn enqueue_to(outbox: &Outbox, user: &str) -> String {
    let publish = Publish::to_users([user], &notification()).unwrap();
    outbox.enqueue(publish).await.unwrap().id().to_owned()
}

/// Batches pending and dead letters kept.
async fn sizes(outbox: &Outbox) -> (u64, u64) {
    let sizes = outbox.sizes().await.unwrap();
    (sizes.pending, sizes.dead_letters)
}

fn finished(status: &Status) -> bool {
    status.state() != State::Queued
}

fn api(code: u16) -> PublishError {
    let error = ApiError::new(StatusCode::from_u16(code).unwrap(), "e", "refused");
    match code {
        400 | 413 | 422 => PublishError::Rejected(error),
        500..=599 => PublishError::Server(error),
        _ => PublishError::UnexpectedStatus(error),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_5xx_then_recovery_delivers_everything_once() {
    let redis = RedisServer::start();
    let emu = Emulator::builder().start().await.unwrap();
    let state = emu.state();
    let instance = Instance::builder(state.instance_id(), state.secret_key())
        .endpoint(emu.base_url())
        .build()
        .unwrap();
    // The client sends each attempt once: the outbox decides about retries.
    let client = BeamsClient::builder(&instance)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    // Beams is down for the first 45 publish requests (503, a dropped connection, 500).
    state.inject_fault(Fault::status(503).times(20).path_prefix("/publish_api"));
    state.inject_fault(
        Fault::drop_connection()
            .times(5)
            .path_prefix("/publish_api"),
    );
    state.inject_fault(Fault::status(500).times(20).path_prefix("/publish_api"));

    let outbox = outbox(&redis).build().unwrap();
    let mut ids = Vec::new();
    for i in 0..30 {
        let publish = Publish::to_users([format!("user-{i}")], &notification()).unwrap();
        ids.push(outbox.enqueue(publish).await.unwrap().id().to_owned());
    }
    let (stop, worker) = spawn_worker(&outbox, Arc::new(client));
    for id in &ids {
        let status = wait_for(&outbox, id, Duration::from_secs(30), finished).await;
        assert_eq!(status.state(), State::Published, "{status:?}");
        assert_eq!(status.publish_ids().len(), 1);
    }
    assert!(state.pending_faults().is_empty(), "every fault was met");
    // Every user got exactly one publish, and its id is the one the outbox kept.
    let mut per_user: HashMap<String, Vec<String>> = HashMap::new();
    for publish in state.publishes() {
        let PublishTarget::Users(users) = publish.target else {
            panic!("a publish to users");
        };
        for user in users {
            per_user
                .entry(user)
                .or_default()
                .push(publish.publish_id.clone());
        }
    }
    assert_eq!(per_user.len(), 30);
    for (i, id) in ids.iter().enumerate() {
        let status = outbox.status(id).await.unwrap().unwrap();
        assert_eq!(
            per_user[&format!("user-{i}")],
            status.publish_ids(),
            "user-{i}"
        );
        assert!(status.attempts() >= 1);
    }
    // Some needed more than one attempt: the outage was seen, not skipped.
    let mut retried = 0;
    for id in &ids {
        if outbox.status(id).await.unwrap().unwrap().attempts() > 1 {
            retried += 1;
        }
    }
    assert!(retried > 0);
    assert_eq!(sizes(&outbox).await, (0, 0));
    stop.send(()).unwrap();
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_is_dead_after_one_request_and_can_be_replayed_or_deleted() {
    let redis = RedisServer::start();
    let fake = Arc::new(FakePublisher::new());
    let outbox = outbox(&redis).build().unwrap();
    let mut dead_ids = Vec::new();
    for (code, user) in [(400, "ann"), (422, "bob"), (401, "cy"), (404, "dee")] {
        fake.fail_next(api(code));
        let publish = Publish::to_users([user], &notification())
            .unwrap()
            .tag(user);
        let id = outbox.enqueue(publish).await.unwrap().id().to_owned();
        let (stop, worker) = spawn_worker(&outbox, fake.clone());
        let status = wait_for(&outbox, &id, Duration::from_secs(10), finished).await;
        stop.send(()).unwrap();
        worker.await.unwrap();
        assert_eq!(status.state(), State::Dead);
        assert_eq!(status.attempts(), 1, "{code}: one request, no retry");
        let error = status.error().unwrap();
        assert_eq!(error.status(), Some(code));
        assert_eq!(error.description(), Some("refused"));
        dead_ids.push(id);
    }
    assert_eq!(fake.calls().len(), 4);

    let letters = outbox.dead_letters(0, 100).await.unwrap();
    assert_eq!(letters.len(), 4);
    assert_eq!(
        letters.iter().map(|l| l.outbox_id()).collect::<Vec<_>>(),
        dead_ids
    );
    assert_eq!(letters[1].tag(), Some("bob"));
    assert_eq!(sizes(&outbox).await, (0, 4));

    // Replay one (it now succeeds), delete another; the others stay.
    assert!(outbox.replay(letters[0].id()).await.unwrap());
    assert!(
        !outbox.replay(letters[0].id()).await.unwrap(),
        "replayed once"
    );
    assert!(outbox.delete_dead_letter(letters[1].id()).await.unwrap());
    assert!(!outbox.delete_dead_letter(letters[1].id()).await.unwrap());
    assert!(!outbox.replay(letters[1].id()).await.unwrap(), "deleted");
    assert!(!outbox.replay("not-an-id").await.unwrap());
    let (stop, worker) = spawn_worker(&outbox, fake.clone());
    let status = wait_for(&outbox, &dead_ids[0], Duration::from_secs(10), |s| {
        s.state() == State::Published
    })
    .await;
    stop.send(()).unwrap();
    worker.await.unwrap();
    assert_eq!(status.attempts(), 2);
    assert_eq!(
        outbox.status(&dead_ids[1]).await.unwrap().unwrap().state(),
        State::Dead
    );
    assert_eq!(outbox.dead_letters(0, 100).await.unwrap().len(), 2);
    assert_eq!(
        fake.users_published_to(),
        ["ann", "bob", "cy", "dee", "ann"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_past_max_age_is_dead() {
    let redis = RedisServer::start();
    let fake = Arc::new(FakePublisher::new());
    for _ in 0..20 {
        fake.fail_next(api(503));
    }
    let outbox = outbox(&redis)
        .max_age(Duration::from_secs(2))
        .build()
        .unwrap();
    let id = enqueue_to(&outbox, "ann").await;
    let (stop, worker) = spawn_worker(&outbox, fake.clone());
    let status = wait_for(&outbox, &id, Duration::from_secs(15), finished).await;
    stop.send(()).unwrap();
    worker.await.unwrap();
    assert_eq!(status.state(), State::Dead);
    // Backoff of 0.5–1 s, then 1–2 s: two or three tries fit in two seconds.
    assert!((2..=4).contains(&status.attempts()), "{status:?}");
    assert_eq!(fake.calls().len() as u32, status.attempts());
    assert_eq!(status.error().unwrap().status(), Some(503));
}

/// A publisher that never answers: a worker that holds a batch and then dies.
#[derive(Debug, Default)]
struct Hangs {
    calls: AtomicUsize,
}

#[async_trait]
impl Publisher for Hangs {
    async fn publish_to_interests(
        &self,
        _: &[&str],
        _: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }
    async fn publish_to_users(
        &self,
        _: &[&str],
        _: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }
    async fn delete_user(&self, _: &str) -> Result<(), PublishError> {
        std::future::pending().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_batches_are_published_by_another_within_claim_idle() {
    let redis = RedisServer::start();
    let claim_idle = Duration::from_secs(2);
    let outbox = outbox(&redis).claim_idle(claim_idle).build().unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let publish = Publish::to_users([format!("u{i}")], &notification()).unwrap();
        ids.push(outbox.enqueue(publish).await.unwrap().id().to_owned());
    }
    // The first worker takes everything, then dies mid-request (its task is dropped: no
    // settle, no shutdown, as with SIGKILL).
    let hangs = Arc::new(Hangs::default());
    let (_stop, first) = spawn_worker(&outbox, hangs.clone());
    until_called(&hangs.calls, 5).await;
    first.abort();
    let died = Instant::now();
    let fake = Arc::new(FakePublisher::new());
    let (stop, second) = spawn_worker(&outbox, fake.clone());
    for id in &ids {
        wait_for(&outbox, id, claim_idle + Duration::from_secs(5), |s| {
            s.state() == State::Published
        })
        .await;
    }
    assert!(
        died.elapsed() >= claim_idle - Duration::from_millis(100),
        "not claimed before claim_idle"
    );
    assert_eq!(fake.calls().len(), 5);
    stop.send(()).unwrap();
    second.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_is_not_taken_over() {
    // A request longer than claim_idle: the worker keeps its batch fresh, so a second
    // worker does not send it again.
    let redis = RedisServer::start();
    let emu = Emulator::builder().start().await.unwrap();
    let state = emu.state();
    let instance = Instance::builder(state.instance_id(), state.secret_key())
        .endpoint(emu.base_url())
        .build()
        .unwrap();
    state.inject_fault(Fault::latency(Duration::from_millis(2500)).path_prefix("/publish_api"));
    let outbox = outbox(&redis)
        .claim_idle(Duration::from_millis(900))
        .build()
        .unwrap();
    let id = enqueue_to(&outbox, "slow").await;
    let client = || Arc::new(BeamsClient::new(&instance).unwrap());
    let (stop_a, a) = spawn_worker(&outbox, client());
    let (stop_b, b) = spawn_worker(&outbox, client());
    let status = wait_for(&outbox, &id, Duration::from_secs(10), finished).await;
    assert_eq!(status.state(), State::Published);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(state.publishes().len(), 1, "sent once");
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    a.await.unwrap();
    b.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_scheduling_batches_and_retention() {
    let redis = RedisServer::start();
    let outbox = outbox(&redis)
        .retention(Duration::from_secs(2))
        .build()
        .unwrap();
    let n = notification();

    // The same key twice: the first id, nothing stored the second time.
    let first = outbox
        .enqueue(
            Publish::to_users(["ann"], &n)
                .unwrap()
                .idempotency_key("k-1"),
        )
        .await
        .unwrap();
    let again = outbox
        .enqueue(
            Publish::to_users(["bob"], &n)
                .unwrap()
                .idempotency_key("k-1"),
        )
        .await
        .unwrap();
    assert!(!first.is_duplicate());
    assert!(again.is_duplicate());
    assert_eq!(first.id(), again.id());
    assert_eq!(sizes(&outbox).await, (1, 0));

    // 2 500 users (and 500 repeats): three batches.
    let users: Vec<String> = (0..3000).map(|i| format!("user-{}", i % 2500)).collect();
    let fanout = Publish::to_users(&users, &n).unwrap();
    assert_eq!(fanout.batches(), 3);
    let fanout = outbox.enqueue(fanout).await.unwrap();

    // Two seconds from now.
    let enqueued_at = SystemTime::now();
    let later = outbox
        .enqueue(
            Publish::to_interests(&["news"], &n)
                .unwrap()
                .send_at(enqueued_at + Duration::from_secs(2)),
        )
        .await
        .unwrap();
    let status = outbox.status(later.id()).await.unwrap().unwrap();
    assert_eq!(status.state(), State::Queued);
    let due = status.next_attempt().unwrap();
    assert!(due >= enqueued_at + Duration::from_millis(1900), "{due:?}");

    let fake = Arc::new(FakePublisher::new());
    let (stop, worker) = spawn_worker(&outbox, fake.clone());
    let fanout_status = wait_for(&outbox, fanout.id(), Duration::from_secs(10), finished).await;
    assert_eq!(fanout_status.state(), State::Published);
    assert_eq!(fanout_status.batches(), 3);
    assert_eq!(fanout_status.publish_ids().len(), 3);
    wait_for(&outbox, later.id(), Duration::from_secs(10), finished).await;
    let sent_later = SystemTime::now();
    assert!(sent_later >= enqueued_at + Duration::from_millis(1900));
    stop.send(()).unwrap();
    worker.await.unwrap();

    let calls = fake.calls();
    let mut users_sent: Vec<String> = Vec::new();
    let mut interests = 0;
    for call in &calls {
        match call {
            PublishCall::Users { users, .. } => {
                assert!(users.len() <= 1000);
                users_sent.extend(users.iter().cloned());
            }
            PublishCall::Interests { interests: i, .. } => {
                assert_eq!(i, &["news"]);
                interests += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(interests, 1);
    users_sent.sort();
    let mut expected: Vec<String> = (0..2500).map(|i| format!("user-{i}")).collect();
    expected.push("ann".to_owned());
    expected.sort();
    assert_eq!(users_sent, expected, "each user once, bob never");

    // Published jobs are deleted after the retention (2 s here).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(outbox.status(first.id()).await.unwrap().is_none());
    assert!(outbox.status(fanout.id()).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_is_stored() {
    let redis = RedisServer::start();
    let outbox = outbox(&redis)
        .max_age(Duration::from_secs(3600))
        .build()
        .unwrap();
    let n = notification();
    assert!(Publish::to_users(Vec::<String>::new(), &n).is_err());
    let too_long = "x".repeat(165);
    let error = Publish::to_users(std::iter::once("ok").chain((0..1500).map(|_| "y")), &n);
    assert!(error.is_ok(), "duplicates are removed, not refused");
    let mut users: Vec<String> = (0..1500).map(|i| format!("u{i}")).collect();
    users[1200] = too_long;
    match Publish::to_users(&users, &n) {
        Err(ValidationError::InvalidUser { index, .. }) => assert_eq!(index, 1200),
        other => panic!("{other:?}"),
    }
    assert!(Publish::to_users(["ok"], &Notification::new()).is_err());
    assert!(Publish::to_interests(&["a:b"], &n).is_err());
    let ok = || Publish::to_users(["ann"], &n).unwrap();
    for key in ["", "line\nbreak", &"k".repeat(257)] {
        assert!(matches!(
            outbox.enqueue(ok().idempotency_key(key)).await,
            Err(OutboxError::InvalidIdempotencyKey)
        ));
    }
    assert!(matches!(
        outbox.enqueue(ok().tag("t".repeat(257))).await,
        Err(OutboxError::TagTooLong)
    ));
    assert!(matches!(
        outbox.enqueue(ok().delay(Duration::from_secs(7200))).await,
        Err(OutboxError::DelayTooLong { .. })
    ));
    assert_eq!(sizes(&outbox).await, (0, 0));
    assert!(outbox.status("../../etc").await.unwrap().is_none());
    assert!(
        outbox
            .status("0123456789abcdef0123456789abcdef")
            .await
            .unwrap()
            .is_none()
    );
    // Builder checks.
    assert!(Outbox::builder("not a url").build().is_err());
    for short in [Duration::ZERO, Duration::from_millis(100)] {
        assert!(matches!(
            Outbox::builder(&redis.url()).claim_idle(short).build(),
            Err(beams_core::outbox::BuildError::OutOfRange {
                setting: "claim_idle",
                ..
            })
        ));
    }
    assert!(
        Outbox::builder(&redis.url())
            .retention(Duration::MAX)
            .build()
            .is_err()
    );
    assert!(Outbox::builder(&redis.url()).prefix("a b").build().is_err());
    assert!(
        Outbox::builder(&redis.url())
            .claim_idle(Duration::ZERO)
            .build()
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_at_enqueue_answers_an_error_never_an_id() {
    let redis = RedisServer::start();
    let outbox = outbox(&redis).build().unwrap();
    // Connected and working first.
    outbox
        .enqueue(Publish::to_users(["ann"], &notification()).unwrap())
        .await
        .unwrap();
    redis.pause();
    let started = Instant::now();
    let result = outbox
        .enqueue(Publish::to_users(["bob"], &notification()).unwrap())
        .await;
    let took = started.elapsed();
    redis.resume();
    let error = result.expect_err("no id while Redis is frozen");
    assert!(matches!(error, OutboxError::Unavailable { .. }), "{error}");
    assert!(took < Duration::from_secs(5), "bounded: {took:?}");
    // Status and sizes fail the same way, and a dead Redis too.
    let mut redis = redis;
    redis.kill();
    let error = outbox.sizes().await.unwrap_err();
    assert!(matches!(error, OutboxError::Unavailable { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_survives_a_redis_restart_and_shuts_down_within_its_bound() {
    let mut redis = RedisServer::start();
    let fake = Arc::new(FakePublisher::new());
    let outbox = outbox(&redis).build().unwrap();
    let (stop, worker) = spawn_worker(&outbox, fake.clone());
    let id = outbox
        .enqueue(Publish::to_users(["ann"], &notification()).unwrap())
        .await
        .unwrap();
    wait_for(&outbox, id.id(), Duration::from_secs(10), finished).await;
    // Redis restarts empty (no persistence here): the worker makes its group again.
    redis.restart();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let id = loop {
        match outbox
            .enqueue(Publish::to_users(["bob"], &notification()).unwrap())
            .await
        {
            Ok(id) => break id,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    wait_for(&outbox, id.id(), Duration::from_secs(15), finished).await;
    assert_eq!(fake.users_published_to(), ["ann", "bob"]);
    let stopping = Instant::now();
    stop.send(()).unwrap();
    worker.await.unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(15));
}

/// A publisher whose first call waits until the test opens the gate; later calls answer at
/// once. Counts calls.
#[derive(Debug, Default)]
struct Gate {
    calls: AtomicUsize,
    open: tokio::sync::Notify,
}

impl Gate {
    async fn call(&self) -> Result<PublishResponse, PublishError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n == 0 {
            self.open.notified().await;
        }
        Ok(PublishResponse::new(format!("pub-{n}")))
    }
}

#[async_trait]
impl Publisher for Gate {
    async fn publish_to_interests(
        &self,
        _: &[&str],
        _: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.call().await
    }
    async fn publish_to_users(
        &self,
        _: &[&str],
        _: &Notification,
    ) -> Result<PublishResponse, PublishError> {
        self.call().await
    }
    async fn delete_user(&self, _: &str) -> Result<(), PublishError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_recorded_after_a_short_redis_outage_is_not_sent_again() {
    // Beams answers while Redis is frozen for less than claim_idle: the worker keeps trying
    // to record it (and keeps its entry fresh) instead of leaving it to be claimed and sent
    // again by the other worker.
    let redis = RedisServer::start();
    let claim_idle = Duration::from_secs(4);
    let outbox = outbox(&redis).claim_idle(claim_idle).build().unwrap();
    let id = enqueue_to(&outbox, "ann").await;
    let gate = Arc::new(Gate::default());
    let (stop_a, a) = spawn_worker(&outbox, gate.clone());
    until_called(&gate.calls, 1).await;
    let (stop_b, b) = spawn_worker(&outbox, gate.clone());
    redis.pause();
    gate.open.notify_one();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    redis.resume();
    let status = wait_for(&outbox, &id, Duration::from_secs(10), finished).await;
    // Past claim_idle since the freeze: the other worker had its chance.
    tokio::time::sleep(claim_idle + Duration::from_secs(1)).await;
    assert_eq!(gate.calls.load(Ordering::SeqCst), 1, "sent once");
    assert_eq!(status.publish_ids(), ["pub-0"]);
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    a.await.unwrap();
    b.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_hands_back_what_it_holds_and_leaves_the_group() {
    let redis = RedisServer::start();
    // The default claim_idle (30 s): what a stopped worker held must not wait for it.
    let outbox = outbox(&redis).build().unwrap();
    let id = enqueue_to(&outbox, "ann").await;
    let hangs = Arc::new(Hangs::default());
    let (stop, first) = spawn(
        outbox
            .worker(hangs.clone())
            .drain_timeout(Duration::from_millis(300)),
    );
    until_called(&hangs.calls, 1).await;
    stop.send(()).unwrap();
    first.await.unwrap();
    let handed_back = Instant::now();
    let fake = Arc::new(FakePublisher::new());
    let (stop, second) = spawn_worker(&outbox, fake.clone());
    wait_for(&outbox, &id, Duration::from_secs(10), |s| {
        s.state() == State::Published
    })
    .await;
    assert!(
        handed_back.elapsed() < Duration::from_secs(10),
        "taken over at once, not after claim_idle"
    );
    stop.send(()).unwrap();
    second.await.unwrap();
    // Both workers left the group: stopped workers leave no consumer behind.
    let consumers = redis.cli(&[
        "XINFO",
        "CONSUMERS",
        "{beams-outbox}:stream",
        "beams-outbox",
    ]);
    assert_eq!(consumers.trim(), "", "{consumers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_counts_from_the_first_due_time() {
    // Scheduled 2.5 s ahead with a max age of 3 s: its first 5xx is retried, not dead.
    let redis = RedisServer::start();
    let outbox = outbox(&redis)
        .max_age(Duration::from_secs(3))
        .build()
        .unwrap();
    let fake = Arc::new(FakePublisher::new());
    fake.fail_next(api(503));
    let id = outbox
        .enqueue(
            Publish::to_users(["ann"], &notification())
                .unwrap()
                .delay(Duration::from_millis(2500)),
        )
        .await
        .unwrap()
        .id()
        .to_owned();
    let (stop, worker) = spawn_worker(&outbox, fake.clone());
    let status = wait_for(&outbox, &id, Duration::from_secs(15), finished).await;
    stop.send(()).unwrap();
    worker.await.unwrap();
    assert_eq!(status.state(), State::Published, "{status:?}");
    assert_eq!(status.attempts(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_runs_on_a_redis_cluster() {
    // Three outboxes (three prefixes, three slots) on a three-node cluster, reached through
    // one seed node: the client follows the cluster to whichever node owns each slot.
    let cluster = beams_test_support::redis::RedisCluster::start();
    let seed = cluster.urls()[0].clone();
    let fake = Arc::new(FakePublisher::new());
    // Users named `dead-…` are refused until `refuse` is cleared.
    let refuse = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let refusing = refuse.clone();
    fake.fail_with(move |call| match call {
        PublishCall::Users { users, .. }
            if users[0].starts_with("dead-") && refusing.load(Ordering::SeqCst) =>
        {
            Some(api(400))
        }
        _ => None,
    });
    let mut outboxes = Vec::new();
    for prefix in ["{orders}", "{news}", "{alerts}", "{billing}"] {
        refuse.store(true, Ordering::SeqCst);
        let outbox = Outbox::cluster_builder([seed.as_str()])
            .prefix(prefix)
            .redis_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let dead = enqueue_to(&outbox, &format!("dead-{prefix}")).await;
        let again = Publish::to_users([format!("ok-{prefix}")], &notification())
            .unwrap()
            .idempotency_key("same");
        let first = outbox.enqueue(again.clone()).await.unwrap();
        assert!(outbox.enqueue(again).await.unwrap().is_duplicate());
        let (stop, worker) = spawn_worker(&outbox, fake.clone());
        let dead_status = wait_for(&outbox, &dead, Duration::from_secs(15), finished).await;
        let ok_status = wait_for(&outbox, first.id(), Duration::from_secs(15), finished).await;
        assert_eq!(dead_status.state(), State::Dead);
        assert_eq!(ok_status.state(), State::Published);
        let letters = outbox.dead_letters(0, 10).await.unwrap();
        assert_eq!(letters.len(), 1);
        refuse.store(false, Ordering::SeqCst);
        assert!(outbox.replay(letters[0].id()).await.unwrap());
        wait_for(&outbox, &dead, Duration::from_secs(15), |s| {
            s.state() == State::Published
        })
        .await;
        assert_eq!(sizes(&outbox).await, (0, 0));
        stop.send(()).unwrap();
        worker.await.unwrap();
        outboxes.push(outbox);
    }
    // The keys live on more than one node: redirects were followed.
    let holding = cluster
        .keys_per_node()
        .into_iter()
        .filter(|keys| *keys > 0)
        .count();
    assert!(holding >= 2, "{:?}", cluster.keys_per_node());
    assert_eq!(fake.calls().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_leaves_alone_what_another_has_claimed() {
    // Worker A holds a batch whose request hangs; meanwhile another consumer ("b") claims
    // it (as after A lost Redis for claim_idle). A is then stopped past its drain timeout:
    // it must not hand back the entry that is now b's (b's answer would be thrown away and
    // the batch sent again).
    let redis = RedisServer::start();
    let outbox = outbox(&redis).build().unwrap();
    let id = enqueue_to(&outbox, "ann").await;
    let hangs = Arc::new(Hangs::default());
    let (stop, a) = spawn(
        outbox
            .worker(hangs.clone())
            .consumer_name("a")
            .drain_timeout(Duration::from_millis(200)),
    );
    until_called(&hangs.calls, 1).await;
    let stream = "{beams-outbox}:stream";
    let entry = redis.cli(&["XRANGE", stream, "-", "+"]);
    let entry = entry.lines().next().unwrap().trim().to_owned();
    let claimed = redis.cli(&["XCLAIM", stream, "beams-outbox", "b", "0", &entry, "JUSTID"]);
    assert_eq!(claimed.trim(), entry);
    stop.send(()).unwrap();
    a.await.unwrap();
    // Still b's, still the batch's one entry; nothing added.
    let pending = redis.cli(&["XPENDING", stream, "beams-outbox", "-", "+", "10", "b"]);
    assert!(pending.contains(&entry), "{pending}");
    assert_eq!(redis.cli(&["XLEN", stream]).trim(), "1");
    let status = outbox.status(&id).await.unwrap().unwrap();
    assert_eq!(status.state(), State::Queued);
}
