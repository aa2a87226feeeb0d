//! The time limit of `--timeout` and `--kill-after`: one deadline on the
//! monotonic clock that the receive poll wakes for. Unset, it costs the
//! receive loop one atomic load per call.

use crate::sys::{self, timespec};
use std::ffi::c_int;
use std::sync::atomic::{AtomicI64, Ordering};

/// The deadline in ns of CLOCK_MONOTONIC, or 0 when none is set.
static DEADLINE: AtomicI64 = AtomicI64::new(0);

fn now() -> i64 {
    let mut time = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: time is a live timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { sys::clock_gettime(sys::CLOCK_MONOTONIC, &mut time) };
    time.tv_sec * 1_000_000_000 + time.tv_nsec
}

/// Sets the deadline `ns` from now; 0 (or less) clears it.
pub fn set(ns: i64) {
    let deadline = if ns > 0 {
        now().saturating_add(ns).max(1)
    } else {
        0
    };
    DEADLINE.store(deadline, Ordering::SeqCst);
}

/// Whether the deadline has passed; it is then cleared, so that it is
/// reported once.
pub fn expired() -> bool {
    let deadline = DEADLINE.load(Ordering::Relaxed);
    if deadline == 0 || now() < deadline {
        return false;
    }
    DEADLINE.store(0, Ordering::SeqCst);
    true
}

/// `timeout_ms` of a poll (-1: no limit), shortened so that it ends by the
/// deadline (rounded up to the next millisecond).
pub fn limit(timeout_ms: c_int) -> c_int {
    let deadline = DEADLINE.load(Ordering::Relaxed);
    if deadline == 0 || timeout_ms == 0 {
        return timeout_ms;
    }
    let left = ((deadline - now()).max(0) as u64).div_ceil(1_000_000);
    let left = left.min(c_int::MAX as u64) as c_int;
    if timeout_ms < 0 {
        left
    } else {
        timeout_ms.min(left)
    }
}
