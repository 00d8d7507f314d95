use crate::{CPtr, MessageInfo, Word};

/// Message registers a message can carry.
pub const MSG_MAX_LENGTH: usize = 120;
/// Capabilities (or badges) one message can carry.
pub const MSG_MAX_EXTRA_CAPS: usize = 3;
/// Message registers passed in machine registers (`a2..a5`); the rest live
/// in the IPC buffer.
pub const FAST_MESSAGE_REGISTERS: usize = 4;

/// The per-thread IPC buffer, laid out as the kernel reads it.
#[repr(C, align(1024))]
pub struct IpcBuffer {
    pub tag: MessageInfo,
    pub msg: [Word; MSG_MAX_LENGTH],
    pub user_data: Word,
    pub caps_or_badges: [Word; MSG_MAX_EXTRA_CAPS],
    pub receive_cnode: CPtr,
    pub receive_index: CPtr,
    pub receive_depth: Word,
}

/// What the thread pointer (`tp`) points just past: the per-thread block our
/// runtimes set up before any Rust code runs. Static TLS data, if a program
/// has any, starts at `tp` itself (RISC-V TLS variant I), so this block sits
/// immediately below it.
#[repr(C)]
pub struct ThreadControl {
    /// This thread's IPC buffer.
    pub ipc_buffer: *mut IpcBuffer,
    /// Whatever the runtime wants to find again (a thread id, say).
    pub user: Word,
}

/// The running thread's control block.
///
/// # Safety
/// `tp` must have been set up by one of our runtimes.
#[cfg(target_arch = "riscv64")]
#[inline(always)]
pub unsafe fn thread_control() -> *mut ThreadControl {
    let tp: usize;
    core::arch::asm!("mv {}, tp", out(reg) tp, options(nomem, nostack, preserves_flags));
    (tp as *mut ThreadControl).sub(1)
}

/// The running thread's IPC buffer.
///
/// # Safety
/// As for [`thread_control`].
#[cfg(target_arch = "riscv64")]
#[inline(always)]
pub unsafe fn ipc_buffer() -> *mut IpcBuffer {
    (*thread_control()).ipc_buffer
}
