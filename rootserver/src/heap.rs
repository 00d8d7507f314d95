//! Taskman's own memory grows from the untyped pool, as a kernel's slab
//! does: before each request the loop makes sure the grown heap has room
//! for whatever that request can allocate, mapping another 2 MiB page
//! from the pool when it has not. The tables that grow with the number of
//! processes also reserve their room fallibly before a request commits
//! (`ProcessTable::reserve`, the channel and connection tables), so even a
//! heap that could not grow answers `ENOMEM` or `EAGAIN`, not a panic. So the number of processes, channels
//! and connections taskman can keep track of is bounded by RAM, not by a
//! heap compiled into its image.
//!
//! The pages are never given back: a busy moment leaves taskman's heap
//! larger, and the census reports it (`heap_mapped_bytes`), so leak tests
//! count the pool's free bytes and the heap's mapped bytes together.

use crate::objects::Objects;
use crate::vspace;
use sel4::{Error, Frame};
use sel4_root_task::{extend_heap, grown_top, heap_use, GROWN_BASE, GROWN_LIMIT};
use sel4_sys::{object, size_bits, CapRights};

/// One step of growth: a large page.
const STEP_BITS: u8 = size_bits::LARGE_PAGE as u8;
const STEP: usize = 1 << STEP_BITS;
/// Free heap kept ready at least: more than any one request allocates.
const MIN_HEADROOM: usize = 1 << 20;

/// Whether taskman's heap has room for another request that allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Headroom {
    Enough,
    /// The pool could not give more and the heap is nearly full: requests
    /// that make new things are answered `ENOMEM` until memory comes back.
    Tight,
}

/// Keeps the grown heap's free part at least `MIN_HEADROOM` and twice what
/// is in use: a table that doubles needs a new block twice its size, and no
/// block is bigger than all that is in use.
#[derive(Default)]
pub struct HeapGrowth {
    /// The pool's free bytes when growing last failed: no new attempt
    /// until more than a step has come back (an attempt walks the pool).
    failed_at_free: Option<u64>,
}

impl HeapGrowth {
    /// Large pages mapped for the grown heap so far.
    pub fn pages(&self) -> usize {
        heap_use().grown_mapped / STEP
    }
}

impl HeapGrowth {
    /// Grows the heap as far as it should be and can be; answers whether
    /// it has room for another request that makes things.
    pub fn ensure_headroom(&mut self, objects: &mut Objects) -> Headroom {
        loop {
            let now = heap_use();
            let wanted = MIN_HEADROOM.max(2 * now.used);
            if now.grown_free >= wanted {
                return Headroom::Enough;
            }
            let free = objects.pool.free_bytes();
            let worth_trying = self
                .failed_at_free
                .is_none_or(|at| free >= at + STEP as u64);
            if !worth_trying || grow(objects).is_err() {
                if worth_trying {
                    self.failed_at_free = Some(free);
                }
                return if now.grown_free + now.boot_free >= MIN_HEADROOM {
                    Headroom::Enough
                } else {
                    Headroom::Tight
                };
            }
            self.failed_at_free = None;
        }
    }
}

/// Maps one more large page from the pool at the top of the grown heap.
fn grow(objects: &mut Objects) -> Result<(), Error> {
    let top = grown_top();
    if top + STEP > GROWN_BASE + GROWN_LIMIT {
        return Err(Error::NotEnoughMemory { bytes_left: 0 });
    }
    let block = objects.alloc_block(STEP_BITS)?;
    let untyped = objects.block_cap(block);
    let frame = match objects.create_in(untyped, object::MEGA_PAGE, 0) {
        Ok(f) => f,
        Err(e) => {
            let _ = objects.release_block(block);
            return Err(e);
        }
    };
    if let Err(e) = vspace::map_at(objects, Frame(frame), top as u64, CapRights::READ_WRITE) {
        let _ = objects.destroy(frame);
        let _ = objects.release_block(block);
        return Err(e);
    }
    // SAFETY: STEP bytes of a fresh frame, zeroed by the kernel and used
    // by nothing else, are now mapped read-write at the grown heap's top.
    unsafe { extend_heap(STEP) };
    Ok(())
}
