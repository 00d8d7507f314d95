//! Mapping frames into taskman's own address space.

use crate::objects::Objects;
use sel4::{Error, Frame, PageTable, VSpace};
use sel4_sys::{init_cap, object, size_bits, vm_attributes, CapRights};

/// Where taskman maps memory it creates at run time (IPC buffers of its
/// own threads, device registers): far above its image, below the top of
/// Sv39 user space.
const WINDOW_BASE: u64 = 0x20_0000_0000;
const PAGE: u64 = 1 << size_bits::PAGE;

/// Virtual pages of the run-time window, handed out in order.
pub struct Window {
    next: u64,
}

impl Window {
    pub fn new() -> Self {
        Self { next: WINDOW_BASE }
    }

    /// Maps `frame` at the next free page and answers its address. Missing
    /// page tables are created from taskman's reserve and kept.
    pub fn map(
        &mut self,
        objects: &mut Objects,
        frame: Frame,
        rights: CapRights,
    ) -> Result<u64, Error> {
        let vaddr = self.next;
        let vspace = VSpace(init_cap::VSPACE);
        loop {
            match frame.map(vspace, vaddr, rights, vm_attributes::DEFAULT) {
                Ok(()) => break,
                Err(Error::FailedLookup { .. }) => {
                    let pt = PageTable(objects.create(object::PAGE_TABLE, 0)?);
                    pt.map(vspace, vaddr, vm_attributes::DEFAULT)?;
                }
                Err(e) => return Err(e),
            }
        }
        self.next += PAGE;
        Ok(vaddr)
    }
}
