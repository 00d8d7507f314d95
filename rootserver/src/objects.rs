//! Kernel objects and the slots that hold them: taskman's two-level
//! CSpace (`taskman_core::cspace`), the untyped pool over every RAM
//! untyped (`taskman_core::untyped_pool`), and a reserve block for
//! taskman's own permanent objects so that they never pin a process's
//! block.

use alloc::vec::Vec;
use sel4::{AsidControl, AsidPool, CNode, Endpoint, Error, Slot, Tcb, Untyped, VSpace};
use sel4_sys::{init_cap, object, BootInfo, CPtr, CapRights, Word};
use taskman_core::boot::BootFacts;
use taskman_core::cspace::{
    self, guard_data, TaskmanSlots, LEAF_BITS, TOP_BITS, TOP_GUARD_BITS, TOP_SLOT_DEPTH,
};
use taskman_core::untyped_pool::{Merge, NodeId, UntypedPool};

/// log2 of the reserve: the top-level CNode (2 MiB), slot leaves (128 KiB
/// each), ASID pools, reply objects and taskman's threads.
const RESERVE_BITS: u8 = 24;
/// Buddies merge at once only into parents up to this size (see
/// `UntypedPool::with_eager_merge_bits`): reusing a merged parent costs the
/// kernel a zeroing of all of it.
const EAGER_MERGE_BITS: u8 = 18;
/// ASIDs per ASID pool on RISC-V.
const ASIDS_PER_POOL: u32 = 512;

fn out_of_memory() -> Error {
    Error::NotEnoughMemory { bytes_left: 0 }
}

pub struct Objects {
    /// Taskman's CSpace root: the top-level CNode, guarded so that CPtrs
    /// resolve 64 bits.
    pub root: CNode,
    slots: TaskmanSlots,
    pub pool: UntypedPool,
    /// The untyped cap of every pool node, by `NodeId::index`.
    node_caps: Vec<CPtr>,
    reserve: Untyped,
    /// ASID pools with the ASIDs still free in each.
    asid_pools: Vec<(AsidPool, u32)>,
}

impl Objects {
    /// Puts every RAM untyped in the pool, takes the reserve from it and
    /// moves taskman onto its two-level CSpace.
    pub fn new(bi: &BootInfo, facts: &BootFacts) -> Result<Self, Error> {
        let mut o = Self {
            root: CNode(init_cap::CNODE),
            slots: TaskmanSlots::new(bi.empty.start, bi.empty.end),
            pool: UntypedPool::with_eager_merge_bits(EAGER_MERGE_BITS),
            node_caps: Vec::new(),
            reserve: Untyped(0),
            // The boot pool's ASID 0 is never handed out and ASID 1 is
            // taskman's own.
            asid_pools: alloc::vec![(AsidPool(init_cap::ASID_POOL), ASIDS_PER_POOL - 2)],
        };
        for u in facts.untypeds.iter().filter(|u| !u.is_device) {
            let node = o.pool.add_region(u.paddr, u.size_bits);
            o.set_cap(node, u.slot);
        }
        let reserve = o.alloc_block(RESERVE_BITS)?;
        o.reserve = o.block_cap(reserve);
        o.switch_to_two_level()?;
        Ok(o)
    }

    /// Builds the top-level CNode with the boot CNode as leaf 0 and makes it
    /// taskman's CSpace root. Every CPtr below 4,096 keeps its meaning.
    fn switch_to_two_level(&mut self) -> Result<(), Error> {
        let boot = CNode(init_cap::CNODE);
        let unguarded = self.create(object::CNODE, TOP_BITS as usize)?;
        CNode(unguarded).slot_at(0, TOP_BITS).mint(
            boot.slot(init_cap::CNODE),
            CapRights::ALL,
            guard_data(0),
        )?;
        let top = self.alloc_slot()?;
        boot.slot(top)
            .mutate_from(boot.slot(unguarded), guard_data(TOP_GUARD_BITS))?;
        self.slots.free(unguarded);
        Tcb(init_cap::TCB).set_space(
            Endpoint::NULL,
            CNode(top),
            guard_data(TOP_GUARD_BITS),
            VSpace(init_cap::VSPACE),
        )?;
        self.root = CNode(top);
        Ok(())
    }

    /// A slot of taskman's CSpace.
    pub fn slot(&self, cptr: CPtr) -> Slot {
        self.root.slot(cptr)
    }

    /// The top-level entry `leaf` itself.
    pub fn top_slot(&self, leaf: u64) -> Slot {
        self.root.slot_at(leaf, TOP_SLOT_DEPTH)
    }

    /// A free slot; adds a leaf CNode from the reserve when all are full.
    pub fn alloc_slot(&mut self) -> Result<CPtr, Error> {
        if let Some(slot) = self.slots.alloc() {
            return Ok(slot);
        }
        let leaf = self.slots.alloc_leaf().ok_or_else(out_of_memory)?;
        // Depth 0: the top-level CNode itself receives the new leaf.
        if let Err(e) =
            self.reserve
                .retype(object::CNODE, LEAF_BITS as usize, self.root, 0, 0, leaf, 1)
        {
            self.slots.free_leaf(leaf);
            return Err(e);
        }
        self.slots.add_leaf(leaf);
        self.slots.alloc().ok_or_else(out_of_memory)
    }

    /// Gives back a slot that is already empty.
    pub fn free_slot(&mut self, slot: CPtr) {
        self.slots.free(slot)
    }

    /// A free top-level entry, for an object CNode.
    pub fn alloc_leaf(&mut self) -> Result<u64, Error> {
        self.slots.alloc_leaf().ok_or_else(out_of_memory)
    }

    /// Gives back a top-level entry whose CNode is gone.
    pub fn free_leaf(&mut self, leaf: u64) {
        self.slots.free_leaf(leaf)
    }

    /// Taskman's slot leaves, the boot CNode first.
    pub fn slot_leaves(&self) -> Vec<u64> {
        self.slots.slot_leaves().collect()
    }

    /// Slots taskman's allocator has handed out.
    pub fn slots_in_use(&self) -> usize {
        self.slots.in_use()
    }

    /// Creates one object from the reserve.
    pub fn create(&mut self, object_type: Word, size_bits: usize) -> Result<CPtr, Error> {
        self.create_in(self.reserve, object_type, size_bits)
    }

    /// Retypes one object from `untyped` into the empty slot `slot`.
    pub fn retype_at(
        &self,
        untyped: Untyped,
        object_type: Word,
        size_bits: usize,
        slot: CPtr,
    ) -> Result<(), Error> {
        if self.root.0 == init_cap::CNODE {
            // Still on the boot CNode alone: it is the destination itself.
            untyped.retype_one(object_type, size_bits, self.root, slot)
        } else {
            let leaf = cspace::leaf_of(slot);
            let index = slot - cspace::cptr(leaf, 0);
            untyped.retype(
                object_type,
                size_bits,
                self.root,
                leaf,
                TOP_SLOT_DEPTH,
                index,
                1,
            )
        }
    }

    /// Creates one object from `untyped` into a fresh slot; on failure the
    /// slot is given back.
    pub fn create_in(
        &mut self,
        untyped: Untyped,
        object_type: Word,
        size_bits: usize,
    ) -> Result<CPtr, Error> {
        let slot = self.alloc_slot()?;
        self.retype_at(untyped, object_type, size_bits, slot)
            .inspect_err(|_| self.slots.free(slot))?;
        Ok(slot)
    }

    /// Deletes the capability in `slot` (destroying the object if it was the
    /// last one) and gives the slot back.
    pub fn destroy(&mut self, slot: CPtr) -> Result<(), Error> {
        self.slot(slot).delete()?;
        self.slots.free(slot);
        Ok(())
    }

    fn set_cap(&mut self, node: NodeId, cap: CPtr) {
        if self.node_caps.len() <= node.index() {
            self.node_caps.resize(node.index() + 1, 0);
        }
        self.node_caps[node.index()] = cap;
    }

    /// The untyped cap of a pool node.
    pub fn block_cap(&self, node: NodeId) -> Untyped {
        Untyped(self.node_caps[node.index()])
    }

    /// Carves a block of `2^bits` bytes out of the pool, splitting larger
    /// free blocks in the kernel as needed. On failure every split made on
    /// the way is merged back.
    pub fn alloc_block(&mut self, bits: u8) -> Result<NodeId, Error> {
        let mut node = match self.pool.best_fit(bits) {
            Some(n) => n,
            None => {
                for m in self.pool.coalesce() {
                    self.merge(m);
                }
                self.pool.best_fit(bits).ok_or_else(out_of_memory)?
            }
        };
        while self.pool.size_bits(node) > bits {
            match self.split(node) {
                Ok(low) => node = low,
                Err(e) => {
                    self.merge_up(node);
                    return Err(e);
                }
            }
        }
        self.pool.take(node);
        Ok(node)
    }

    /// Retypes free `node` into its two halves; answers the low one.
    fn split(&mut self, node: NodeId) -> Result<NodeId, Error> {
        let parent = self.block_cap(node);
        let half = (self.pool.size_bits(node) - 1) as usize;
        let low = self.alloc_slot()?;
        let high = match self.alloc_slot() {
            Ok(s) => s,
            Err(e) => {
                self.slots.free(low);
                return Err(e);
            }
        };
        let made = self
            .retype_at(parent, object::UNTYPED, half, low)
            .and_then(|()| self.retype_at(parent, object::UNTYPED, half, high));
        if let Err(e) = made {
            // The parent has no other children, so revoking it takes back
            // whichever half exists.
            let _ = self.slot(parent.0).revoke();
            self.slots.free(low);
            self.slots.free(high);
            return Err(e);
        }
        let [l, h] = self.pool.split(node);
        self.set_cap(l, low);
        self.set_cap(h, high);
        Ok(l)
    }

    fn merge_up(&mut self, node: NodeId) {
        for m in self.pool.merge_up(node) {
            self.merge(m);
        }
    }

    /// Deletes both halves' caps, leaving the parent whole.
    fn merge(&mut self, m: Merge) {
        for child in m.children {
            let cap = self.node_caps[child.index()];
            self.node_caps[child.index()] = 0;
            match self.slot(cap).delete() {
                Ok(()) => self.slots.free(cap),
                Err(e) => {
                    sel4_root_task::println!("taskman: cannot delete untyped {cap:#x}: {e:?}")
                }
            }
        }
    }

    /// Takes back everything made from a block (one revoke) and returns it
    /// to the pool, merging buddies.
    pub fn release_block(&mut self, node: NodeId) -> Result<(), Error> {
        self.slot(self.block_cap(node).0).revoke()?;
        for m in self.pool.release(node) {
            self.merge(m);
        }
        Ok(())
    }

    /// Free pool bytes as the kernel sees them. Each free block is asked
    /// for an untyped twice its size, which the kernel refuses with the
    /// bytes the block has left: all of them only if nothing made from it
    /// is alive. The refusal changes nothing; a retype that succeeded would
    /// leave the block to be cleared whole on its next use, a memset of
    /// all free RAM per census.
    pub fn kernel_free_bytes(&mut self) -> Result<u64, Error> {
        let probe = self.alloc_slot()?;
        let mut bytes = 0;
        for (node, bits) in self.pool.free_nodes() {
            let cap = self.block_cap(node);
            match self.retype_at(cap, object::UNTYPED, bits as usize + 1, probe) {
                Err(Error::NotEnoughMemory { bytes_left }) => bytes += bytes_left,
                Err(_) => {}
                Ok(()) => self.slot(probe).delete()?,
            }
        }
        self.slots.free(probe);
        Ok(bytes)
    }

    /// Occupied slots in `leaf` (2^`radix` slots) as the kernel counts
    /// them: all of them, and those holding untyped caps.
    pub fn kernel_count_leaf(&self, leaf: u64, radix: u8) -> (u64, u64) {
        (0..1u64 << radix)
            .map(|i| sel4_sys::debug_cap_identify(cspace::cptr(leaf, i)))
            .filter(|&tag| tag != sel4_sys::cap_type::NULL)
            .fold((0, 0), |(all, untyped), tag| {
                (
                    all + 1,
                    untyped + (tag == sel4_sys::cap_type::UNTYPED) as u64,
                )
            })
    }

    /// Occupied slots of the CNode (2^`radix` slots) whose cap is in
    /// `cnode`, as the kernel counts them. The CNode is lent a top-level
    /// entry for the count, through a copy guarded to stand as a leaf; if
    /// no entry is free, answers 0.
    pub fn kernel_count_cnode(&mut self, cnode: CPtr, radix: u8) -> u64 {
        let Ok(leaf) = self.alloc_leaf() else {
            return 0;
        };
        let lent =
            self.top_slot(leaf)
                .mint(self.slot(cnode), CapRights::ALL, cspace::leaf_guard(radix));
        let count = match lent {
            Ok(()) => {
                let (all, _) = self.kernel_count_leaf(leaf, radix);
                let _ = self.top_slot(leaf).delete();
                all
            }
            Err(_) => 0,
        };
        self.free_leaf(leaf);
        count
    }

    /// Gives `vspace` an ASID, making a new ASID pool from the reserve when
    /// all are full. Answers the pool's index, for `release_asid`.
    pub fn assign_asid(&mut self, vspace: VSpace) -> Result<usize, Error> {
        loop {
            let index = match self.asid_pools.iter().position(|&(_, free)| free > 0) {
                Some(i) => i,
                None => self.make_asid_pool()?,
            };
            match self.asid_pools[index].0.assign(vspace) {
                Ok(()) => {
                    self.asid_pools[index].1 -= 1;
                    return Ok(index);
                }
                // The kernel found the pool full: our count was wrong;
                // believe the kernel and go on to the next pool.
                Err(Error::DeleteFirst) => {
                    sel4_root_task::println!(
                        "taskman: ASID pool {index} is full, though counted free"
                    );
                    self.asid_pools[index].1 = 0;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// ASID pools made since boot (the boot pool is not one of them).
    pub fn asid_pools_made(&self) -> usize {
        self.asid_pools.len() - 1
    }

    /// Notes that a VSpace with an ASID from pool `index` is gone.
    pub fn release_asid(&mut self, index: usize) {
        self.asid_pools[index].1 += 1;
    }

    fn make_asid_pool(&mut self) -> Result<usize, Error> {
        let untyped = self.create(object::UNTYPED, sel4_sys::size_bits::ASID_POOL)?;
        let pool = self.alloc_slot()?;
        AsidControl(init_cap::ASID_CONTROL).make_pool(Untyped(untyped), self.slot(pool))?;
        self.asid_pools.push((AsidPool(pool), ASIDS_PER_POOL));
        Ok(self.asid_pools.len() - 1)
    }
}
