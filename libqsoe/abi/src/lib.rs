//! The contract between taskman and the processes it starts.
//!
//! Both sides build this crate, so a number written here can never mean
//! one thing in taskman and another in libqsoe. Everything is plain data
//! and pure functions, tested on the host.
#![no_std]

#[cfg(test)]
extern crate std;

pub mod errno;
pub mod event;
pub mod grants;
pub mod iomsg;
pub mod ipc;
pub mod layout;
pub mod mman;
pub mod path;
pub mod signal;
pub mod suite;
pub mod termios;
pub mod time;
pub mod wait;
pub mod wire;

/// A process id: the low 16 bits index taskman's process table, the bits
/// above carry a generation so that a stale pid never names a newer
/// process that reuses the entry.
pub type Pid = i32;
