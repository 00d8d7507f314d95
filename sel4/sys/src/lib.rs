//! The raw seL4 ABI for 64-bit RISC-V with the MCS kernel.
//!
//! Everything here is written by hand from the kernel's interface
//! definitions; `tests/abi_drift.rs` compares every number and layout with
//! the headers of the kernel actually built. Only the system-call entry
//! points need the target; the constants and structures build everywhere so
//! host code can share them.
#![no_std]

#[cfg(test)]
extern crate std;

mod bootinfo;
mod consts;
mod invocation;
mod ipc_buffer;
mod message_info;
#[cfg(target_arch = "riscv64")]
mod syscall;

pub use bootinfo::*;
pub use consts::*;
pub use invocation::*;
pub use ipc_buffer::*;
pub use message_info::*;
#[cfg(target_arch = "riscv64")]
pub use syscall::*;

/// A machine word.
pub type Word = u64;
/// A capability pointer: an address in a CSpace.
pub type CPtr = Word;
