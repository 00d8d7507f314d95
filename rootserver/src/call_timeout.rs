//! `MsgSend` timeouts: a thread's `Call` cut short at its deadline.
//!
//! libqsoe makes a timed `MsgSend` at one known place (its
//! `qsoe_timed_call`), after asking for the cut with that `ecall`'s
//! address (`TIMER_CALL`). At the deadline taskman suspends the thread, by
//! the agent of its core; the kernel then takes it off the endpoint it
//! waited to send on, or takes away the reply it waited for. If its saved
//! pc is still that `ecall`, taskman gives it the registers a finished
//! `Call` has, with `ETIMEDOUT`'s error label, and its pc past the
//! `ecall`. A call that had lent the thread's scheduling context to a
//! passive server gives it back (the server is rescued once the request
//! is answered). Then the thread resumes, unless its process is stopped
//! (it goes on, timed out, when it continues).

use crate::{passive, Taskman};
use qsoe_abi::errno::ETIMEDOUT;
use qsoe_abi::ipc::error_label;
use qsoe_abi::Pid;
use sel4_root_task::println;
use sel4_sys::MessageInfo;

/// The deadline of thread `tid`'s call at `pc` has passed.
pub fn cut(tm: &mut Taskman, pid: Pid, tid: i32, pc: u64) {
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    let Some(tcb) = p.thread_tcb(tid) else {
        return;
    };
    let stopped = p.signals.stopped();
    if !stopped {
        if let Err(e) = tm.agents.suspend(p.core, tcb) {
            println!("taskman: cannot stop a thread to time its call out: {e:?}");
            return;
        }
    }
    // Not there any more: the call returned in time and the thread goes
    // on where it is.
    if let Some(mut regs) = tcb.read_registers().ok().filter(|r| r.pc == pc) {
        regs.pc = pc + 4;
        regs.a[0] = 0;
        regs.a[1] = MessageInfo::new(error_label(ETIMEDOUT), 0, 0, 0).0;
        if let Err(e) = tcb.write_registers(false, &regs) {
            println!("taskman: cannot time a call out: {e:?}");
        }
        passive::reclaim_own(tm, pid, tid);
    }
    if !stopped {
        if let Some(p) = tm.processes.get(pid) {
            if let Err(e) = tm.agents.resume(p.core, tcb) {
                println!("taskman: cannot resume a thread after its call: {e:?}");
            }
        }
    }
}
