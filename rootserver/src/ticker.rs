//! A *ticker* thread on every core. Each has a scheduling context whose
//! budget is a tenth of its period and does nothing but `Yield`, which in
//! MCS gives up the rest of the budget until the next period: the kernel's
//! own timer wakes it, so it costs no polling, and each core enters its
//! scheduler at least once a period.
//!
//! That bounds two seL4 16.0.0 faults that leave a runnable thread in a
//! core's ready queue while the core idles: a passive server that migrates
//! to another core in the receive half of `ReplyRecv` is queued there
//! without the reschedule IPI (seL4 issue 941, pull request 986), and a
//! reschedule IPI dropped by the one-word IPI mailbox (see `core_agents`).
//! The next tick on that core runs it.
//!
//! Core 0's ticker also calls taskman every `SWEEP_EVERY` ticks, badged
//! `SWEEP_BADGE`, and taskman rescues every stranded passive server
//! (`passive::sweep`).

use crate::taskman_threads::{TaskmanThread, Timing};
use crate::Taskman;
use alloc::vec::Vec;
use sel4::Error;
use sel4_sys::{tcb_flag, CPtr, CapRights, MessageInfo, Word};

/// Above processes (100), below taskman's agents (200): a tick is never
/// starved by a busy process, and it takes a tenth of the core at most.
const PRIORITY: Word = 150;
const TIMING: Timing = Timing {
    budget_us: 1_000,
    period_us: 10_000,
};
/// A sweep a second.
const SWEEP_EVERY: Word = 100;

/// The badge of core 0's ticker on taskman's endpoint. Taskman mints no
/// other badge with bit 63 (`TaskmanBadge`).
pub const SWEEP_BADGE: Word = 1 << 63;

/// The tickers, kept for as long as taskman runs.
pub struct Tickers {
    _threads: Vec<TaskmanThread>,
}

/// Starts a ticker on each of `cores` cores.
pub fn start(tm: &mut Taskman, cores: u64) -> Result<Tickers, Error> {
    let sweep = tm.objects.alloc_slot()?;
    let rights = CapRights::WRITE.union(CapRights::GRANT_REPLY);
    tm.objects
        .slot(sweep)
        .mint(tm.objects.slot(tm.endpoint.0), rights, SWEEP_BADGE)?;
    let mut threads = Vec::new();
    for core in 0..cores {
        let cap = if core == 0 { sweep } else { 0 };
        let thread =
            TaskmanThread::start(tm, core, PRIORITY, TIMING, ticker_main, [cap, SWEEP_EVERY])?;
        // It never computes: no FPU state to switch when it runs.
        thread.tcb.set_flags(0, tcb_flag::FPU_DISABLED)?;
        threads.push(thread);
    }
    Ok(Tickers { _threads: threads })
}

extern "C" fn ticker_main(sweep: CPtr, every: Word, _tcb: Word) -> ! {
    let mut ticks: Word = 0;
    loop {
        sel4_sys::yield_now();
        ticks = ticks.wrapping_add(1);
        if sweep != 0 && ticks.is_multiple_of(every) {
            sel4_sys::call(sweep, MessageInfo::new(0, 0, 0, 0), [0; 4]);
        }
    }
}
