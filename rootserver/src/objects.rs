//! Creating kernel objects for taskman's own use.
//!
//! Taskman's permanent objects come from a reserve untyped of their own so
//! that they never pin memory meant for processes.

use crate::boot::Boot;
use sel4::{CNode, Error, Untyped};
use sel4_sys::{init_cap, BootInfo, CPtr, Word};
use taskman_core::{boot::BootFacts, slots::SlotAllocator};

/// The smallest RAM untyped taskman accepts as its reserve.
const MIN_RESERVE_BITS: u8 = 20;

pub struct Objects {
    pub root: CNode,
    pub slots: SlotAllocator,
    reserve: Untyped,
}

impl Objects {
    pub fn new(bi: &BootInfo, facts: &BootFacts) -> Self {
        let reserve = facts
            .untypeds
            .iter()
            .filter(|u| !u.is_device && u.size_bits >= MIN_RESERVE_BITS)
            .min_by_key(|u| u.size_bits)
            .expect("no RAM untyped of at least 1 MiB for taskman's reserve");
        Self {
            root: CNode(init_cap::CNODE),
            slots: SlotAllocator::new(bi.empty.start, bi.empty.end),
            reserve: Untyped(reserve.slot),
        }
    }

    /// Creates one object from the reserve.
    pub fn create(&mut self, object_type: Word, size_bits: usize) -> Result<CPtr, Error> {
        self.create_in(self.reserve, object_type, size_bits)
    }

    /// Creates one object from `untyped` into a fresh slot; on failure the
    /// slot is given back.
    pub fn create_in(
        &mut self,
        untyped: Untyped,
        object_type: Word,
        size_bits: usize,
    ) -> Result<CPtr, Error> {
        let slot = self
            .slots
            .alloc()
            .ok_or(Error::NotEnoughMemory { bytes_left: 0 })?;
        untyped
            .retype_one(object_type, size_bits, self.root, slot)
            .inspect_err(|_| self.slots.free(slot))?;
        Ok(slot)
    }

    /// Deletes the capability in `slot` (destroying the object if it was the
    /// last one) and gives the slot back.
    pub fn destroy(&mut self, slot: CPtr) -> Result<(), Error> {
        self.root.slot(slot).delete()?;
        self.slots.free(slot);
        Ok(())
    }
}

impl Boot {
    /// The device untyped that covers `paddr`, with its base and size bits.
    pub fn device_untyped(&self, paddr: u64) -> Option<(Untyped, u64, u8)> {
        self.facts
            .untypeds
            .iter()
            .find(|u| u.is_device && u.paddr <= paddr && paddr < u.end())
            .map(|u| (Untyped(u.slot), u.paddr, u.size_bits))
    }
}
