//! Taskman's bookkeeping, apart from the seL4 calls that act on it.
//!
//! Everything here is plain Rust over plain data so that it runs in host
//! unit tests in milliseconds; `rootserver/src` is the thin layer that
//! turns its decisions into invocations.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod boot;
pub mod bootargs;
pub mod bootfs;
pub mod channels;
pub mod console_line;
pub mod cspace;
pub mod demand_pages;
pub mod devices;
pub mod elf_plan;
pub mod events;
pub mod files;
pub mod init_commands;
pub mod initial_stack;
pub mod interrupts;
pub mod leases;
pub mod limits;
pub mod paths;
pub mod policy;
pub mod processes;
pub mod signals;
pub mod slots;
pub mod spawn_plan;
pub mod thread_page;
pub mod threads;
pub mod timers;
pub mod untyped_pool;
