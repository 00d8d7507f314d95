//! Console output: a line at a time written to fd 1 (`_IO_WRITE`), the
//! connection to taskman's console every process is born with. If fd 1
//! is gone, the line goes to the kernel's debug console instead, so a
//! panic is never silent.

use crate::lock::SpinLock;

const LINE: usize = 256;

struct LineBuffer {
    bytes: [u8; LINE],
    len: usize,
}

/// One line for the whole process: its threads' output interleaves by
/// line, never within one.
static BUFFER: SpinLock<LineBuffer> = SpinLock::new(LineBuffer {
    bytes: [0; LINE],
    len: 0,
});

fn flush(b: &mut LineBuffer) {
    let line = &b.bytes[..b.len];
    if crate::io::write(STDOUT, line).is_err() {
        for &c in line {
            sel4_sys::debug_put_char(c);
        }
    }
    b.len = 0;
}

const STDOUT: i32 = 1;

/// Writes `s`, emitting each line when it is complete (or the buffer full).
pub fn write_str(s: &str) {
    let mut guard = BUFFER.lock();
    let b = &mut *guard;
    for &c in s.as_bytes() {
        b.bytes[b.len] = c;
        b.len += 1;
        if c == b'\n' || b.len == LINE {
            flush(b);
        }
    }
}
