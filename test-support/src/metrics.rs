//! A `metrics-util` debugging recorder per test (feature `metrics`), local to the test's
//! thread: what a test records never mixes with another test's, whatever runs in parallel.

use std::collections::BTreeMap;

use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// One recorded metric: its kind, name, labels (`key=value`, sorted) and value.
#[derive(Debug)]
struct Entry {
    kind: MetricKind,
    name: String,
    labels: Vec<(String, String)>,
    value: DebugValue,
}

/// What was recorded while a closure ran.
#[derive(Debug)]
pub struct Recorded(Vec<Entry>);

/// Runs `f` with a fresh debugging recorder as this thread's recorder; returns its output
/// and everything recorded. Async code runs inside `f` on a current-thread runtime, so every
/// poll happens on this thread.
pub fn recorded<T>(f: impl FnOnce() -> T) -> (T, Recorded) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = ::metrics::with_local_recorder(&recorder, f);
    let entries = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<_> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            Entry {
                kind,
                name: key.name().to_owned(),
                labels,
                value,
            }
        })
        .collect();
    (out, Recorded(entries))
}

/// `key=value` pairs joined with `,`, sorted by key: how the expected values are written.
fn render(labels: &[(String, String)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Recorded {
    /// Every counter named `name` with a non-zero value, by its rendered labels.
    pub fn counters(&self, name: &str) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .filter(|e| e.kind == MetricKind::Counter && e.name == name)
            .filter_map(|e| match e.value {
                DebugValue::Counter(0) => None,
                DebugValue::Counter(n) => Some((render(&e.labels), n)),
                _ => None,
            })
            .collect()
    }

    /// How many samples each series of the histogram `name` got, by its rendered labels.
    pub fn samples(&self, name: &str) -> BTreeMap<String, usize> {
        self.0
            .iter()
            .filter(|e| e.kind == MetricKind::Histogram && e.name == name)
            .filter_map(|e| match &e.value {
                DebugValue::Histogram(values) if !values.is_empty() => {
                    Some((render(&e.labels), values.len()))
                }
                _ => None,
            })
            .collect()
    }

    /// The last value of each gauge named `name`, by its rendered labels.
    pub fn gauges(&self, name: &str) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .filter(|e| e.kind == MetricKind::Gauge && e.name == name)
            .filter_map(|e| match e.value {
                DebugValue::Gauge(value) => Some((render(&e.labels), value.into_inner())),
                _ => None,
            })
            .collect()
    }

    /// Every name recorded, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<_> = self.0.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Every label of every key recorded, as `(key, value)`.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|e| e.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// The expected counters or samples: `[("outcome=issued", 1), …]`.
pub fn expect<N: Copy>(pairs: &[(&str, N)]) -> BTreeMap<String, N> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}
