//! Console output through the kernel's debug console, a line at a time so
//! that lines from different processes rarely mix. (A console server
//! behind fds 0–2 replaces this when QNX IPC arrives.)

use core::cell::UnsafeCell;

const LINE: usize = 256;

struct LineBuffer {
    bytes: [u8; LINE],
    len: usize,
}

struct Shared(UnsafeCell<LineBuffer>);
// SAFETY: a process has one thread; nothing runs concurrently with it.
unsafe impl Sync for Shared {}

static BUFFER: Shared = Shared(UnsafeCell::new(LineBuffer {
    bytes: [0; LINE],
    len: 0,
}));

fn flush(b: &mut LineBuffer) {
    for &c in &b.bytes[..b.len] {
        sel4_sys::debug_put_char(c);
    }
    b.len = 0;
}

/// Writes `s`, emitting each line when it is complete (or the buffer full).
pub fn write_str(s: &str) {
    // SAFETY: single-threaded, and no reference escapes this function.
    let b = unsafe { &mut *BUFFER.0.get() };
    for &c in s.as_bytes() {
        b.bytes[b.len] = c;
        b.len += 1;
        if c == b'\n' || b.len == LINE {
            flush(b);
        }
    }
}
