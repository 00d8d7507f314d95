//! The rootserver's heap, in two parts.
//!
//! The *boot heap* is a fixed region of the image: it serves from entry
//! on, before any memory of the kernel's can be mapped. Its size is a cost
//! in boot CNode slots (the kernel gives the initial thread one frame cap
//! per image page), so it stays modest.
//!
//! The *grown heap* is a virtual range the rootserver maps memory into as
//! it needs more (`GROWN_BASE`, see [`extend`]), as a kernel grows a slab:
//! it is where allocations go first, so the number of things the
//! rootserver can keep track of is bounded by the memory it can map, not
//! by the image. The boot heap takes over only when the grown one is full.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spinning_top::Spinlock as Mutex;

const BOOT_HEAP_SIZE: usize = 512 * 1024;

/// Where the grown heap starts: far above the image and below the top of
/// Sv39 user space, with room for `GROWN_LIMIT` bytes.
pub const GROWN_BASE: usize = 0x30_0000_0000;
/// The most the grown heap can ever be.
pub const GROWN_LIMIT: usize = 0x8_0000_0000;

#[repr(C, align(4096))]
struct BootHeap([u8; BOOT_HEAP_SIZE]);

static mut BOOT_HEAP: BootHeap = BootHeap([0; BOOT_HEAP_SIZE]);

struct TwoPartHeap {
    boot: Mutex<Heap>,
    /// The grown heap, and how many bytes of it are mapped.
    grown: Mutex<(Heap, usize)>,
}

#[global_allocator]
static ALLOCATOR: TwoPartHeap = TwoPartHeap {
    boot: Mutex::new(Heap::empty()),
    grown: Mutex::new((Heap::empty(), 0)),
};

// SAFETY: both parts hand out disjoint memory they own, and a block goes
// back to the part whose range holds it.
unsafe impl GlobalAlloc for TwoPartHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let grown = self.grown.lock().0.allocate_first_fit(layout);
        match grown.or_else(|()| self.boot.lock().allocate_first_fit(layout)) {
            Ok(p) => p.as_ptr(),
            Err(()) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(p) = NonNull::new(ptr) else {
            return;
        };
        let addr = ptr as usize;
        // SAFETY: `ptr` came from `alloc` with `layout`, from the part
        // whose range holds it.
        unsafe {
            if (GROWN_BASE..GROWN_BASE + GROWN_LIMIT).contains(&addr) {
                self.grown.lock().0.deallocate(p, layout)
            } else {
                self.boot.lock().deallocate(p, layout)
            }
        }
    }
}

/// Hands the boot heap to the allocator; called once at entry.
pub(crate) fn init() {
    // SAFETY: called once, before anything allocates; the region is ours.
    unsafe {
        ALLOCATOR.boot.lock().init(
            core::ptr::addr_of_mut!(BOOT_HEAP) as *mut u8,
            BOOT_HEAP_SIZE,
        )
    }
}

/// How the heap stands, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapUse {
    /// In use, both parts.
    pub used: usize,
    /// Free in the grown heap, where allocations go first.
    pub grown_free: usize,
    /// Mapped for the grown heap.
    pub grown_mapped: usize,
    /// Free in the boot heap.
    pub boot_free: usize,
}

/// The heap's figures now.
pub fn heap_use() -> HeapUse {
    let boot = ALLOCATOR.boot.lock();
    let grown = ALLOCATOR.grown.lock();
    HeapUse {
        used: boot.used() + grown.0.used(),
        grown_free: grown.0.free(),
        grown_mapped: grown.1,
        boot_free: boot.free(),
    }
}

/// The address where the next memory for the grown heap must be mapped.
pub fn grown_top() -> usize {
    GROWN_BASE + ALLOCATOR.grown.lock().1
}

/// Adds `bytes` to the grown heap.
///
/// # Safety
/// `bytes` of memory, writable and used by nothing else, must be mapped at
/// `grown_top()`, and the grown heap must stay within `GROWN_LIMIT`.
pub unsafe fn extend(bytes: usize) {
    let mut grown = ALLOCATOR.grown.lock();
    let (heap, mapped) = &mut *grown;
    // SAFETY: the caller mapped the memory right after what the heap has.
    unsafe {
        if *mapped == 0 {
            heap.init(GROWN_BASE as *mut u8, bytes);
        } else {
            heap.extend(bytes);
        }
    }
    *mapped += bytes;
}
