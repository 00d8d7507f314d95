//! System-call entry points: `ecall` with the number in `a7`, the
//! capability in `a0`, the message tag in `a1`, message registers 0..3 in
//! `a2..a5` and, for the receiving calls, the reply object in `a6`.

use crate::{consts::sys, ipc_buffer, CPtr, MessageInfo, Word};
use core::arch::asm;

/// What a receiving system call hands back.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub badge: Word,
    pub info: MessageInfo,
    pub mrs: [Word; 4],
}

#[inline(always)]
fn ecall(num: isize, cap: Word, info: Word, mrs: [Word; 4], reply: Word) -> Received {
    let (mut a0, mut a1) = (cap, info);
    let [mut a2, mut a3, mut a4, mut a5] = mrs;
    // SAFETY: the kernel preserves every register but the ones named as
    // outputs, and may write the IPC buffer, so memory is not `nomem`.
    unsafe {
        asm!("ecall",
            inout("a0") a0, inout("a1") a1,
            inout("a2") a2, inout("a3") a3, inout("a4") a4, inout("a5") a5,
            in("a6") reply, in("a7") num,
            options(nostack));
    }
    Received {
        badge: a0,
        info: MessageInfo(a1),
        mrs: [a2, a3, a4, a5],
    }
}

/// `seL4_Call`: send and wait for the reply, over a fresh one-shot reply.
#[inline(always)]
pub fn call(dest: CPtr, info: MessageInfo, mrs: [Word; 4]) -> Received {
    ecall(sys::CALL, dest, info.0, mrs, 0)
}

/// `seL4_Send`: blocking send (also how an MCS Reply object is answered).
#[inline(always)]
pub fn send(dest: CPtr, info: MessageInfo, mrs: [Word; 4]) {
    ecall(sys::SEND, dest, info.0, mrs, 0);
}

/// `seL4_NBSend`: send if a receiver waits, otherwise drop the message.
#[inline(always)]
pub fn nb_send(dest: CPtr, info: MessageInfo, mrs: [Word; 4]) {
    ecall(sys::NB_SEND, dest, info.0, mrs, 0);
}

/// `seL4_Recv`: wait on an endpoint or notification; a caller's reply
/// authority lands in `reply`.
#[inline(always)]
pub fn recv(src: CPtr, reply: CPtr) -> Received {
    ecall(sys::RECV, src, 0, [0; 4], reply)
}

/// `seL4_NBRecv`: poll an endpoint or notification.
#[inline(always)]
pub fn nb_recv(src: CPtr, reply: CPtr) -> Received {
    ecall(sys::NB_RECV, src, 0, [0; 4], reply)
}

/// `seL4_ReplyRecv`: reply through `reply`, then wait on `src` with the
/// same reply object.
#[inline(always)]
pub fn reply_recv(src: CPtr, info: MessageInfo, mrs: [Word; 4], reply: CPtr) -> Received {
    ecall(sys::REPLY_RECV, src, info.0, mrs, reply)
}

/// `seL4_Wait`: wait on a notification (or an endpoint, without reply).
#[inline(always)]
pub fn wait(src: CPtr) -> Received {
    ecall(sys::WAIT, src, 0, [0; 4], 0)
}

/// `seL4_NBWait`: poll a notification.
#[inline(always)]
pub fn nb_wait(src: CPtr) -> Received {
    ecall(sys::NB_WAIT, src, 0, [0; 4], 0)
}

/// `seL4_Signal`: a send of an empty message to a notification.
#[inline(always)]
pub fn signal(dest: CPtr) {
    send(dest, MessageInfo::new(0, 0, 0, 0), [0; 4]);
}

/// `seL4_Yield`.
#[inline(always)]
pub fn yield_now() {
    ecall(sys::YIELD, 0, 0, [0; 4], 0);
}

/// `seL4_DebugPutChar`.
#[inline(always)]
pub fn debug_put_char(c: u8) {
    ecall(sys::DEBUG_PUT_CHAR, c as Word, 0, [0; 4], 0);
}

/// `seL4_DebugHalt`: stops the whole machine.
pub fn debug_halt() -> ! {
    ecall(sys::DEBUG_HALT, 0, 0, [0; 4], 0);
    loop {
        core::hint::spin_loop();
    }
}

/// `seL4_DebugDumpScheduler`.
pub fn debug_dump_scheduler() {
    ecall(sys::DEBUG_DUMP_SCHEDULER, 0, 0, [0; 4], 0);
}

/// `seL4_DebugCapIdentify`: the kernel's type tag of the capability in
/// `cap` ([`crate::cap_type`]); 0 for an empty slot.
#[inline(always)]
pub fn debug_cap_identify(cap: CPtr) -> Word {
    ecall(sys::DEBUG_CAP_IDENTIFY, cap, 0, [0; 4], 0).badge
}

/// `seL4_DebugGetThreadAffinity`: the core a thread is scheduled on.
pub fn debug_get_thread_affinity(tcb: CPtr) -> Word {
    ecall(sys::DEBUG_GET_THREAD_AFFINITY, tcb, 0, [0; 4], 0).badge
}

/// `seL4_DebugNameThread`: names a thread in kernel debug output. The name
/// is passed in the caller's IPC buffer, NUL-terminated and cut to fit.
pub fn debug_name_thread(tcb: CPtr, name: &str) {
    // SAFETY: our runtimes give every thread an IPC buffer before it runs.
    let buffer = unsafe { &mut *ipc_buffer() };
    let room = core::mem::size_of_val(&buffer.msg) - 1;
    let bytes = &name.as_bytes()[..name.len().min(room)];
    // SAFETY: the message area is plain words; writing bytes into it is how
    // the kernel expects the name.
    unsafe {
        let dst = buffer.msg.as_mut_ptr() as *mut u8;
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        *dst.add(bytes.len()) = 0;
    }
    ecall(sys::DEBUG_NAME_THREAD, tcb, 0, [0; 4], 0);
}
