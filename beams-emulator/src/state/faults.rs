//! Injected faults and the rate limit of the publish and customer APIs.

use std::time::{Duration, Instant};

use super::EmulatorState;
use crate::model::Fault;

impl EmulatorState {
    /// Queue a fault for the next matching requests (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.inner().faults.push_back(fault);
    }

    /// The faults still queued, with their remaining counts.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.inner().faults.iter().cloned().collect()
    }

    /// Remove every queued fault.
    pub fn clear_faults(&self) {
        self.inner().faults.clear();
    }

    /// Turn the rate limit on (`Some(requests per second)`) or off (`None`). It applies to the
    /// publish and customer APIs and answers `429 {"description":"max 100 RPS"}` (with the limit
    /// used).
    pub fn set_rate_limit(&self, requests_per_second: Option<u32>) {
        let mut inner = self.inner();
        inner.rate_limit = requests_per_second;
        inner.rate = None;
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut inner = self.inner();
        let index = inner.faults.iter().position(|f| f.matches(method, path))?;
        let fault = &mut inner.faults[index];
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            inner.faults.remove(index);
        }
        Some(taken)
    }

    pub(crate) fn check_rate(&self) -> (RateCheck, u32) {
        let mut inner = self.inner();
        let Some(limit) = inner.rate_limit else {
            return (RateCheck::Allowed, 0);
        };
        let now = Instant::now();
        if inner
            .rate
            .as_ref()
            .is_none_or(|w| now.duration_since(w.started) >= Duration::from_secs(1))
        {
            inner.rate = None;
        }
        let window = inner.rate.get_or_insert(RateWindow {
            started: now,
            count: 0,
        });
        window.count += 1;
        if window.count > limit {
            (RateCheck::Limited, limit)
        } else {
            (RateCheck::Allowed, limit)
        }
    }
}

#[derive(Debug)]
pub(super) struct RateWindow {
    started: Instant,
    count: u32,
}

/// The outcome of checking the rate limit.
pub(crate) enum RateCheck {
    Allowed,
    Limited,
}
