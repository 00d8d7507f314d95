//! The cycle counter, and a stopwatch over it for `SpawnProfile`; the
//! `time` counter as `CLOCK_MONOTONIC` nanoseconds.

use core::sync::atomic::{AtomicU64, Ordering};
use qsoe_abi::time::ticks_to_ns;
use qsoe_abi::wire::{SpawnPhase, SpawnProfile};

/// The `time` counter's frequency, from the device tree at boot (QEMU
/// virt's is 10 MHz, the value until then).
static TIMEBASE_HZ: AtomicU64 = AtomicU64::new(10_000_000);

pub fn set_timebase(hz: u64) {
    if hz != 0 {
        TIMEBASE_HZ.store(hz, Ordering::Relaxed);
    }
}

pub fn timebase_hz() -> u64 {
    TIMEBASE_HZ.load(Ordering::Relaxed)
}

/// `CLOCK_MONOTONIC`: nanoseconds since the counter started (at reset).
pub fn monotonic_ns() -> u64 {
    let t: u64;
    // SAFETY: reading the time counter has no side effects.
    unsafe { core::arch::asm!("rdtime {}", out(reg) t, options(nomem, nostack)) };
    ticks_to_ns(t, timebase_hz())
}

/// The cycle counter (host time under QEMU's TCG, guest instructions under
/// its `-icount`).
pub fn cycles() -> u64 {
    let c: u64;
    // SAFETY: reading the cycle counter has no side effects.
    unsafe { core::arch::asm!("rdcycle {}", out(reg) c, options(nomem, nostack)) };
    c
}

/// Times consecutive phases: each `lap` charges the time since the last
/// one to a phase.
pub struct Stopwatch(u64);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(cycles())
    }

    pub fn lap(&mut self, profile: &mut SpawnProfile, phase: SpawnPhase) {
        let now = cycles();
        profile.add(phase, now.wrapping_sub(self.0));
        self.0 = now;
    }
}
