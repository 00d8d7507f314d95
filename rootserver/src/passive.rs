//! Passive servers: threads that wait for messages with no scheduling
//! context of their own and run on the one each client lends.
//!
//! A thread that creates or receives on a channel that does not ask for
//! `_NTO_CHF_FIXED_PRIORITY` gets its own scheduling context bound to its
//! wake notification as well as to itself, for the rest of its life. The
//! kernel then takes the context back from the thread whenever the thread
//! blocks in a receive, and gives it to the thread again when the
//! notification rings (a pulse, or the thread's own wake-up after a reply
//! that gave a client's context back). While it waits, a client's `Call`
//! lends it the client's context, and the reply fused into `ReplyRecv`
//! returns it. The thread keeps its own priority: a server runs at its
//! own priority (its ceiling) on its client's time.
//!
//! Two things leave such a thread *stranded*, running with no context at
//! all: a client that `Send`s instead of `Call`ing (nothing is lent; seL4
//! issue 1616), and a client whose context is deleted while lent (its
//! process ended mid-call). `rescue` finds them through the kernel and
//! gives each its own context back: after every process's end for the
//! servers its calls can reach, and on every sweep (`ticker`).

use crate::process::Process;
use crate::Taskman;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, ESRCH};
use qsoe_abi::Pid;
use sel4::{Notification, SchedContext, Tcb};
use taskman_core::channels::Target;

/// Makes thread `tid` of `pid` serve passively from now on: its own
/// context is bound to `notification`, its wake notification, too;
/// answers whether that happened now (false if it already served so).
pub fn serve_passively(tm: &mut Taskman, pid: Pid, tid: i32, notification: Notification) -> bool {
    let Some(p) = tm.processes.get_mut(pid) else {
        return false;
    };
    if p.ipc.passive_threads & bit(tid) != 0 {
        return false;
    }
    let bound = p
        .thread_sc(tid)
        .is_some_and(|sc| sc.bind_notification(notification).is_ok());
    if bound {
        p.ipc.passive_threads |= bit(tid);
        demand(tm, true);
    }
    bound
}

/// Thread `tid` of `pid` serves passively no more: it ended.
pub fn forget(tm: &mut Taskman, pid: Pid, tid: i32) {
    let Some(p) = tm.processes.get_mut(pid) else {
        return;
    };
    if p.ipc.passive_threads & bit(tid) == 0 {
        return;
    }
    p.ipc.passive_threads &= !bit(tid);
    demand(tm, false);
}

/// A process that ends takes its passive threads with it.
pub fn forget_process(tm: &Taskman, p: &Process) {
    for _ in passive_tids(p) {
        demand(tm, false);
    }
}

fn demand(tm: &Taskman, more: bool) {
    if let Some(t) = &tm.tickers {
        t.demand(more);
    }
}

/// Thread `tid`'s bit in `ProcessIpc::passive_threads`; none for a tid no
/// thread can have.
pub fn bit(tid: i32) -> u64 {
    u32::try_from(tid)
        .ok()
        .and_then(|t| 1u64.checked_shl(t))
        .unwrap_or(0)
}

/// Gives thread `tcb` its own context `own` if it is stranded. A context
/// never configured (`probe`) binds only to a thread that holds none and
/// is not blocked: a waiting passive thread, blocked in its receive,
/// refuses it, and so does any thread that holds a context.
fn rescue_thread(probe: SchedContext, own: SchedContext, tcb: Tcb) -> bool {
    if probe.bind_tcb(tcb).is_err() {
        return false;
    }
    let _ = probe.unbind_tcb(tcb);
    own.bind_tcb(tcb).is_ok()
}

/// Gives thread `tid` of `pid` its own context, which binds only if the
/// thread holds none (harmless for any other thread of the process): after taskman sent a reply for it that gave
/// its client's back, and then answered it. A kernel bind, not a
/// notification's donation to a running thread, so the thread is queued
/// on its own core with the IPI that wakes that core.
pub fn own_back(tm: &Taskman, pid: Pid, tid: i32) {
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    if let (Some(own), Some(tcb)) = (p.thread_sc(tid), p.thread_tcb(tid)) {
        let _ = own.bind_tcb(tcb);
    }
}

/// Thread `tid` of `pid`, suspended, may have been in a call that lent
/// its own context to a server (a call cut short, a stop mid-call): the
/// context comes back to it from wherever it is, bound to the thread's
/// wake notification again if the thread serves passively. A server left
/// without a context is rescued once the request is answered.
pub fn reclaim_own(tm: &mut Taskman, pid: Pid, tid: i32) {
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    let (Some(own), Some(tcb), Some(wake)) =
        (p.thread_sc(tid), p.thread_tcb(tid), p.thread_wake(tid))
    else {
        return;
    };
    let serves = p.ipc.passive_threads & bit(tid) != 0;
    // Its own already: kept.
    if own.unbind_tcb(tcb).is_ok() {
        let _ = own.bind_tcb(tcb);
        return;
    }
    // Free (a waiting passive thread's): taken.
    if own.bind_tcb(tcb).is_ok() {
        return;
    }
    let _ = own.unbind();
    if serves {
        let _ = own.bind_notification(wake);
    }
    let _ = own.bind_tcb(tcb);
    let servers = reachable_servers(tm, pid);
    tm.rescue_after.extend(servers);
}

/// Rescues every stranded passive thread of the processes `pids`;
/// answers how many it rescued.
pub fn rescue(tm: &Taskman, pids: &[Pid]) -> usize {
    let Some(probe) = tm.probe_sc else {
        return 0;
    };
    let mut rescued = 0;
    for &pid in pids {
        let Some(p) = tm.processes.get(pid) else {
            continue;
        };
        for tid in passive_tids(p) {
            if let (Some(own), Some(tcb)) = (p.thread_sc(tid), p.thread_tcb(tid)) {
                rescued += rescue_thread(probe, own, tcb) as usize;
            }
        }
    }
    rescued
}

/// Rescues every stranded passive thread in the system.
pub fn sweep(tm: &Taskman) -> usize {
    let servers: Vec<Pid> = tm
        .processes
        .alive()
        .filter(|(_, p)| p.ipc.passive_threads != 0)
        .map(|(pid, _)| pid)
        .collect();
    rescue(tm, &servers)
}

fn passive_tids(p: &Process) -> impl Iterator<Item = i32> + '_ {
    (1..64).filter(|&t| p.ipc.passive_threads & bit(t) != 0)
}

/// The processes a call that starts in `pid` can reach: the owners of
/// the channels its connections lead to, theirs in turn, and so on. A
/// context `pid` lent travels no further.
pub fn reachable_servers(tm: &Taskman, pid: Pid) -> Vec<Pid> {
    let mut seen = alloc::vec![pid];
    let mut next = 0;
    while let Some(&q) = seen.get(next) {
        next += 1;
        let Some(p) = tm.processes.get(q) else {
            continue;
        };
        for (_, target) in p.ipc.connections.iter() {
            let Target::Channel(chid) = target else {
                continue;
            };
            if let Some(owner) = tm.channels.get(chid).map(|c| c.owner) {
                if !seen.contains(&owner) {
                    seen.push(owner);
                }
            }
        }
    }
    seen.remove(0);
    seen
}

/// Whether thread `tid` of `pid` holds a scheduling context this moment,
/// as the kernel answers: its own context binds to it only if it holds
/// none. A waiting passive thread given its own context this way gets it
/// taken back at once; a stranded one keeps it.
pub fn holds_context(tm: &Taskman, pid: Pid, tid: i32) -> Result<bool, Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let (own, tcb) = (
        p.thread_sc(tid).ok_or(ESRCH)?,
        p.thread_tcb(tid).ok_or(ESRCH)?,
    );
    if let Some(probe) = tm.probe_sc {
        if rescue_thread(probe, own, tcb) {
            return Ok(false);
        }
    }
    if own.bind_tcb(tcb).is_err() {
        return Ok(true);
    }
    let _ = own.unbind_tcb(tcb);
    Ok(false)
}
