//! Where taskman puts things in a new process, so that the process's
//! runtime can find them without asking.
//!
//! Address space (Sv39, user half below 256 GiB):
//!
//! ```text
//! 0x0000_0000 .. 0x0000_1000   never mapped: NULL dereferences fault
//! 0x0000_1000 .. PROGRAM_END   the program's ELF segments
//! DEVICE_AREA                  device registers (`mmap_device_memory`), 2 MiB
//! THREAD_AREA                  a guard page, the first thread's stack pages,
//!                              its thread page; then each further thread's
//!                              guard page, stack pages and thread page
//! ```
//!
//! A thread page holds, from its top down: the thread's IPC buffer, its
//! ThreadControl and TLS block (`tp` points just past ThreadControl), and
//! the top of its stack, which grows down into the stack pages below. So
//! a new thread's first page is the only one taskman must write, and the
//! program and every thread share one 1 GiB page table.
//!
//! CSpace: a CNode of `CNODE_BITS` radix whose guard makes 64-bit
//! pointers resolve, so slot `n` is simply CPtr `n`.

const PAGE: u64 = 0x1000;

/// The first address a program may occupy.
pub const PROGRAM_START: u64 = 0x1000;
/// The end of the range a program's segments may occupy: where the
/// device area starts, 2 MiB below the thread area.
pub const PROGRAM_END: u64 = DEVICE_AREA;
/// Where taskman maps the device registers a process asks for: the 2 MiB
/// below the thread area, one page table of its own.
pub const DEVICE_AREA: u64 = THREAD_AREA - 0x20_0000;
/// Pages in the device area.
pub const DEVICE_AREA_PAGES: u64 = 0x20_0000 / PAGE;
const THREAD_AREA: u64 = 0x3fe0_0000;
/// Pages of stack of the first thread below its thread page.
pub const STACK_PAGES: u64 = 16;
/// Pages of stack of each thread after the first below its thread page.
pub const THREAD_STACK_PAGES: u64 = 4;
/// Where the IPC buffer lies in a thread page: its last KiB, aligned as
/// the kernel requires (`seL4_IPCBufferSizeBits`).
pub const IPC_BUFFER_OFFSET: u64 = PAGE - 0x400;
/// Bytes of ThreadControl just below `tp` (the IPC buffer's address and
/// one word for the runtime).
pub const THREAD_CONTROL_BYTES: u64 = 16;

/// Threads a process can have besides its first.
pub const MAX_THREADS: usize = 16;
const EXTRA_THREADS: u64 = THREAD_AREA + (1 + STACK_PAGES + 1) * PAGE;
/// Pages of address space each thread after the first has: a guard page,
/// its stack pages and its thread page.
const THREAD_PAGES: u64 = 1 + THREAD_STACK_PAGES + 1;

/// Where one thread's memory lies: its stack pages, then its thread page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadArea {
    pub stack_pages: u64,
    pub thread_page: u64,
}

impl ThreadArea {
    /// The first thread's, above one guard page.
    pub const FIRST: ThreadArea = ThreadArea {
        stack_pages: STACK_PAGES,
        thread_page: THREAD_AREA + (1 + STACK_PAGES) * PAGE,
    };

    /// Thread `index`'s (0 for the second thread of a process).
    pub const fn of(index: usize) -> Self {
        let base = EXTRA_THREADS + index as u64 * THREAD_PAGES * PAGE;
        ThreadArea {
            stack_pages: THREAD_STACK_PAGES,
            thread_page: base + (1 + THREAD_STACK_PAGES) * PAGE,
        }
    }

    pub const fn ipc_buffer(&self) -> u64 {
        self.thread_page + IPC_BUFFER_OFFSET
    }

    /// The lowest stack page.
    pub const fn stack_bottom(&self) -> u64 {
        self.thread_page - self.stack_pages * PAGE
    }

    /// Every page, lowest first: the stack pages, then the thread page.
    pub fn pages(&self) -> impl Iterator<Item = u64> {
        let bottom = self.stack_bottom();
        (0..=self.stack_pages).map(move |i| bottom + i * PAGE)
    }
}

// Every thread's pages lie in one 2 MiB page table, each stack above a
// guard page.
const _: () = {
    assert!(THREAD_AREA.is_multiple_of(0x20_0000));
    assert!(ThreadArea::of(0).stack_bottom() > ThreadArea::FIRST.thread_page + PAGE);
    assert!(ThreadArea::of(MAX_THREADS - 1).thread_page + PAGE <= THREAD_AREA + 0x20_0000);
};

/// Radix of a process's CSpace root CNode.
pub const CNODE_BITS: u8 = 10;

/// Connections one process can hold, each a Send cap in its CSpace.
pub const MAX_CONNECTIONS: usize = 512;
/// Channels one process can own, each a Receive cap in its CSpace.
pub const MAX_CHANNELS: usize = 64;
/// Reply objects a process can have: the most clients any quota lets it
/// hold unreplied at once (`Quotas::unreplied` says how many it has).
pub const REPLY_OBJECTS: usize = 64;

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
            assert!(b.stack_bottom() > a.thread_page + PAGE);
        }
        let a = ThreadArea::of(0);
        let pages: std::vec::Vec<u64> = a.pages().collect();
        assert_eq!(pages.len() as u64, THREAD_STACK_PAGES + 1);
        assert_eq!(*pages.last().unwrap(), a.thread_page);
        assert_eq!(pages[0], a.stack_bottom());
        assert!(a.ipc_buffer().is_multiple_of(0x400));
        assert_eq!(ThreadArea::FIRST.pages().count() as u64, STACK_PAGES + 1);
    }
}
