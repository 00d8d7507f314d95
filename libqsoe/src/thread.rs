//! Threads: `ThreadCreate` / `ThreadJoin` and where a new thread starts.
//!
//! Taskman makes a thread's objects (TCB, scheduling context, stack, and
//! its thread page: IPC buffer, ThreadControl, TLS) from a block of its
//! own and starts it at
//! `qsoe_thread_entry` with the function, its argument and the thread id
//! in a0..a2.
#![allow(non_snake_case)]

use crate::errno::Errno;
use crate::taskman::{request, thread_request};
use crate::this_thread::ThreadState;
pub use crate::this_thread::{flush_reply, gettid};
use qsoe_abi::wire::op;
use sel4_sys::{thread_control, Word};

/// What a thread runs: its function gets the argument, and its result is
/// what `ThreadJoin` answers.
pub type ThreadFn = extern "C" fn(usize) -> usize;

core::arch::global_asm!(
    ".section .text.qsoe_thread_entry, \"ax\"",
    ".globl qsoe_thread_entry",
    "qsoe_thread_entry:",
    "    call {run}",
    "    unimp",
    run = sym run_thread,
);

extern "C" {
    fn qsoe_thread_entry();
}

extern "C" fn run_thread(f: ThreadFn, arg: usize, tid: Word) -> ! {
    let mut state = ThreadState {
        tid: tid as i32,
        deferred: None,
        passive: false,
        last_channel: (0, 0),
        receives: 0,
        timeout: None,
    };
    // SAFETY: tp points at this thread's own ThreadControl; `state` lives
    // on this frame, which never returns.
    unsafe { (*thread_control()).user = &mut state as *mut ThreadState as Word };
    let value = f(arg);
    flush_reply();
    let _ = thread_request(op::THREAD_EXIT, &[value as Word]);
    // Taskman never answers a thread's exit.
    loop {
        // SAFETY: an illegal instruction ends the process with SIGILL.
        unsafe { core::arch::asm!("unimp") };
    }
}

/// `ThreadCreate`: a new thread of this process (`pid` 0 or its own pid),
/// on its core, running `f(arg)`. Answers the thread id.
pub fn ThreadCreate(pid: crate::Pid, f: ThreadFn, arg: usize) -> Result<i32, Errno> {
    if pid != 0 && pid != crate::taskman::getpid() {
        return Err(crate::errno::EPERM);
    }
    let entry = qsoe_thread_entry as *const () as Word;
    let r = request(
        op::THREAD_CREATE,
        &[entry, f as *const () as Word, arg as Word],
    )?;
    Ok(r[0] as i32)
}

/// `ThreadJoin`: waits for thread `tid` to end; answers what its function
/// returned. A thread is joined once, by one thread at a time (`EBUSY`).
pub fn ThreadJoin(tid: i32) -> Result<usize, Errno> {
    if tid == gettid() {
        return Err(crate::errno::EDEADLK);
    }
    thread_request(op::THREAD_JOIN, &[tid as Word]).map(|r| r[0] as usize)
}
