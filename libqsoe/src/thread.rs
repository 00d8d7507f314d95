//! Threads: what each thread of a process keeps for itself, the lock the
//! process-wide tables share, and `ThreadCreate` / `ThreadJoin`.
//!
//! Taskman makes a thread's objects (TCB, scheduling context, stack, IPC
//! buffer, thread block) from a block of its own and starts it at
//! `qsoe_thread_entry` with the function, its argument and the thread id
//! in a0..a2. The thread's `ThreadControl::user` word points at its
//! `ThreadState`, on its own stack; the initial thread's word is 0 and its
//! state is static.
#![allow(non_snake_case)]

use crate::errno::Errno;
use crate::taskman::{request, thread_request};
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};
use qsoe_abi::wire::op;
use sel4_sys::{thread_control, MessageInfo, Word};

/// A lock for data every thread of the process shares. A waiter yields, so
/// the holder (on the same core, at the same priority) gets to finish.
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out one guard at a time.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    pub(crate) fn lock(&self) -> Guard<'_, T> {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            sel4_sys::yield_now();
        }
        Guard { lock: self }
    }
}

pub(crate) struct Guard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

/// A reply `MsgReply` or `MsgError` has put in this thread's IPC buffer
/// and not yet sent: it goes out with the thread's next kernel entry, as
/// the reply half of `ReplyRecv` when that entry is `MsgReceive`.
#[derive(Clone, Copy)]
pub(crate) struct DeferredReply {
    /// The reply object (index) holding the client.
    pub reply: usize,
    pub info: MessageInfo,
    pub mrs: [Word; 4],
    /// Called once it is sent. A function pointer, so that a program
    /// that never receives does not link (and load) the IPC tables.
    pub sent: fn(usize),
}

/// What one thread keeps for itself.
pub(crate) struct ThreadState {
    /// Unused for the first thread, whose tid is 1 (its state is all
    /// zeros, so it costs no loaded page).
    pub tid: i32,
    pub deferred: Option<DeferredReply>,
}

struct InitialThread(UnsafeCell<ThreadState>);
// SAFETY: only the initial thread reaches it (its `user` word is 0).
unsafe impl Sync for InitialThread {}

static INITIAL: InitialThread = InitialThread(UnsafeCell::new(ThreadState {
    tid: 0,
    deferred: None,
}));

/// The running thread's state.
pub(crate) fn current() -> &'static mut ThreadState {
    // SAFETY: taskman set up tp for every thread it starts; the state is
    // only ever reached from its own thread, one reference at a time.
    unsafe {
        match (*thread_control()).user {
            0 => &mut *INITIAL.0.get(),
            p => &mut *(p as *mut ThreadState),
        }
    }
}

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

/// `gettid`: the running thread's id; the first thread's is 1.
pub fn gettid() -> i32 {
    // SAFETY: as in `current`.
    match unsafe { (*thread_control()).user } {
        0 => 1,
        _ => current().tid,
    }
}

/// Sends this thread's deferred reply, if it has one. Every libqsoe call
/// that enters the kernel does this first (`MsgReceive` fuses it instead);
/// code that makes raw seL4 calls after a `MsgReply` must call it.
pub fn flush_reply() {
    if let Some(d) = current().deferred.take() {
        let reply = qsoe_abi::layout::slot::REPLY_BASE + d.reply as u64;
        sel4_sys::send(reply, d.info, d.mrs);
        (d.sent)(d.reply);
    }
}
