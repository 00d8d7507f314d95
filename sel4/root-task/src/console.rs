//! Line-atomic printing through `seL4_DebugPutChar`.
//!
//! Threads on four cores print at once; a spin lock held for one whole
//! `print!` keeps their lines from interleaving.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

static LOCK: AtomicBool = AtomicBool::new(false);

/// The kernel's debug console.
pub struct Console;

/// Exclusive use of the console until dropped.
pub struct ConsoleLock(());

impl Console {
    pub fn lock() -> ConsoleLock {
        while LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        ConsoleLock(())
    }
}

impl Drop for ConsoleLock {
    fn drop(&mut self) {
        LOCK.store(false, Ordering::Release);
    }
}

impl fmt::Write for ConsoleLock {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        #[cfg(target_arch = "riscv64")]
        s.bytes().for_each(sel4_sys::debug_put_char);
        #[cfg(not(target_arch = "riscv64"))]
        let _ = s;
        Ok(())
    }
}

/// Prints to the kernel console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::Console::lock(), $($arg)*);
    }};
}

/// Prints a line to the kernel console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut console = $crate::Console::lock();
        let _ = write!(console, $($arg)*);
        let _ = console.write_str("\n");
    }};
}
