//! Mapping frames into taskman's own address space.

use crate::objects::Objects;
use sel4::{Error, Frame, PageTable, VSpace};
use sel4_sys::{init_cap, object, size_bits, vm_attributes, CapRights};

/// Where taskman maps memory it creates at run time (IPC buffers of its
/// own threads, device registers): far above its image, below the top of
/// Sv39 user space.
const WINDOW_BASE: u64 = 0x20_0000_0000;
const PAGE: u64 = 1 << size_bits::PAGE;

/// Virtual pages of the run-time window, handed out in order. The first
/// page is kept for short-lived mappings (`with_frame`).
pub struct Window {
    next: u64,
}

/// The page `with_frame` maps frames at.
const SCRATCH: u64 = WINDOW_BASE;

impl Window {
    pub fn new() -> Self {
        Self {
            next: WINDOW_BASE + PAGE,
        }
    }

    /// Maps `frame` into taskman for the duration of `fill` (to write a new
    /// process's pages) and unmaps it again, so the frame can be mapped
    /// where it belongs.
    pub fn with_frame(
        &mut self,
        objects: &mut Objects,
        frame: Frame,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), Error> {
        map_at(objects, frame, SCRATCH, CapRights::READ_WRITE)?;
        // SAFETY: the frame is mapped read-write at SCRATCH, one page, and
        // nothing else uses that page while `fill` runs.
        fill(unsafe { core::slice::from_raw_parts_mut(SCRATCH as *mut u8, PAGE as usize) });
        frame.unmap()
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
        map_at(objects, frame, vaddr, rights)?;
        self.next += PAGE;
        Ok(vaddr)
    }
}

/// Maps `frame` at `vaddr` in taskman's VSpace, creating missing page
/// tables from the reserve (they stay).
pub fn map_at(
    objects: &mut Objects,
    frame: Frame,
    vaddr: u64,
    rights: CapRights,
) -> Result<(), Error> {
    let vspace = VSpace(init_cap::VSPACE);
    loop {
        match frame.map(vspace, vaddr, rights, vm_attributes::DEFAULT) {
            Ok(()) => return Ok(()),
            Err(Error::FailedLookup { .. }) => {
                let pt = PageTable(objects.create(object::PAGE_TABLE, 0)?);
                pt.map(vspace, vaddr, vm_attributes::DEFAULT)?;
            }
            Err(e) => return Err(e),
        }
    }
}
