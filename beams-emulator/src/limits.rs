//! [`Limits`]: how much an emulator keeps, so that unauthenticated callers (the device and
//! reporting APIs are open, as Beams' are) cannot grow it without bound.

/// How much an emulator keeps. The device and reporting APIs carry no secret (browsers call
/// them), so everything they can grow is bounded: requests past a limit are refused with a
/// Beams-shaped error, and the history the emulator records is kept within a memory budget,
/// oldest first out. A record's size is estimated as it sits in memory (parsed JSON, strings
/// and their headers), not as it came over the wire, which is several times smaller.
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
    /// Memory for recorded deliveries (default 32 MiB).
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

/// About how much memory `value` holds once parsed: each JSON value's inline size plus the
/// heap bytes of its strings and containers. A parsed body takes several times its length on
/// the wire (a short string in an array is ~14 bytes of JSON and ~45 in memory), so budgets
/// count this, not the wire size.
pub(crate) fn value_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    const VALUE: usize = size_of::<Value>();
    // A map entry: the key's `String`, the value, and the B-tree's share per entry.
    const ENTRY: usize = size_of::<String>() + 16;
    VALUE
        + match value {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(value_bytes).sum(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| ENTRY + k.len() + value_bytes(v))
                .sum(),
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        }
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

/// About how much memory a list of strings holds.
pub(crate) fn strings_bytes(strings: &[String]) -> usize {
    strings.iter().map(|s| size_of::<String>() + s.len()).sum()
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
