//! Clocks, sleeping and timers, with QNX's names: `clock_gettime`,
//! `nanosleep`, `TimerCreate` / `TimerSettime` / `TimerDestroy` and
//! `TimerTimeout`.
//!
//! `CLOCK_MONOTONIC` is read here, from the `time` counter, with no call
//! to taskman (after the first, which learns the counter's frequency and
//! `CLOCK_REALTIME`'s offset). Sleeping and timers are taskman's: a
//! sleeping thread waits on taskman's answer, a timer is an entry in its
//! table that delivers the timer's event when the board's clock alarm
//! rings. Nothing polls.
#![allow(non_snake_case)]

use crate::errno::{Errno, EINVAL, ENOTSUP};
use crate::taskman::{request, thread_request};
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use qsoe_abi::event::{notify, SigEvent};
use qsoe_abi::time::{ticks_to_ns, Itimer, CLOCK_MONOTONIC, CLOCK_REALTIME, TIMER_ABSTIME};
use qsoe_abi::wire::op;
use sel4_sys::Word;

pub use qsoe_abi::time::{timeout, Timespec};

/// The `time` counter's frequency; 0 until taskman has been asked.
static TIMEBASE_HZ: AtomicU64 = AtomicU64::new(0);
/// `CLOCK_REALTIME - CLOCK_MONOTONIC`, nanoseconds.
static REALTIME_OFFSET: AtomicI64 = AtomicI64::new(0);

fn timebase() -> u64 {
    match TIMEBASE_HZ.load(Ordering::Relaxed) {
        0 => {
            let (hz, offset) = match request(op::CLOCK_INFO, &[]) {
                Ok(r) => (r[0], r[1] as i64),
                // QEMU virt's frequency, and no wall clock.
                Err(_) => (10_000_000, 0),
            };
            REALTIME_OFFSET.store(offset, Ordering::Relaxed);
            TIMEBASE_HZ.store(hz.max(1), Ordering::Relaxed);
            hz.max(1)
        }
        hz => hz,
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC`.
pub fn monotonic_ns() -> u64 {
    let hz = timebase();
    let t: u64;
    // SAFETY: reading the time counter has no side effects.
    unsafe { core::arch::asm!("rdtime {}", out(reg) t, options(nomem, nostack)) };
    ticks_to_ns(t, hz)
}

/// `ClockTime(clock, NULL, &ns)`: nanoseconds of `clock`.
pub fn ClockTime(clock: u32) -> Result<u64, Errno> {
    let now = monotonic_ns();
    match clock {
        CLOCK_MONOTONIC => Ok(now),
        CLOCK_REALTIME => {
            Ok((now as i64).saturating_add(REALTIME_OFFSET.load(Ordering::Relaxed)) as u64)
        }
        _ => Err(EINVAL),
    }
}

/// `clock_gettime(clock, &ts)`.
pub fn clock_gettime(clock: u32) -> Result<Timespec, Errno> {
    ClockTime(clock).map(Timespec::from_nsec)
}

/// Sleeps until `deadline` (ns of `CLOCK_MONOTONIC`).
pub fn sleep_until(deadline: u64) -> Result<(), Errno> {
    thread_request(op::SLEEP, &[deadline]).map(drop)
}

/// `nanosleep(&req, NULL)`: sleeps at least `req`.
pub fn nanosleep(req: &Timespec) -> Result<(), Errno> {
    let ns = req.to_nsec().ok_or(EINVAL)?;
    sleep_until(monotonic_ns().saturating_add(ns))
}

/// `TimerCreate(clock, &event)`: a disarmed timer that delivers `event`
/// (`SIGEV_PULSE`, or `SIGEV_NONE`) each time it fires; answers its id.
pub fn TimerCreate(clock: u32, event: &SigEvent) -> Result<i32, Errno> {
    let w = event.to_words();
    let words = [clock as Word, w[0], w[1], w[2], w[3]];
    request(op::TIMER_CREATE, &words).map(|r| r[0] as i32)
}

/// `TimerSettime(id, flags, &value, &old)`: fires `value.nsec` from now
/// (with `TIMER_ABSTIME`, at that time of the timer's clock; 0 disarms),
/// then every `value.interval_nsec` (0: once). Answers the old setting
/// as time left and interval.
pub fn TimerSettime(id: i32, flags: u32, value: &Itimer) -> Result<Itimer, Errno> {
    let words = [
        id as Word,
        (flags & TIMER_ABSTIME) as Word,
        value.nsec,
        value.interval_nsec,
    ];
    request(op::TIMER_SETTIME, &words).map(|r| Itimer {
        nsec: r[0],
        interval_nsec: r[1],
    })
}

/// `TimerDestroy(id)`.
pub fn TimerDestroy(id: i32) -> Result<(), Errno> {
    request(op::TIMER_DESTROY, &[id as Word]).map(drop)
}

/// `TimerTimeout(clock, flags, &event, &ntime, NULL)`: the calling
/// thread's next `MsgReceive` (`timeout::RECEIVE`) or `MsgSend`
/// (`timeout::SEND`, `timeout::REPLY`) fails with `ETIMEDOUT` if it is
/// still blocked `ntime` ns from now (with `TIMER_ABSTIME`: at `ntime` of
/// `clock`). Only `SIGEV_UNBLOCK` (or no event) is meant for this; `ntime`
/// `None` or no states cancels. Answers the deadline it replaced, as ns
/// of `CLOCK_MONOTONIC` (0 if none).
///
/// A `MsgSend` times out whether it still waits to be received or waits
/// for the reply, with either flag: taskman cannot tell the two apart.
pub fn TimerTimeout(
    clock: u32,
    flags: u32,
    event: Option<&SigEvent>,
    ntime: Option<u64>,
) -> Result<u64, Errno> {
    if event.is_some_and(|e| e.kind() != notify::SIGEV_UNBLOCK) {
        return Err(ENOTSUP);
    }
    let states = flags & (timeout::RECEIVE | timeout::SEND | timeout::REPLY);
    let deadline = match ntime {
        None => None,
        Some(t) if flags & TIMER_ABSTIME != 0 => {
            let now_clock = ClockTime(clock)?;
            Some(monotonic_ns().saturating_add(t.saturating_sub(now_clock)))
        }
        Some(t) => {
            ClockTime(clock)?;
            Some(monotonic_ns().saturating_add(t))
        }
    };
    let state = crate::this_thread::current();
    let old = state.timeout.take().map_or(0, |(d, _)| d);
    state.timeout = deadline.filter(|_| states != 0).map(|d| (d, states));
    Ok(old)
}

/// Takes this thread's pending timeout if it ends one of `states`: each
/// blocking call uses it up.
pub(crate) fn take_timeout(states: u32) -> Option<u64> {
    let state = crate::this_thread::current();
    let (deadline, for_states) = state.timeout.take()?;
    (for_states & states != 0).then_some(deadline)
}

/// Takes this thread's pending timeout only if it is for one of
/// `states`: a `MsgSend` (a console line, say) leaves a receive timeout
/// for the receive it was set for.
pub(crate) fn take_timeout_for(states: u32) -> Option<u64> {
    let state = crate::this_thread::current();
    match state.timeout {
        Some((deadline, for_states)) if for_states & states != 0 => {
            state.timeout = None;
            Some(deadline)
        }
        _ => None,
    }
}

/// Microseconds this process's thread `tid` ran since the last time this
/// was asked of it, as the kernel counts them on its scheduling context.
pub fn thread_consumed_us(tid: i32) -> Result<u64, Errno> {
    request(op::THREAD_CONSUMED, &[tid as Word]).map(|r| r[0])
}
