//! Signals as taskman carries them out: default actions, stop and
//! continue, and the caught signals a process's signal thread waits for
//! in `SIGNAL_WAIT` (libqsoe runs the handlers on that thread). What a
//! signal does is `taskman_core::signals`'s decision; ending a process is
//! the server's (`server::end`).
//!
//! A stop suspends every thread of the process, each by the agent of its
//! core. The kernel restarts a resumed thread where it was, repeating the
//! system call it was blocked in; so the calls taskman held parked for the
//! process (`waitpid`, sleeps, joins, the signal wait) go back on a stop
//! and are simply made again when it continues.

use crate::calls::{Parked, Via};
use crate::process::{self, Process};
use crate::{passive, replies, timer, Taskman};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EBUSY, ESRCH};
use qsoe_abi::signal::{Disposition, SIGCHLD};
use qsoe_abi::Pid;
use sel4::Tcb;
use sel4_root_task::println;
use sel4_sys::Word;
use taskman_core::signals::Delivery;

/// What is left for the sender to do after `send`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The process must end, killed by the signal.
    End,
}

/// Whether `signal` would end live process `pid` (nothing changes).
pub fn ends(tm: &Taskman, pid: Pid, signal: u32) -> bool {
    tm.processes.get(pid).is_some_and(|p| {
        let mut signals = p.signals;
        signals.deliver(signal) == Delivery::End
    })
}

/// Delivers `signal` (1..=SIG_MAX) to process `pid`, which the sender may
/// signal.
pub fn send(tm: &mut Taskman, pid: Pid, signal: u32) -> Outcome {
    let Some(p) = tm.processes.get_mut(pid) else {
        return Outcome::Done;
    };
    match p.signals.deliver(signal) {
        Delivery::Drop => {}
        Delivery::End => return Outcome::End,
        Delivery::Stop => stop(tm, pid, signal),
        Delivery::Continue { caught } => {
            resume(tm, pid);
            if caught {
                answer_waiter(tm, pid);
            }
        }
        Delivery::Catch => answer_waiter(tm, pid),
    }
    Outcome::Done
}

/// A child of `parent` ended or stopped.
pub fn child_changed(tm: &mut Taskman, parent: Pid) {
    // SIGCHLD is ignored or caught, never fatal.
    let _ = send(tm, parent, SIGCHLD);
}

/// `sigaction` in taskman: `signal`'s disposition for `pid`; answers the
/// one it had.
pub fn action(
    tm: &mut Taskman,
    pid: Pid,
    signal: u32,
    to: Disposition,
) -> Result<Disposition, Errno> {
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    p.signals.set(signal, to)
}

/// `SIGNAL_WAIT` from thread `tid` of `pid`: a pending caught signal at
/// once, or `None` with the caller parked until one comes. One thread of
/// a process waits at a time (`EBUSY`).
pub fn wait(tm: &mut Taskman, pid: Pid, tid: i32, via: Via) -> Result<Option<u32>, Errno> {
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    if p.signal_waiter.is_some() {
        return Err(EBUSY);
    }
    if let Some(signal) = p.signals.take_pending() {
        return Ok(Some(signal));
    }
    let fresh = replies::spare(tm)?;
    let reply = core::mem::replace(&mut tm.reply, fresh);
    if let Some(p) = tm.processes.get_mut(pid) {
        p.signal_waiter = Some((tid, Parked { reply, via }));
    }
    Ok(None)
}

/// Gives the signal thread of `pid` its next pending signal, if it waits
/// and the process runs.
fn answer_waiter(tm: &mut Taskman, pid: Pid) {
    let Some(p) = tm.processes.get_mut(pid) else {
        return;
    };
    if p.signals.stopped() || p.signal_waiter.is_none() {
        return;
    }
    let Some(signal) = p.signals.take_pending() else {
        return;
    };
    if let Some((_, parked)) = p.signal_waiter.take() {
        parked.via.answer(parked.reply, Ok(&[signal as Word]));
        tm.replies.push(parked.reply);
    }
}

/// Every thread of `p`: tid and TCB.
fn threads(p: &Process) -> Vec<(i32, Tcb)> {
    let later = p.threads.iter_running().map(|(tid, t)| (tid, t.tcb()));
    core::iter::once((1, p.tcb())).chain(later).collect()
}

/// Stops `pid`, which `signal` stopped: its threads are suspended, the
/// calls taskman held for it go back, its parent learns of it.
fn stop(tm: &mut Taskman, pid: Pid, signal: u32) {
    let Some(p) = tm.processes.get_mut(pid) else {
        return;
    };
    for (_, tcb) in threads(p) {
        if let Err(e) = tm.agents.suspend(p.core, tcb) {
            println!("taskman: cannot stop a thread of {}: {e:?}", p.path);
        }
    }
    p.signals.set_stopped(true);
    let mut held: Vec<_> = p.parked.take().into_iter().collect();
    held.extend(p.threads.take_joiners().into_iter().map(|j| j.reply));
    held.extend(p.signal_waiter.take().map(|(_, w)| w.reply));
    tm.replies.extend(held);
    tm.processes.unpark(pid);
    timer::forget_sleepers(tm, pid);
    if let Some(w) = tm.processes.stopped(pid, signal) {
        process::answer_waiter(tm, w);
    }
    if let Some(parent) = tm.processes.parent(pid) {
        child_changed(tm, parent);
    }
}

/// Lets stopped `pid` run again. A thread stopped inside a call to a
/// passive server may have left its scheduling context with the server:
/// each gets its own back first (`passive::reclaim_own`).
fn resume(tm: &mut Taskman, pid: Pid) {
    let Some(p) = tm.processes.get_mut(pid) else {
        return;
    };
    p.signals.set_stopped(false);
    let all = threads(p);
    for &(tid, _) in &all {
        passive::reclaim_own(tm, pid, tid);
    }
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    for (_, tcb) in all {
        if let Err(e) = tm.agents.resume(p.core, tcb) {
            println!("taskman: cannot continue a thread of {}: {e:?}", p.path);
        }
    }
    tm.processes.continued(pid);
}
