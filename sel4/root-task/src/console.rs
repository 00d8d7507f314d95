//! Line-atomic printing to the board's UART (an ns16550a), which the
//! rootserver drives itself, so a debug and a release kernel print alike.
//!
//! Until the rootserver has mapped the UART ([`Console::use_uart`]), output
//! is kept in a small buffer and written out when it is; a panic before
//! then hands the buffer to the debug kernel's console, if there is one.
//! Threads on four cores print at once; a spin lock held for one whole
//! `print!` keeps their lines from interleaving.
//!
//! Once a driver process owns the UART, output is *diverted* into a ring
//! ([`Console::divert`]) for the driver to take ([`Console::take`]), and
//! goes to the UART directly again if it stops ([`Console::undivert`]).

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static LOCK: AtomicBool = AtomicBool::new(false);
/// The UART's mapped registers; 0 until `use_uart`.
static UART: AtomicUsize = AtomicUsize::new(0);

const EARLY_BYTES: usize = 4096;
/// Output from before the UART was mapped; only touched under `LOCK`.
static mut EARLY: ([u8; EARLY_BYTES], usize) = ([0; EARLY_BYTES], 0);

const DIVERTED_BYTES: usize = 16 << 10;
/// Output the driver has not taken yet: bytes, where the oldest is, how
/// many; only touched under `LOCK`. Bytes that find it full are dropped.
static mut DIVERTED: ([u8; DIVERTED_BYTES], usize, usize) = ([0; DIVERTED_BYTES], 0, 0);
/// Whether output goes to `DIVERTED` rather than to the UART.
static DIVERT: AtomicBool = AtomicBool::new(false);

/// ns16550a registers (byte-wide, no register shift on QEMU's virt board).
mod ns16550 {
    /// Transmit holding register.
    pub const THR: usize = 0;
    /// Line status register, and its "transmit holding register empty" bit.
    pub const LSR: usize = 5;
    pub const LSR_THRE: u8 = 1 << 5;
}

/// The rootserver's console.
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

    /// From now on, output goes to the ns16550a whose registers are mapped
    /// at `base`; what was printed before goes out first.
    ///
    /// # Safety
    /// `base` must map the UART's register page, and stay mapped.
    pub unsafe fn use_uart(base: usize) {
        let mut lock = Self::lock();
        UART.store(base, Ordering::Release);
        // SAFETY: EARLY is only touched under LOCK, which we hold.
        let (bytes, len) = unsafe { &mut *core::ptr::addr_of_mut!(EARLY) };
        for &b in &bytes[..*len] {
            lock.put(b);
        }
        *len = 0;
    }

    /// From now on output waits in a ring for the UART's driver.
    pub fn divert() {
        let _lock = Self::lock();
        DIVERT.store(true, Ordering::Release);
    }

    /// Output goes to the UART again, what the ring holds first.
    pub fn undivert() {
        let mut lock = Self::lock();
        DIVERT.store(false, Ordering::Release);
        let mut chunk = [0; 256];
        loop {
            let n = lock.take(&mut chunk);
            if n == 0 {
                break;
            }
            chunk[..n].iter().for_each(|&b| lock.put(b));
        }
    }

    /// Moves the oldest diverted output into `out`; answers how many bytes.
    pub fn take(out: &mut [u8]) -> usize {
        Self::lock().take(out)
    }

    /// Whether diverted output waits for the driver.
    pub fn has_diverted() -> bool {
        let _lock = Self::lock();
        // SAFETY: under LOCK.
        let (_, _, len) = unsafe { &*core::ptr::addr_of!(DIVERTED) };
        *len > 0
    }

    /// Writes out what is still buffered through the debug kernel's own
    /// console, for a panic before the UART was mapped.
    pub fn flush_to_kernel() {
        #[cfg(target_arch = "riscv64")]
        if sel4_config::platform::KERNEL_DEBUG && UART.load(Ordering::Acquire) == 0 {
            let _lock = Self::lock();
            // SAFETY: under LOCK.
            let (bytes, len) = unsafe { &mut *core::ptr::addr_of_mut!(EARLY) };
            bytes[..*len]
                .iter()
                .for_each(|&b| sel4_sys::debug_put_char(b));
            *len = 0;
        }
    }
}

impl ConsoleLock {
    fn take(&mut self, out: &mut [u8]) -> usize {
        // SAFETY: under LOCK, which this guard holds.
        let (ring, head, len) = unsafe { &mut *core::ptr::addr_of_mut!(DIVERTED) };
        let n = out.len().min(*len);
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = ring[(*head + i) % DIVERTED_BYTES];
        }
        *head = (*head + n) % DIVERTED_BYTES;
        *len -= n;
        n
    }

    fn put(&mut self, b: u8) {
        if DIVERT.load(Ordering::Acquire) {
            // SAFETY: under LOCK, which this guard holds.
            let (ring, head, len) = unsafe { &mut *core::ptr::addr_of_mut!(DIVERTED) };
            if *len < DIVERTED_BYTES {
                ring[(*head + *len) % DIVERTED_BYTES] = b;
                *len += 1;
            }
            return;
        }
        let base = UART.load(Ordering::Acquire);
        if base == 0 {
            // SAFETY: under LOCK, which this guard holds.
            let (bytes, len) = unsafe { &mut *core::ptr::addr_of_mut!(EARLY) };
            if *len < EARLY_BYTES {
                bytes[*len] = b;
                *len += 1;
            }
            return;
        }
        // SAFETY: `use_uart`'s contract: the registers are mapped at base.
        unsafe {
            let lsr = (base + ns16550::LSR) as *const u8;
            while core::ptr::read_volatile(lsr) & ns16550::LSR_THRE == 0 {
                core::hint::spin_loop();
            }
            core::ptr::write_volatile((base + ns16550::THR) as *mut u8, b);
        }
    }
}

impl Drop for ConsoleLock {
    fn drop(&mut self) {
        LOCK.store(false, Ordering::Release);
    }
}

impl fmt::Write for ConsoleLock {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::Console::lock(), $($arg)*);
    }};
}

/// Prints a line to the console.
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
