//! What taskman holds for each thread of a process after its first: the
//! pool block its objects come from and taskman's slots for them.

use qsoe_abi::layout::THREAD_STACK_PAGES;
use sel4::{Notification, SchedContext, Tcb};
use sel4_sys::CPtr;
use taskman_core::untyped_pool::NodeId;

/// log2 of a thread's block: five pages, a TCB, a scheduling context, a
/// notification.
pub const THREAD_BLOCK_BITS: u8 = 15;
/// Frames of a thread: stack, then its thread page.
pub const FRAMES: usize = THREAD_STACK_PAGES as usize + 1;
/// Where the thread page's frame is among the slots.
pub const THREAD_PAGE: usize = FIRST_FRAME + FRAMES - 1;
pub const TCB: usize = 0;
pub const SCHED_CONTEXT: usize = 1;
pub const FAULT_EP: usize = 2;
/// Its wake notification, and the badged copy taskman signals.
pub const WAKE: usize = 3;
pub const WAKE_SIGNAL: usize = 4;
pub const FIRST_FRAME: usize = 5;
pub const SLOTS: usize = FIRST_FRAME + FRAMES;

/// What taskman holds for a running thread.
#[derive(Debug)]
pub struct ThreadObjects {
    pub block: NodeId,
    /// Taskman's slots: TCB, scheduling context, fault endpoint (badged),
    /// wake notification and its badged copy, frames; 0 where nothing was
    /// made yet.
    pub slots: [CPtr; SLOTS],
    /// Bit `i` set: stack page `i` is mapped. Stack pages are mapped on
    /// first touch; the thread page at once.
    pub stack_mapped: u64,
}

impl ThreadObjects {
    pub fn tcb(&self) -> Tcb {
        Tcb(self.slots[TCB])
    }

    pub fn sc(&self) -> SchedContext {
        SchedContext(self.slots[SCHED_CONTEXT])
    }

    pub fn wake(&self) -> Notification {
        Notification(self.slots[WAKE])
    }
}
