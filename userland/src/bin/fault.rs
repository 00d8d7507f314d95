//! `fault null|illegal`: dies the way it is told to.
#![no_std]
#![no_main]

libqsoe::main!(main);

fn main() -> i32 {
    match libqsoe::args().get(1) {
        // SAFETY: none; this is the point.
        Some(b"null") => unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) as i32 },
        // SAFETY: as above; an all-zero word is never a valid instruction.
        Some(b"illegal") => unsafe {
            core::arch::asm!(".word 0");
            0
        },
        _ => 99,
    }
}
