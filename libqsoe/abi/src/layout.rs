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
//! ThreadArea::of(i)            each further thread: guard, stack, IPC
//!                              buffer, thread block
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

/// Threads a process can have besides its first.
pub const MAX_THREADS: usize = 16;
/// Pages of stack of each thread after the first.
pub const THREAD_STACK_PAGES: u64 = 4;
/// Pages of address space each thread after the first has: a guard page,
/// the stack, the IPC buffer, the thread block. They follow the first
/// thread's pages in the same 2 MiB page table.
const THREAD_PAGES: u64 = THREAD_STACK_PAGES + 3;
const EXTRA_THREADS: u64 = THREAD_AREA + 32 * 0x1000;

/// Where thread `index` (0 for the second thread of a process) lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadArea {
    /// Its stack grows down from here.
    pub stack_top: u64,
    pub ipc_buffer: u64,
    pub thread_block: u64,
}

impl ThreadArea {
    pub const fn of(index: usize) -> Self {
        let base = EXTRA_THREADS + index as u64 * THREAD_PAGES * 0x1000;
        let stack_top = base + (1 + THREAD_STACK_PAGES) * 0x1000;
        ThreadArea {
            stack_top,
            ipc_buffer: stack_top,
            thread_block: stack_top + 0x1000,
        }
    }

    /// Every page, stack first (lowest address first).
    pub fn pages(&self) -> impl Iterator<Item = u64> {
        let bottom = self.stack_top - THREAD_STACK_PAGES * 0x1000;
        (0..THREAD_STACK_PAGES + 2).map(move |i| bottom + i * 0x1000)
    }
}

// Every thread's pages share the first thread's 2 MiB page table, after
// a guard page.
const _: () = {
    assert!(THREAD_AREA.is_multiple_of(0x20_0000));
    assert!(EXTRA_THREADS >= THREAD_BLOCK + 0x2000);
    assert!(ThreadArea::of(MAX_THREADS - 1).thread_block + 0x1000 <= THREAD_AREA + 0x20_0000);
};

/// Radix of a process's CSpace root CNode.
pub const CNODE_BITS: u8 = 10;

/// Connections one process can hold, each a Send cap in its CSpace.
pub const MAX_CONNECTIONS: usize = 512;
/// Channels one process can own, each a Receive cap in its CSpace.
pub const MAX_CHANNELS: usize = 64;
/// Reply objects of a process: the clients it can hold unreplied at once.
pub const REPLY_OBJECTS: usize = 8;

/// Slots every process is born with.
pub mod slot {
    use super::{MAX_CHANNELS, MAX_CONNECTIONS, REPLY_OBJECTS};

    /// The side channel to taskman: a Send cap badged with the pid.
    pub const TASKMAN: u64 = 1;
    /// The process's own (initial) thread.
    pub const TCB: u64 = 2;
    /// Connection `i` (coid index `i`; fds 0, 1, 2 are the first three):
    /// a badged Send cap minted by taskman.
    pub const CONNECTION_BASE: u64 = 8;
    /// Channel `j` of the process: a Receive cap to its endpoint.
    pub const CHANNEL_BASE: u64 = CONNECTION_BASE + MAX_CONNECTIONS as u64;
    /// Reply object `k` of the process, made with its first channel.
    pub const REPLY_BASE: u64 = CHANNEL_BASE + MAX_CHANNELS as u64;
    /// The first slot the process's own runtime may use.
    pub const FIRST_FREE: u64 = REPLY_BASE + REPLY_OBJECTS as u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_areas_follow_the_first_thread_in_one_page_table() {
        for i in 1..MAX_THREADS {
            let (a, b) = (ThreadArea::of(i - 1), ThreadArea::of(i));
            // A guard page below each stack, and no overlap.
            assert!(b.stack_top - THREAD_STACK_PAGES * 0x1000 > a.thread_block + 0x1000);
        }
        let pages: std::vec::Vec<u64> = ThreadArea::of(0).pages().collect();
        assert_eq!(pages.len() as u64, THREAD_STACK_PAGES + 2);
        assert_eq!(
            pages[THREAD_STACK_PAGES as usize],
            ThreadArea::of(0).ipc_buffer
        );
        assert_eq!(*pages.last().unwrap(), ThreadArea::of(0).thread_block);
    }
}
