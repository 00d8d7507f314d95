//! The shape of taskman's CSpace, and of the CNodes it makes for others.
//!
//! The kernel hands taskman one CNode of 4,096 slots. Taskman puts a
//! two-level CSpace on top of it: a top-level CNode of `TOP_BITS` whose
//! entries are leaf CNodes of `LEAF_BITS` each. Leaf 0 is the boot CNode,
//! so every CPtr from BootInfo keeps its meaning. Further leaves are made
//! when taskman's slots run out, and each process's object CNode is a leaf
//! of its own, so the caps taskman keeps for a process are named directly
//! and leave with one revoke. 65,536 leaves match the kernel's 65,536
//! ASIDs: processes run out of address-space ids before taskman runs out
//! of slots.
//!
//! ```text
//! CPtr bits:  63 ........ 28 | 27 ....... 12 | 11 ...... 0
//!             guard (zeros)  | leaf (TOP)    | slot (LEAF)
//! ```

use crate::slots::SlotAllocator;
use alloc::vec::Vec;

/// Radix of taskman's top-level CNode.
pub const TOP_BITS: u8 = 16;
/// Radix of a leaf: the boot CNode's size, and that of the leaves taskman
/// adds.
pub const LEAF_BITS: u8 = 12;
/// Guard of the top-level CNode: the CPtr bits above leaf and slot.
pub const TOP_GUARD_BITS: u8 = 64 - TOP_BITS - LEAF_BITS;
/// Depth at which a CPtr (then just a leaf number) names a slot of the
/// top-level CNode itself.
pub const TOP_SLOT_DEPTH: u8 = TOP_GUARD_BITS + TOP_BITS;

/// The CPtr of `slot` in leaf `leaf`.
pub const fn cptr(leaf: u64, slot: u64) -> u64 {
    leaf << LEAF_BITS | slot
}

/// The leaf a CPtr lies in.
pub const fn leaf_of(cptr: u64) -> u64 {
    cptr >> LEAF_BITS
}

/// Capability data for a CNode cap: a guard of `guard_bits` zero bits.
pub const fn guard_data(guard_bits: u8) -> u64 {
    guard_bits as u64
}

/// Capability data that makes a CNode of `radix` bits fill a leaf's
/// `LEAF_BITS` of a CPtr, so a small CNode can stand where a leaf goes.
pub const fn leaf_guard(radix: u8) -> u64 {
    guard_data(LEAF_BITS - radix)
}

/// Capability data for a CSpace root of `radix` bits that resolves 64-bit
/// CPtrs in one level (a process's root CNode).
pub const fn root_guard(radix: u8) -> u64 {
    guard_data(64 - radix)
}

/// Taskman's slots across all its leaves: freed slots are reused first,
/// and when none is left the shell adds a leaf.
#[derive(Debug)]
pub struct TaskmanSlots {
    leaves: Vec<(u64, SlotAllocator)>,
    /// Top-level entries, shared by slot leaves and object CNodes.
    top: SlotAllocator,
}

impl TaskmanSlots {
    /// Starts with the boot CNode's empty slots `[start, end)` as leaf 0.
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            leaves: alloc::vec![(0, SlotAllocator::new(start, end))],
            top: SlotAllocator::new(1, 1 << TOP_BITS),
        }
    }

    /// A free slot, or `None` when every leaf is full (then `add_leaf`).
    pub fn alloc(&mut self) -> Option<u64> {
        self.leaves.iter_mut().find_map(|(_, a)| a.alloc())
    }

    /// Gives `slot` back; the caller must have emptied it.
    pub fn free(&mut self, slot: u64) {
        let leaf = leaf_of(slot);
        match self.leaves.iter_mut().find(|(l, _)| *l == leaf) {
            Some((_, a)) => a.free(slot),
            None => debug_assert!(false, "slot {slot:#x} is in no leaf of ours"),
        }
    }

    /// A free top-level entry, for a new leaf or an object CNode.
    pub fn alloc_leaf(&mut self) -> Option<u64> {
        self.top.alloc()
    }

    /// Gives a top-level entry back once its CNode is gone.
    pub fn free_leaf(&mut self, leaf: u64) {
        self.top.free(leaf)
    }

    /// Adds the slots of a leaf CNode the shell installed at `leaf`.
    pub fn add_leaf(&mut self, leaf: u64) {
        self.leaves
            .push((leaf, SlotAllocator::new(cptr(leaf, 0), cptr(leaf + 1, 0))));
    }

    /// The leaves holding taskman's slots (boot CNode first).
    pub fn slot_leaves(&self) -> impl Iterator<Item = u64> + '_ {
        self.leaves.iter().map(|(l, _)| *l)
    }

    /// Slots handed out and not given back, over all leaves.
    pub fn in_use(&self) -> usize {
        self.leaves.iter().map(|(_, a)| a.in_use()).sum()
    }

    /// Top-level entries in use (slot leaves besides the boot CNode, and
    /// object CNodes).
    pub fn leaves_in_use(&self) -> usize {
        self.top.in_use()
    }
}

/// log2 of the smallest power of two that holds `n` (at least 1 → 0).
pub const fn ceil_log2(n: u64) -> u8 {
    if n <= 1 {
        0
    } else {
        (64 - (n - 1).leading_zeros()) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cptrs_split_into_leaf_and_slot() {
        assert_eq!(cptr(0, 5), 5);
        assert_eq!(cptr(3, 7), 0x3007);
        assert_eq!(leaf_of(0x3007), 3);
        assert_eq!(
            TOP_GUARD_BITS as u32 + TOP_BITS as u32 + LEAF_BITS as u32,
            64
        );
        assert_eq!(TOP_SLOT_DEPTH, 52);
    }

    #[test]
    fn guards_make_every_lookup_64_bits() {
        assert_eq!(root_guard(10), 54);
        assert_eq!(leaf_guard(12), 0);
        assert_eq!(leaf_guard(6), 6);
        // A 6-bit object CNode behind the top level resolves exactly 64 bits.
        assert_eq!(
            TOP_GUARD_BITS as u64 + TOP_BITS as u64 + leaf_guard(6) + 6,
            64
        );
    }

    #[test]
    fn slots_spill_into_added_leaves_and_come_back() {
        let mut s = TaskmanSlots::new(4090, 4096);
        let boot: Vec<_> = (0..6).map(|_| s.alloc().unwrap()).collect();
        assert_eq!(boot, [4090, 4091, 4092, 4093, 4094, 4095]);
        assert_eq!(s.alloc(), None);
        let leaf = s.alloc_leaf().unwrap();
        assert_eq!(leaf, 1);
        s.add_leaf(leaf);
        assert_eq!(s.alloc(), Some(cptr(1, 0)));
        s.free(4092);
        assert_eq!(s.alloc(), Some(4092), "freed boot slots are used first");
        assert_eq!(s.in_use(), 7);
        assert_eq!(s.slot_leaves().collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn top_level_entries_are_reused() {
        let mut s = TaskmanSlots::new(0, 0);
        let a = s.alloc_leaf().unwrap();
        let b = s.alloc_leaf().unwrap();
        s.free_leaf(a);
        assert_eq!(s.alloc_leaf(), Some(a));
        assert_ne!(a, b);
        assert_eq!(s.leaves_in_use(), 2);
    }

    #[test]
    fn top_level_has_room_for_every_asid() {
        let mut s = TaskmanSlots::new(0, 0);
        let mut n = 0;
        while s.alloc_leaf().is_some() {
            n += 1;
        }
        assert_eq!(n, (1 << TOP_BITS) - 1, "entry 0 is the boot CNode");
    }

    #[test]
    fn ceil_log2_rounds_up() {
        assert_eq!(
            [1, 2, 3, 4, 5, 4096, 4097].map(ceil_log2),
            [0, 1, 2, 2, 3, 12, 13]
        );
    }
}
