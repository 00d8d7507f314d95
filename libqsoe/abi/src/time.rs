//! Clocks and timers as QNX names them: clock ids, `TIMER_ABSTIME`,
//! `TimerTimeout`'s states, `struct timespec` and `struct _itimer`.
//!
//! Taskman keeps every deadline in nanoseconds of `CLOCK_MONOTONIC`, which
//! is the RISC-V `time` counter (user mode reads it without a trap) scaled
//! by the device tree's `timebase-frequency`; `CLOCK_REALTIME` is that
//! plus the offset taskman read from the board's real-time clock at boot
//! (`op::CLOCK_INFO`).

/// `CLOCK_REALTIME`: wall-clock time, nanoseconds since 1970.
pub const CLOCK_REALTIME: u32 = 0;
/// `CLOCK_MONOTONIC`: time since boot; never steps.
pub const CLOCK_MONOTONIC: u32 = 2;

/// `TimerSettime` flag: the time is absolute, not from now.
pub const TIMER_ABSTIME: u32 = 0x8000_0000;

/// `TimerTimeout` flags: the kernel-call states a timeout ends (QNX's
/// `_NTO_TIMEOUT_*`, one bit per `STATE_*`).
pub mod timeout {
    pub const SEND: u32 = 1 << 4;
    pub const RECEIVE: u32 = 1 << 5;
    pub const REPLY: u32 = 1 << 6;
}

pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// `struct timespec`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

impl Timespec {
    /// `timespec2nsec`; `None` for a negative or malformed time.
    pub fn to_nsec(&self) -> Option<u64> {
        if self.tv_sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&self.tv_nsec) {
            return None;
        }
        (self.tv_sec as u64)
            .checked_mul(NSEC_PER_SEC)?
            .checked_add(self.tv_nsec as u64)
    }

    /// `nsec2timespec`.
    pub fn from_nsec(ns: u64) -> Self {
        Timespec {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_nsec: (ns % NSEC_PER_SEC) as i64,
        }
    }
}

/// `struct _itimer`: when a timer fires first, and its period (0: once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Itimer {
    pub nsec: u64,
    pub interval_nsec: u64,
}

/// Ticks of a counter at `hz` as nanoseconds, without overflow for any
/// tick count a 64-bit counter reaches in centuries.
pub fn ticks_to_ns(ticks: u64, hz: u64) -> u64 {
    if hz == 0 {
        return 0;
    }
    let (s, rest) = (ticks / hz, ticks % hz);
    s.saturating_mul(NSEC_PER_SEC)
        .saturating_add(rest * NSEC_PER_SEC / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespecs_and_ticks_convert() {
        let t = Timespec {
            tv_sec: 3,
            tv_nsec: 5,
        };
        assert_eq!(t.to_nsec(), Some(3_000_000_005));
        assert_eq!(Timespec::from_nsec(3_000_000_005), t);
        for bad in [(-1, 0), (0, -1), (0, 1_000_000_000), (i64::MAX, 0)] {
            let t = Timespec {
                tv_sec: bad.0,
                tv_nsec: bad.1,
            };
            assert_eq!(t.to_nsec(), None, "{bad:?}");
        }
        assert_eq!(ticks_to_ns(10_000_000, 10_000_000), NSEC_PER_SEC);
        assert_eq!(ticks_to_ns(1, 10_000_000), 100);
        assert_eq!(ticks_to_ns(u64::MAX, 10_000_000), u64::MAX);
        assert_eq!(ticks_to_ns(5, 0), 0);
    }
}
