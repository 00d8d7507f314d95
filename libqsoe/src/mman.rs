//! Device registers and interrupts for drivers, with QNX's names:
//! `mmap_device_memory`, `munmap_device_memory`, `InterruptAttachEvent`,
//! `InterruptUnmask`, `InterruptDetach`, and `find_device` (where QNX
//! reads the system page) for a device's address and interrupt.
//!
//! All are taskman's, and only for the devices the manifest grants the
//! program (`EPERM` otherwise). An attached interrupt that fires is
//! masked and its event delivered (a pulse on the caller's connection);
//! it stays masked until `InterruptUnmask`.
#![allow(non_snake_case)]

use crate::errno::{Errno, EINVAL};
use crate::taskman::request;
use qsoe_abi::event::SigEvent;
use qsoe_abi::wire::{self, op, MAX_WORDS, NO_IRQ};
use sel4_sys::Word;

pub use qsoe_abi::mman::{PROT_EXEC, PROT_NOCACHE, PROT_NONE, PROT_READ, PROT_WRITE};

/// A grantable device's first register window and interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub paddr: u64,
    pub size: u64,
    pub irq: Option<u32>,
}

/// The `index`-th grantable device compatible with `compatible`
/// (`ENODEV` if the manifest grants no such device to anyone).
pub fn find_device(compatible: &str, index: u32) -> Result<DeviceInfo, Errno> {
    let mut words = [0 as Word; MAX_WORDS];
    let n = wire::encode_device_find(&mut words, index, compatible.as_bytes())?;
    let r = request(op::DEVICE_FIND, &words[..n])?;
    Ok(DeviceInfo {
        paddr: r[0],
        size: r[1],
        irq: (r[2] != NO_IRQ).then_some(r[2] as u32),
    })
}

/// `mmap_device_memory(NULL, len, prot, 0, physical)`: maps `len` bytes of
/// device registers at `physical`; answers where `physical` lies.
pub fn mmap_device_memory(len: usize, prot: u32, physical: u64) -> Result<*mut u8, Errno> {
    let r = request(op::MMAP_DEVICE, &[physical, len as Word, prot as Word])?;
    Ok(r[0] as *mut u8)
}

/// `munmap_device_memory(addr, len)`: unmaps the mapping `addr` is in the
/// first page of.
pub fn munmap_device_memory(addr: *mut u8, _len: usize) -> Result<(), Errno> {
    request(op::MUNMAP_DEVICE, &[addr as Word]).map(drop)
}

/// `InterruptAttachEvent(irq, &event, 0)`: answers the id.
pub fn InterruptAttachEvent(irq: u32, event: &SigEvent) -> Result<i32, Errno> {
    let e = event.to_words();
    let r = request(op::INTERRUPT_ATTACH, &[irq as Word, e[0], e[1], e[2], e[3]])?;
    i32::try_from(r[0]).map_err(|_| EINVAL)
}

/// `InterruptUnmask(irq, id)`.
pub fn InterruptUnmask(_irq: u32, id: i32) -> Result<(), Errno> {
    request(op::INTERRUPT_UNMASK, &[id as Word]).map(drop)
}

/// `InterruptDetach(id)`.
pub fn InterruptDetach(id: i32) -> Result<(), Errno> {
    request(op::INTERRUPT_DETACH, &[id as Word]).map(drop)
}
