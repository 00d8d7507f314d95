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
    /// Whether the thread serves passively (a channel it made or received
    /// on made it so).
    pub passive: bool,
    /// The chid and channel cell this thread last received on: a guess
    /// `MsgReceive` checks against the tables before it searches them.
    pub last_channel: (i32, u8),
    /// The channel cells (bit `cell`) taskman knows this thread receives
    /// on, and rings it for.
    pub receives: u64,
    /// A `TimerTimeout` for this thread's next blocking call: its
    /// deadline (ns of `CLOCK_MONOTONIC`) and the states it ends
    /// (`time::timeout`).
    pub timeout: Option<(u64, u32)>,
}

struct InitialThread(UnsafeCell<ThreadState>);
// SAFETY: only the initial thread reaches it (its `user` word is 0).
unsafe impl Sync for InitialThread {}

static INITIAL: InitialThread = InitialThread(UnsafeCell::new(ThreadState {
    tid: 0,
    deferred: None,
    passive: false,
    last_channel: (0, 0),
    receives: 0,
    timeout: None,
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
#[inline]
pub fn flush_reply() {
    if let Some(d) = current().deferred.take() {
        send_deferred(d);
    }
}

#[cold]
fn send_deferred(d: DeferredReply) {
    send_alone(d.reply, d.info, d.mrs);
    (d.sent)(d.reply);
}

/// Answers the call held in reply object `reply` (an index) on its own.
///
/// A passive thread may be running on the very scheduling context the
/// reply gives back, and a thread left with none stops for good. So it
/// has taskman send the reply (`op::REPLY`): taskman answers the client,
/// then this thread, then binds the thread's own context to it.
pub(crate) fn send_alone(reply: usize, info: MessageInfo, mrs: [Word; 4]) {
    let state = current();
    if !state.passive {
        let slot = qsoe_abi::layout::slot::REPLY_BASE + reply as u64;
        sel4_sys::send(slot, info, mrs);
        return;
    }
    let words = info.length().min(qsoe_abi::wire::MAX_WORDS as Word - 1) as usize;
    let mut request = [0; qsoe_abi::wire::MAX_WORDS];
    request[0] = info.label();
    // SAFETY: the runtime gave this thread its IPC buffer.
    let buffer = unsafe { &*sel4_sys::ipc_buffer() };
    for (i, w) in request[1..=words].iter_mut().enumerate() {
        *w = if i < 4 { mrs[i] } else { buffer.msg[i] };
    }
    let tid = if thread_control_user() == 0 {
        1
    } else {
        state.tid
    };
    let label = qsoe_abi::wire::reply_op(reply as u8, tid);
    let _ = crate::side_channel::call(label, &request[..=words]);
}

fn thread_control_user() -> Word {
    // SAFETY: as in `current`.
    unsafe { (*thread_control()).user }
}
