//! [`Limits`]: how much an emulator keeps, so that unauthenticated callers (the device and
//! reporting APIs are open, as Beams' are) cannot grow it without bound.

/// How much an emulator keeps. The device and reporting APIs carry no secret (browsers call
/// them), so everything they can grow is bounded: requests past a limit are refused with a
/// Beams-shaped error, and the history the emulator records is kept within a memory budget,
/// oldest first out. A record counts what it holds in memory, as the allocator hands it out
/// (parsed JSON with its B-tree nodes, strings, its slot in the log), not what came over the
/// wire, which is several times smaller. The payload of a publish is built once per platform
/// and shared by all its deliveries, so it counts once: a delivery's own part is about 200
/// bytes. The process can hold more than the budgets: glibc's allocator keeps memory freed by
/// one thread in that thread's arena (set `MALLOC_ARENA_MAX=2` to limit that).
///
/// ```
/// use beams_emulator::{Emulator, Limits};
///
/// let mut limits = Limits::default();
/// limits.max_devices = 100;
/// let state = Emulator::builder().limits(limits).build_state()?;
/// # let _ = state;
/// # Ok::<(), beams_emulator::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Registered devices; a registration past it is refused with `422` (default 10 000).
    pub max_devices: usize,
    /// Interest subscriptions over all devices; a subscription past it is refused with
    /// `422` (default 100 000). Beams' own limit of 5 000 per device applies too.
    pub max_subscriptions: usize,
    /// Memory for recorded deliveries, their shared payloads included (default 32 MiB: about
    /// 160 000 deliveries of a 2 KB publish).
    pub max_delivery_bytes: usize,
    /// Memory for recorded publishes, bodies and target lists included (default 16 MiB).
    pub max_publish_bytes: usize,
    /// Memory for recorded reporting events (default 4 MiB).
    pub max_event_bytes: usize,
    /// Memory for recorded webhook attempts (default 4 MiB).
    pub max_webhook_bytes: usize,
    /// Delivery streams (`/_emulator/devices/{id}/stream`) open at once; one more is refused
    /// with `503` and `Retry-After`, so that streams cannot take every connection the
    /// emulator serves (default 512, half of its default 1 024 connections).
    pub max_streams: usize,
    /// Webhook events waiting to be delivered: being sent, or waiting for a retry (Beams
    /// retries over 460 s). An event past it is dropped, not sent, and counted in
    /// [`WebhookStats::dropped`](crate::WebhookStats::dropped) (default 1 000).
    pub max_pending_webhooks: usize,
    /// Memory for those pending events: each one's body and the task that sends it. An event
    /// past it is dropped as above (default 4 MiB).
    pub max_pending_webhook_bytes: usize,
    /// Webhook requests in flight at once, so as many outgoing connections at most; the other
    /// pending events wait for one to finish (default 16; 0 is taken as 1).
    pub max_webhook_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_devices: 10_000,
            max_subscriptions: 100_000,
            max_delivery_bytes: 32 << 20,
            max_publish_bytes: 16 << 20,
            max_event_bytes: 4 << 20,
            max_webhook_bytes: 4 << 20,
            max_streams: 512,
            max_pending_webhooks: 1_000,
            max_pending_webhook_bytes: 4 << 20,
            max_webhook_connections: 16,
        }
    }
}

/// Largest body of a device registration (`POST …/devices/{platform}`): a token and a small
/// metadata object. A web push subscription, base64-encoded, is well under 1 KiB.
pub(crate) const REGISTRATION_BODY_LIMIT: usize = 8 * 1024;
/// Largest token a device may register with.
pub(crate) const MAX_TOKEN_BYTES: usize = 4 * 1024;
/// Largest serialized metadata object a device may carry.
pub(crate) const MAX_METADATA_BYTES: usize = 1024;
/// Largest reporting event body.
pub(crate) const REPORTING_BODY_LIMIT: usize = 4 * 1024;
/// Largest body of other device API requests (`PUT …/interests` with 5 000 interests of
/// 164 characters fits).
pub(crate) const DEVICE_BODY_LIMIT: usize = 1024 * 1024;

/// About how much memory `value` holds once parsed: its inline size and every allocation it
/// owns as the allocator hands it out (see [`heap_bytes`]). A parsed body takes several times
/// its length on the wire: each JSON object is a B-tree whose nodes hold 11 entries (about
/// 640 bytes each, however few are used), so budgets count this, not the wire size.
pub(crate) fn value_bytes(value: &serde_json::Value) -> usize {
    size_of::<serde_json::Value>() + value_heap_bytes(value)
}

/// The allocations `value` owns, beside its inline size.
fn value_heap_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::String(s) => heap_bytes(s.capacity()),
        Value::Array(items) => {
            heap_bytes(items.capacity() * size_of::<Value>())
                + items.iter().map(value_heap_bytes).sum::<usize>()
        }
        Value::Object(map) => {
            btree_bytes::<String, Value>(map.len())
                + map
                    .iter()
                    .map(|(k, v)| heap_bytes(k.capacity()) + value_heap_bytes(v))
                    .sum::<usize>()
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// An upper bound of the nodes of a `BTreeMap<K, V>` of `len` entries: every node but the
/// root holds at least 5 of its 11 slots, and the internal ones carry 12 child pointers.
pub(crate) fn btree_bytes<K, V>(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    // Keys, values, parent pointer, parent index and length.
    let leaf = 11 * (size_of::<K>() + size_of::<V>()) + 8 + 4;
    let internal = leaf + 12 * 8;
    let nodes = 1 + len / 5;
    // At most one node in six is internal (each has at least six children).
    let internals = nodes / 6;
    (nodes - internals) * heap_bytes(leaf) + internals * heap_bytes(internal)
}

/// What an allocation of `len` bytes takes from the allocator: glibc's chunks carry an 8-byte
/// header, are 16-byte aligned and at least 32 bytes. Nothing is allocated for 0.
pub(crate) fn heap_bytes(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len + 8).div_ceil(16).max(2) * 16
    }
}

/// About how much memory a list of strings holds: the list's allocation and each string's.
#[allow(clippy::ptr_arg, reason = "a Vec's capacity is part of what it holds")]
pub(crate) fn strings_bytes(strings: &Vec<String>) -> usize {
    heap_bytes(strings.capacity() * size_of::<String>())
        + strings
            .iter()
            .map(|s| heap_bytes(s.capacity()))
            .sum::<usize>()
}

/// A log kept within a byte budget: pushing evicts the oldest entries until the total fits.
#[derive(Debug)]
pub(crate) struct BoundedLog<T> {
    entries: std::collections::VecDeque<(T, usize)>,
    bytes: usize,
    budget: usize,
}

impl<T> BoundedLog<T> {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            entries: std::collections::VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// Appends `entry`, which takes about `bytes`; an entry larger than the whole budget is
    /// not kept.
    pub(crate) fn push(&mut self, entry: T, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        self.entries.push_back((entry, bytes));
        self.bytes += bytes;
        while self.bytes > self.budget {
            match self.entries.pop_front() {
                Some((_, size)) => self.bytes -= size,
                None => break,
            }
        }
    }

    /// The bytes its entries take, as pushed.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most its entries may take.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.entries.iter().map(|(entry, _)| entry)
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_stays_within_its_budget_oldest_out() {
        let mut log = BoundedLog::new(100);
        for i in 0..50 {
            log.push(i, 10);
            assert!(log.bytes <= 100);
        }
        assert_eq!(
            log.iter().copied().collect::<Vec<_>>(),
            (40..50).collect::<Vec<_>>()
        );
        log.push(99, 101);
        assert_eq!(
            log.iter().count(),
            10,
            "an entry over the budget is not kept"
        );
        log.clear();
        assert_eq!((log.iter().count(), log.bytes), (0, 0));
    }
}
