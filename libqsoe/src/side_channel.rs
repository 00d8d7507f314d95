//! The side channel to taskman: one `Call` with the request's words, the
//! reply's words back. Taskman knows the caller from the channel's badge.

use crate::errno::{Errno, ESRVRFAULT};
use qsoe_abi::ipc::{decode_answer, Answer};
use qsoe_abi::layout::slot;
use qsoe_abi::wire::{Census, RESOLVE_WORDS};
use sel4_sys::{ipc_buffer, MessageInfo, Word};

/// The most words a reply of taskman's carries (a census, or a path
/// resolution).
pub(crate) const REPLY_WORDS: usize = max(Census::WORDS, RESOLVE_WORDS);

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Sends request `label` with `words` to taskman and answers the reply's
/// words; a deferred reply is the caller's to send first.
pub(crate) fn call(label: u64, words: &[Word]) -> Result<[Word; REPLY_WORDS], Errno> {
    let mut mrs = [0; 4];
    for (m, &w) in mrs.iter_mut().zip(words) {
        *m = w;
    }
    // SAFETY: the runtime's tp points at this thread's ThreadControl.
    let buffer = unsafe { &mut *ipc_buffer() };
    for (i, &w) in words.iter().enumerate().skip(4) {
        buffer.msg[i] = w;
    }
    let msg = sel4_sys::call(
        slot::TASKMAN,
        MessageInfo::new(label, 0, 0, words.len() as Word),
        mrs,
    );
    match msg.info.label() {
        0 => {}
        other => match decode_answer(other) {
            Answer::Error(e) => return Err(e),
            _ => return Err(ESRVRFAULT),
        },
    }
    let mut out = [0; REPLY_WORDS];
    out[..4].copy_from_slice(&msg.mrs);
    out[4..].copy_from_slice(&buffer.msg[4..REPLY_WORDS]);
    Ok(out)
}
