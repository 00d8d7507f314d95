//! Runtime for the seL4 initial thread (the rootserver).
//!
//! The kernel starts the initial thread at its ELF entry with the BootInfo
//! pointer in `a0` and every other register zero, `sp` included. `_start`
//! gives it a stack, the thread-control block behind `tp` gets the IPC
//! buffer, the heap is set up, and then the program's `main` (named with
//! [`main!`]) runs.
#![no_std]

mod console;
#[cfg(target_arch = "riscv64")]
mod entry;
#[cfg(target_arch = "riscv64")]
mod heap;

pub use console::{Console, ConsoleLock};
#[cfg(target_arch = "riscv64")]
pub use entry::{__BootInfo, halt, ThreadLocalBlock};
#[cfg(target_arch = "riscv64")]
pub use heap::{extend as extend_heap, grown_top, heap_use, HeapUse, GROWN_BASE, GROWN_LIMIT};
