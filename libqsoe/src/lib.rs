//! What every QSOE process links: the start-up code that reads the SysV
//! stack taskman built, the calls to taskman over the side channel, and
//! console output. It holds no capabilities but the ones the process was
//! born with.
#![no_std]

#[cfg(target_arch = "riscv64")]
mod console;
#[cfg(target_arch = "riscv64")]
pub mod io;
#[cfg(target_arch = "riscv64")]
pub mod lock;
mod message;
#[cfg(any(test, target_arch = "riscv64"))]
mod message_store;
#[cfg(target_arch = "riscv64")]
pub mod mman;
#[cfg(target_arch = "riscv64")]
pub mod name;
#[cfg(target_arch = "riscv64")]
pub mod neutrino;
#[cfg(target_arch = "riscv64")]
pub mod resmgr;
#[cfg(target_arch = "riscv64")]
mod rt;
#[cfg(target_arch = "riscv64")]
mod side_channel;
#[cfg(target_arch = "riscv64")]
pub mod signal;
#[cfg(target_arch = "riscv64")]
pub mod taskman;
#[cfg(target_arch = "riscv64")]
mod this_thread;
#[cfg(target_arch = "riscv64")]
pub mod thread;
#[cfg(target_arch = "riscv64")]
pub mod time;

pub mod args;
pub mod fmt;

#[cfg(target_arch = "riscv64")]
pub use console::write_str;
pub use qsoe_abi as abi;
pub use qsoe_abi::{errno, wait, Pid};
#[cfg(target_arch = "riscv64")]
pub use rt::{args, initial_sp};

/// The core this thread runs on, as the kernel reports it (debug kernels).
#[cfg(target_arch = "riscv64")]
pub fn current_core() -> u64 {
    sel4_sys::debug_get_thread_affinity(qsoe_abi::layout::slot::TCB)
}

/// Declares the program's entry: `fn() -> i32`, whose result is the exit
/// status.
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[no_mangle]
        fn qsoe_main() -> i32 {
            $main()
        }
    };
}

/// Prints to the console, like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::Console, format_args!($($arg)*));
    }};
}

/// Prints a line to the console, like `std::println!`.
#[macro_export]
macro_rules! println {
    () => {
        $crate::print!("\n")
    };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

/// The console as a `core::fmt::Write` sink.
pub struct Console;

#[cfg(target_arch = "riscv64")]
impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        console::write_str(s);
        Ok(())
    }
}
