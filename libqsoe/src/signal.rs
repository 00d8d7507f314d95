//! Signals: numbers, `kill`, and `signal` / `sigaction` with the thread
//! their handlers run on.
//!
//! Taskman carries out default actions and ignoring. A caught signal
//! waits in taskman until this process's *signal thread* asks for it
//! (`SIGNAL_WAIT`); that thread runs the handler, then asks again. The
//! first `sigaction` that installs a handler starts the thread (one of the
//! process's threads quota). A handler runs alongside the other threads:
//! it does not interrupt them.

use crate::errno::{Errno, EINVAL};
use crate::lock::SpinLock;
use crate::taskman::{request, thread_request};
use crate::thread::ThreadCreate;
use core::sync::atomic::{AtomicUsize, Ordering};
pub use qsoe_abi::signal::*;
use qsoe_abi::wire::op;
use sel4_sys::Word;

pub use crate::taskman::kill;

/// A signal handler: it gets the signal's number.
pub type SigHandler = extern "C" fn(i32);

/// What a signal does to this process (`sa_handler`).
#[derive(Clone, Copy, Debug)]
pub enum SigAction {
    /// `SIG_DFL`: the signal's default action.
    Default,
    /// `SIG_IGN`.
    Ignore,
    /// The handler runs on the signal thread.
    Handler(SigHandler),
}

/// The handler of each caught signal (0 for none), by number.
static HANDLERS: [AtomicUsize; SIG_MAX as usize + 1] =
    [const { AtomicUsize::new(0) }; SIG_MAX as usize + 1];

/// Serialises `sigaction`s; holds the signal thread's tid once it runs.
static SIGNAL_THREAD: SpinLock<Option<i32>> = SpinLock::new(None);

/// `sigaction(signal, action)`: sets what `signal` does; answers what it
/// did. `SIGKILL` and `SIGSTOP` cannot be changed (`EINVAL`).
pub fn sigaction(signal: u32, action: SigAction) -> Result<SigAction, Errno> {
    if !can_change(signal) {
        return Err(EINVAL);
    }
    let mut thread = SIGNAL_THREAD.lock();
    let (disposition, handler) = match action {
        SigAction::Default => (Disposition::Default, 0),
        SigAction::Ignore => (Disposition::Ignore, 0),
        SigAction::Handler(h) => (Disposition::Catch, h as usize),
    };
    if handler != 0 && thread.is_none() {
        *thread = Some(ThreadCreate(0, signal_thread, 0)?);
    }
    let slot = &HANDLERS[signal as usize];
    let previous = slot.swap(handler, Ordering::AcqRel);
    match request(op::SIGNAL_ACTION, &[signal as Word, disposition as Word]) {
        Ok(r) => Ok(match Disposition::from_word(r[0]) {
            Some(Disposition::Catch) if previous != 0 => SigAction::Handler(as_handler(previous)),
            Some(Disposition::Ignore) => SigAction::Ignore,
            _ => SigAction::Default,
        }),
        Err(e) => {
            slot.store(previous, Ordering::Release);
            Err(e)
        }
    }
}

/// `signal(signal, action)`: `sigaction` without the rest of its options.
pub fn signal(signal: u32, action: SigAction) -> Result<SigAction, Errno> {
    sigaction(signal, action)
}

fn as_handler(address: usize) -> SigHandler {
    // SAFETY: only `sigaction` stores into HANDLERS, and only addresses of
    // `SigHandler`s.
    unsafe { core::mem::transmute::<usize, SigHandler>(address) }
}

/// The signal thread: takes each caught signal from taskman and runs its
/// handler.
extern "C" fn signal_thread(_: usize) -> usize {
    while let Ok(r) = thread_request(op::SIGNAL_WAIT, &[]) {
        let signal = r[0] as usize;
        // A handler reset since the signal came leaves nothing to run.
        let handler = HANDLERS
            .get(signal)
            .map_or(0, |h| h.load(Ordering::Acquire));
        if handler != 0 {
            as_handler(handler)(signal as i32);
        }
    }
    0
}
