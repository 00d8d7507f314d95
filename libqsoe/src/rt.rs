//! Process start-up: `_start` hands the initial stack pointer to Rust,
//! which records the arguments, runs the program's `main` and exits with
//! its status. A panic prints one line and ends the process with SIGABRT.

use crate::args::Args;
use core::sync::atomic::{AtomicPtr, Ordering};

core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".globl _start",
    "_start:",
    "    mv a0, sp",
    "    call {start}",
    "    unimp",
    start = sym qsoe_rt_start,
);

static INITIAL_SP: AtomicPtr<u64> = AtomicPtr::new(core::ptr::null_mut());

extern "Rust" {
    /// The program's entry, declared with `libqsoe::main!`.
    fn qsoe_main() -> i32;
}

extern "C" fn qsoe_rt_start(sp: *mut u64) -> ! {
    INITIAL_SP.store(sp, Ordering::Relaxed);
    // SAFETY: `main!` defines it.
    let status = unsafe { qsoe_main() };
    crate::taskman::exit(status)
}

/// The process's arguments, environment and auxiliary vector.
pub fn args() -> Args {
    // SAFETY: taskman built a SysV stack at the initial sp, and nothing
    // below `_start`'s frame writes there.
    unsafe { Args::from_stack(initial_sp()) }
}

/// Where the stack pointer was when the process started.
pub fn initial_sp() -> *const u64 {
    INITIAL_SP.load(Ordering::Relaxed)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::println!(
        "process {} panic: {}",
        crate::taskman::getpid(),
        info.message()
    );
    let _ = crate::taskman::kill(crate::taskman::getpid(), crate::signal::SIGABRT);
    crate::taskman::exit(134)
}
