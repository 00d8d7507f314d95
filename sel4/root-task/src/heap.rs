//! The rootserver's heap: a fixed region of its image. Its size is a cost
//! in boot CNode slots (the kernel gives the initial thread one frame cap
//! per image page), so it stays modest.

use linked_list_allocator::LockedHeap;

const HEAP_SIZE: usize = 512 * 1024;

#[repr(C, align(4096))]
struct Heap([u8; HEAP_SIZE]);

static mut HEAP: Heap = Heap([0; HEAP_SIZE]);

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

/// Hands the heap region to the allocator; called once at entry.
pub(crate) fn init() {
    // SAFETY: called once, before anything allocates; the region is ours.
    unsafe {
        ALLOCATOR
            .lock()
            .init(core::ptr::addr_of_mut!(HEAP) as *mut u8, HEAP_SIZE)
    }
}
