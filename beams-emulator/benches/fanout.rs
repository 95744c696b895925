//! The emulator's publish path under fan-out: 10 interest publishes of about 1 KB to 2 000
//! subscribed web devices while 300 of them hold a live stream (`/_emulator/devices/{id}/stream`)
//! open. One measured iteration is the 10 publishes, over real HTTP, until every stream has
//! received its 10 deliveries; what is measured is the CPU time of the emulator's own threads
//! (its runtime's threads are named `emulator`; Linux's `/proc/self/task/*/schedstat`), so the
//! client's requests and the stream readers, on another runtime, are not counted.
//!
//! ```text
//! cargo bench -p beams-emulator --bench fanout
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use beams_emulator::{Emulator, Platform};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokio::sync::Notify;

const DEVICES: usize = 2_000;
const STREAMS: usize = 300;
const PUBLISHES: usize = 10;
const EMULATOR_THREAD: &str = "emulator";

/// CPU time of this process's threads named `name`, in nanoseconds.
fn thread_cpu_ns(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == name)
        })
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

fn fanout(c: &mut Criterion) {
    let emulator_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(EMULATOR_THREAD)
        .enable_all()
        .build()
        .unwrap();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emu = emulator_runtime
        .block_on(Emulator::builder().start())
        .unwrap();
    let state = emu.state();
    let devices: Vec<String> = (0..DEVICES)
        .map(|_| {
            let device = state.register_device(Platform::Web);
            assert!(state.add_device_interest(&device.id, "news"));
            device.id
        })
        .collect();

    let base = emu.base_url().to_owned();
    let received = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Notify::new());
    let http = reqwest::Client::new();
    client_runtime.block_on(async {
        for device in devices.iter().take(STREAMS) {
            let response = http
                .get(format!("{base}/_emulator/devices/{device}/stream"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let (received, progress) = (received.clone(), progress.clone());
            tokio::spawn(async move {
                let mut response = response;
                let mut pending = Vec::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    pending.extend_from_slice(&chunk);
                    while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        if line.starts_with(b"event: delivery") {
                            received.fetch_add(1, Ordering::SeqCst);
                            progress.notify_one();
                        }
                    }
                }
            });
        }
    });

    let publish = format!(
        "{base}/publish_api/v1/instances/{}/publishes/interests",
        state.instance_id()
    );
    // About 1 KB on the wire.
    let body = json!({
        "interests": ["news"],
        "web": {
            "notification": {"title": "News", "body": "b".repeat(900)},
            "data": {"story": 42}
        }
    });

    let mut group = c.benchmark_group("emulator");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("fanout_10_publishes_2000_devices_300_streams", |b| {
        b.iter_custom(|iters| {
            let mut cpu = Duration::ZERO;
            for _ in 0..iters {
                let before = thread_cpu_ns(EMULATOR_THREAD);
                client_runtime.block_on(async {
                    let expected = received.load(Ordering::SeqCst) + STREAMS * PUBLISHES;
                    for _ in 0..PUBLISHES {
                        let response = http
                            .post(&publish)
                            .bearer_auth(state.secret_key())
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(response.status(), 200);
                    }
                    let waited = tokio::time::timeout(Duration::from_secs(60), async {
                        while received.load(Ordering::SeqCst) < expected {
                            progress.notified().await;
                        }
                    })
                    .await;
                    assert!(waited.is_ok(), "every stream gets every delivery");
                });
                cpu += Duration::from_nanos(thread_cpu_ns(EMULATOR_THREAD) - before);
            }
            cpu
        });
    });
    group.finish();
    drop(emu);
}

criterion_group!(benches, fanout);
criterion_main!(benches);
