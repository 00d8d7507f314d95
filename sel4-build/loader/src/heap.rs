//! A bump heap: the ELF parser links `alloc`, and a loader that runs once
//! never needs to free.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

const HEAP_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Heap([u8; HEAP_SIZE]);

static mut HEAP: Heap = Heap([0; HEAP_SIZE]);
static NEXT: AtomicUsize = AtomicUsize::new(0);

struct Bump;

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = core::ptr::addr_of_mut!(HEAP) as usize;
        let mut result = core::ptr::null_mut();
        let _ = NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
            let start = (base + next).next_multiple_of(layout.align()) - base;
            let end = start
                .checked_add(layout.size())
                .filter(|&e| e <= HEAP_SIZE)?;
            result = (base + start) as *mut u8;
            Some(end)
        });
        result
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;
