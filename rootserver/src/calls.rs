//! How taskman answers a caller. A request comes either as a Call on the
//! process's side channel, answered with a reply message, or through the
//! thread trap (`wire::THREAD_TRAP`), an unknown-syscall fault answered
//! with a fault reply that resumes the thread after its `ecall`.

use qsoe_abi::errno::Errno;
use qsoe_abi::ipc::error_label;
use qsoe_abi::wire::THREAD_TRAP_WORDS;
use sel4_sys::{fault, ipc_buffer, CPtr, MessageInfo, Word};

/// The way back to a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A Call on the side channel.
    SideChannel,
    /// The thread trap, with the registers the thread resumes with.
    Trap { pc: Word, sp: Word, ra: Word },
}

/// A caller that waits for its answer (`ThreadJoin`): the reply object
/// that holds it, and how to frame the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parked {
    pub reply: CPtr,
    pub via: Via,
}

impl Via {
    /// The way back from an unknown-syscall fault message `words`: resume
    /// after the `ecall`.
    pub fn trap(words: &[Word]) -> Self {
        let word = |i: usize| words.get(i).copied().unwrap_or(0);
        Via::Trap {
            pc: word(fault::UNKNOWN_SYSCALL_FAULT_IP).wrapping_add(4),
            sp: word(fault::UNKNOWN_SYSCALL_SP),
            ra: word(fault::UNKNOWN_SYSCALL_RA),
        }
    }

    /// Sends `result` on `reply`, framed for this way back.
    pub fn answer(self, reply: CPtr, result: Result<&[Word], Errno>) {
        match (self, result) {
            (Via::SideChannel, Ok(words)) => send(reply, 0, words),
            (Via::SideChannel, Err(e)) => send(reply, error_label(e), &[]),
            (Via::Trap { pc, sp, ra }, result) => {
                // pc, sp, ra, then a0 (0 or the errno) and a1..a6.
                let mut regs = [0; 4 + THREAD_TRAP_WORDS];
                regs[..3].copy_from_slice(&[pc, sp, ra]);
                match result {
                    Ok(words) => {
                        for (r, &w) in regs[4..].iter_mut().zip(words) {
                            *r = w;
                        }
                    }
                    Err(e) => regs[3] = e.0 as Word,
                }
                send(reply, 0, &regs)
            }
        }
    }
}

/// Sends a message of `words` with `label` on a reply object.
pub fn send(reply: CPtr, label: Word, words: &[Word]) {
    // SAFETY: taskman's runtime set up tp; the buffer is this thread's.
    let buffer = unsafe { &mut *ipc_buffer() };
    for (i, &w) in words.iter().enumerate().skip(4) {
        buffer.msg[i] = w;
    }
    let mut mrs = [0; 4];
    for (m, &w) in mrs.iter_mut().zip(words) {
        *m = w;
    }
    sel4_sys::send(
        reply,
        MessageInfo::new(label, 0, 0, words.len() as Word),
        mrs,
    );
}
