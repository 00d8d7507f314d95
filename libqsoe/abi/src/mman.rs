//! Memory protections for `mmap_device_memory`, with QNX Neutrino's values
//! (`sys/mman.h`).

pub const PROT_NONE: u32 = 0x000;
pub const PROT_READ: u32 = 0x100;
pub const PROT_WRITE: u32 = 0x200;
pub const PROT_EXEC: u32 = 0x400;
pub const PROT_NOCACHE: u32 = 0x800;
