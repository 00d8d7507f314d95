//! The few SBI calls the loader needs.

use core::fmt;

const EXT_LEGACY_PUTCHAR: u64 = 0x01;
const EXT_HSM: u64 = 0x48_534d;
const HSM_HART_START: u64 = 0;
const EXT_SRST: u64 = 0x5352_5354;
const SRST_SHUTDOWN: u64 = 0;

fn call(ext: u64, func: u64, args: [u64; 3]) -> (i64, u64) {
    let (error, value): (u64, u64);
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") args[0] => error, inlateout("a1") args[1] => value,
            in("a2") args[2], in("a6") func, in("a7") ext,
            options(nostack));
    }
    (error as i64, value)
}

/// Starts `hart` at physical address `start` with `opaque` in `a1`.
pub fn hart_start(hart: u64, start: u64, opaque: u64) -> Result<(), i64> {
    match call(EXT_HSM, HSM_HART_START, [hart, start, opaque]).0 {
        0 => Ok(()),
        e => Err(e),
    }
}

/// Powers the machine off (QEMU exits).
pub fn shutdown() -> ! {
    call(EXT_SRST, 0, [SRST_SHUTDOWN, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// The SBI console, one character per call.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            call(EXT_LEGACY_PUTCHAR, 0, [b as u64, 0, 0]);
        }
        Ok(())
    }
}
