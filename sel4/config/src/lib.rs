//! Configuration facts, written once.
//!
//! [`platform`] comes from `cmake/platform.conf`, the file that also drives
//! the kernel's CMake settings. [`kernel`] holds configuration values of the
//! kernel build that our code depends on; the ABI drift test compares them
//! with the `gen_config.json` of the kernel actually built.
#![no_std]

/// What `cmake/platform.conf` says.
pub mod platform {
    include!(concat!(env!("OUT_DIR"), "/platform.rs"));

    /// Bytes of RAM the machine is booted with.
    pub const MEMORY_BYTES: usize = MEMORY_MIB << 20;
}

/// Kernel configuration values that follow from the platform and the
/// kernel's defaults (checked against `gen_config.json`).
pub mod kernel {
    /// Kernel built with mixed-criticality scheduling.
    pub const KERNEL_MCS: bool = super::platform::MCS;
    /// Number of cores the kernel brings up.
    pub const MAX_NUM_NODES: usize = super::platform::HARTS;
    /// Entries in BootInfo's untyped list.
    pub const MAX_NUM_BOOTINFO_UNTYPED_CAPS: usize = 230;
    /// Size of the initial thread's CNode, in bits.
    pub const ROOT_CNODE_SIZE_BITS: usize = 12;
    /// Most objects one `Untyped_Retype` may create.
    pub const RETYPE_FAN_OUT_LIMIT: usize = 256;
    /// Priorities 0..NUM_PRIORITIES.
    pub const NUM_PRIORITIES: usize = 256;
    /// Levels of the Sv39 page table.
    pub const PT_LEVELS: usize = 3;
    /// Frequency of the timer the kernel programs, in Hz.
    pub const TIMER_FREQUENCY: usize = 10_000_000;
    /// Lowest hart id on the board.
    pub const FIRST_HART_ID: usize = 0;
}
