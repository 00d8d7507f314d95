//! The cycle counter, and a stopwatch over it for `SpawnProfile`.

use qsoe_abi::wire::{SpawnPhase, SpawnProfile};

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
