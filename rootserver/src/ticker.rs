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
//!
//! Both faults need a passive server, so the tickers tick only while some
//! thread serves passively (`Tickers::demand`) and otherwise wait on a
//! notification each: a core with nothing to unstick is left idle.

use crate::taskman_threads::{TaskmanThread, Timing};
use crate::Taskman;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use sel4::Error;
use sel4_sys::{object, tcb_flag, CPtr, CapRights, MessageInfo, Word};

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

/// Threads that serve passively, system-wide: while there are any, the
/// tickers tick.
static DEMAND: AtomicUsize = AtomicUsize::new(0);

/// The tickers, kept for as long as taskman runs.
pub struct Tickers {
    _threads: Vec<TaskmanThread>,
    /// The notification each ticker waits on while nothing needs it.
    wakes: Vec<CPtr>,
}

impl Tickers {
    /// One more (`more`) or one fewer thread serves passively; the first
    /// wakes every ticker.
    pub fn demand(&self, more: bool) {
        if more {
            if DEMAND.fetch_add(1, Ordering::AcqRel) == 0 {
                for &w in &self.wakes {
                    sel4_sys::signal(w);
                }
            }
        } else {
            let _ = DEMAND.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        }
    }
}

/// Starts a ticker on each of `cores` cores.
pub fn start(tm: &mut Taskman, cores: u64) -> Result<Tickers, Error> {
    let sweep = tm.objects.alloc_slot()?;
    let rights = CapRights::WRITE.union(CapRights::GRANT_REPLY);
    tm.objects
        .slot(sweep)
        .mint(tm.objects.slot(tm.endpoint.0), rights, SWEEP_BADGE)?;
    let mut tickers = Tickers {
        _threads: Vec::new(),
        wakes: Vec::new(),
    };
    for core in 0..cores {
        let wake = tm.objects.create(object::NOTIFICATION, 0)?;
        tickers.wakes.push(wake);
        let cap = if core == 0 { sweep } else { 0 };
        let thread = TaskmanThread::start(tm, core, PRIORITY, TIMING, ticker_main, [cap, wake])?;
        // It never computes: no FPU state to switch when it runs.
        thread.tcb.set_flags(0, tcb_flag::FPU_DISABLED)?;
        tickers._threads.push(thread);
    }
    Ok(tickers)
}

extern "C" fn ticker_main(sweep: CPtr, wake: CPtr, _tcb: Word) -> ! {
    let mut ticks: Word = 0;
    loop {
        if DEMAND.load(Ordering::Acquire) == 0 {
            sel4_sys::wait(wake);
        }
        sel4_sys::yield_now();
        ticks = ticks.wrapping_add(1);
        if sweep != 0 && ticks.is_multiple_of(SWEEP_EVERY) {
            sel4_sys::call(sweep, MessageInfo::new(0, 0, 0, 0), [0; 4]);
        }
    }
}
