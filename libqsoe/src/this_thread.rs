//! What each thread of a process keeps for itself: its id and the reply
//! it has yet to send. The thread's `ThreadControl::user` word points at
//! its `ThreadState`, on its own stack; the initial thread's word is 0 and
//! its state is static.

use core::cell::UnsafeCell;
use sel4_sys::{thread_control, MessageInfo, Word};

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
