//! Where taskman puts things in a new process, so that the process's
//! runtime can find them without asking.
//!
//! Address space (Sv39, user half below 256 GiB):
//!
//! ```text
//! 0x0000_0000 .. 0x0000_1000   never mapped: NULL dereferences fault
//! 0x0000_1000 .. PROGRAM_END   the program's ELF segments
//! STACK_TOP - stack .. STACK_TOP   the initial stack (an unmapped page below)
//! IPC_BUFFER                   the thread's IPC buffer
//! THREAD_BLOCK                 ThreadControl, then the TLS block; tp points
//!                              just past ThreadControl
//! ```
//!
//! CSpace: a CNode of `CNODE_BITS` radix whose guard makes 64-bit
//! pointers resolve, so slot `n` is simply CPtr `n`.

/// The first address a program may occupy.
pub const PROGRAM_START: u64 = 0x1000;
/// The end of the range a program's segments may occupy.
pub const PROGRAM_END: u64 = 0x30_0000_0000;
/// Where the thread area starts: a guard page, the stack, a guard page,
/// the IPC buffer, a guard page, the thread block; all inside one 2 MiB
/// page table.
const THREAD_AREA: u64 = 0x3f_4000_0000;
/// Pages of initial stack.
pub const STACK_PAGES: u64 = 16;
/// The initial stack grows down from here.
pub const STACK_TOP: u64 = THREAD_AREA + (1 + STACK_PAGES) * 0x1000;
/// The initial thread's IPC buffer.
pub const IPC_BUFFER: u64 = STACK_TOP + 0x1000;
/// The page holding the initial thread's ThreadControl and TLS block.
pub const THREAD_BLOCK: u64 = IPC_BUFFER + 0x2000;
/// Bytes of ThreadControl at the start of the thread block (the IPC
/// buffer's address and one word for the runtime); `tp` points just past.
pub const THREAD_CONTROL_BYTES: u64 = 16;

/// Radix of a process's CSpace root CNode.
pub const CNODE_BITS: u8 = 10;

/// Slots every process is born with.
pub mod slot {
    /// The side channel to taskman: a Send cap badged with the pid.
    pub const TASKMAN: u64 = 1;
    /// The process's own (initial) thread.
    pub const TCB: u64 = 2;
    /// Connection `i` (coid index `i`; fds 0, 1, 2 are the first three):
    /// a badged Send cap minted by taskman.
    pub const CONNECTION_BASE: u64 = 8;
    /// Channel `j` of the process: a Receive cap to its endpoint.
    pub const CHANNEL_BASE: u64 = CONNECTION_BASE + crate::ipc::MAX_CONNECTIONS as u64;
    /// Reply object `k` of the process, made with its first channel.
    pub const REPLY_BASE: u64 = CHANNEL_BASE + crate::ipc::MAX_CHANNELS as u64;
    /// The first slot the process's own runtime may use.
    pub const FIRST_FREE: u64 = REPLY_BASE + crate::ipc::REPLY_OBJECTS as u64;
}
