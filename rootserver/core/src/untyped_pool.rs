//! Buddy bookkeeping over seL4 untyped memory.
//!
//! Taskman carves one power-of-two block per process out of whichever RAM
//! untyped fits it best. It gets such a block by halving an untyped again
//! and again (a retype into two untyped children of half the size), and
//! when the block comes back it merges it with its buddy (deleting both
//! children's capabilities makes the parent whole again), so memory never
//! stays fragmented once the processes that split it are gone.
//!
//! This module only records the tree of untypeds; the shell performs each
//! kernel step and then reports it here, so the pool never runs ahead of the
//! kernel even when a step fails halfway.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// The smallest block: a 4 KiB page. Nodes of this size are never split.
pub const MIN_BITS: u8 = 12;

/// Index of a node in the pool's arena; stable while the node exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// A small index, for tables kept beside the pool (such as the untyped
    /// capability of each node).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Whole and available.
    Free,
    /// Retyped into two halves; they are its children.
    Split,
    /// Handed out.
    Taken,
}

/// A merge the shell must perform in the kernel: delete both children's
/// capabilities so that `parent` is whole again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merge {
    pub parent: NodeId,
    /// Low half, high half. These ids are no longer valid.
    pub children: [NodeId; 2],
}

#[derive(Debug)]
struct Node {
    /// `None` for a region (a root), which never merges.
    parent: Option<NodeId>,
    /// Low half, high half; `Some` exactly when the node is split.
    children: Option<[NodeId; 2]>,
    paddr: u64,
    size_bits: u8,
    state: NodeState,
}

/// A forest of untypeds: one tree per region, whose leaves are free or
/// taken blocks.
#[derive(Debug, Default)]
pub struct UntypedPool {
    /// Indexed by `NodeId`; `None` for vacated ids, which are listed in
    /// `vacant` and reused first so the arena stays as small as the most
    /// nodes ever alive at once.
    nodes: Vec<Option<Node>>,
    vacant: Vec<u32>,
    /// Free nodes keyed by (size bits, paddr), so the first key at or above
    /// a size is the best fit.
    free: BTreeSet<(u8, u64, NodeId)>,
    total_bytes: u64,
    free_bytes: u64,
    taken_bytes: u64,
    /// Roots (regions), which are never split children.
    regions: usize,
    /// `release` merges only up to parents of this size; bigger merges wait
    /// for `coalesce`. `None`: merge all the way.
    eager_merge_bits: Option<u8>,
}

impl UntypedPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A pool whose `release` merges buddies only into parents of at most
    /// `2^bits` bytes. Re-using a merged parent makes the kernel zero all of
    /// it (a reset clears up to the watermark, which splitting left at the
    /// end), so big parents stay split until an allocation needs them
    /// whole (`coalesce`).
    pub fn with_eager_merge_bits(bits: u8) -> Self {
        Self {
            eager_merge_bits: Some(bits),
            ..Self::default()
        }
    }

    /// Merges every pair of free buddies, bottom up; answers the merges for
    /// the shell to perform, in order.
    pub fn coalesce(&mut self) -> Vec<Merge> {
        let saved = self.eager_merge_bits.take();
        let free: Vec<NodeId> = self.free.iter().map(|&(_, _, id)| id).collect();
        let mut merges = Vec::new();
        for node in free {
            if self
                .nodes
                .get(node.index())
                .is_some_and(|n| n.as_ref().is_some_and(|n| n.state == NodeState::Free))
            {
                merges.extend(self.merge_up(node));
            }
        }
        self.eager_merge_bits = saved;
        merges
    }

    /// Nodes that are halves of a split (each holds one untyped cap the
    /// shell made), as opposed to regions.
    pub fn split_nodes(&self) -> usize {
        self.nodes.len() - self.vacant.len() - self.regions
    }

    /// Adds one whole untyped (a boot untyped) as a root node; answers its id.
    pub fn add_region(&mut self, paddr: u64, size_bits: u8) -> NodeId {
        assert!(size_bits < 64, "untyped of 2^{size_bits} bytes");
        let id = self.insert(None, paddr, size_bits);
        self.regions += 1;
        self.total_bytes += 1 << size_bits;
        self.free_bytes += 1 << size_bits;
        id
    }

    /// The free node best suited for a block of `size_bits`: the smallest
    /// free node at least that large, the lowest paddr among equals.
    pub fn best_fit(&self, size_bits: u8) -> Option<NodeId> {
        self.free
            .range((size_bits, 0, NodeId(0))..)
            .next()
            .map(|&(_, _, id)| id)
    }

    /// Records that the shell split free `node` into two halves in the
    /// kernel; answers [low half, high half], both free.
    pub fn split(&mut self, node: NodeId) -> [NodeId; 2] {
        let (paddr, size_bits) = (self.paddr(node), self.size_bits(node));
        assert!(size_bits > MIN_BITS, "splitting a {size_bits}-bit node");
        self.unfree(node);
        let half = size_bits - 1;
        let children = [
            self.insert(Some(node), paddr, half),
            self.insert(Some(node), paddr + (1 << half), half),
        ];
        let n = self.node_mut(node);
        n.state = NodeState::Split;
        n.children = Some(children);
        children
    }

    /// Marks free `node` as handed out.
    pub fn take(&mut self, node: NodeId) {
        self.unfree(node);
        let n = self.node_mut(node);
        n.state = NodeState::Taken;
        let bytes = 1 << n.size_bits;
        self.free_bytes -= bytes;
        self.taken_bytes += bytes;
    }

    /// Gives taken `node` back, then merges it with its buddy while both are
    /// free; answers the merges for the shell to perform, bottom up.
    pub fn release(&mut self, node: NodeId) -> Vec<Merge> {
        let n = self.node_mut(node);
        assert_eq!(n.state, NodeState::Taken, "releasing {node:?}");
        n.state = NodeState::Free;
        let (paddr, size_bits) = (n.paddr, n.size_bits);
        self.free.insert((size_bits, paddr, node));
        self.free_bytes += 1 << size_bits;
        self.taken_bytes -= 1 << size_bits;
        self.merge_up(node)
    }

    /// Merges free `node` with its buddy while both are free, such as a half
    /// whose split the caller wants undone right away; answers the merges
    /// for the shell to perform, bottom up.
    pub fn merge_up(&mut self, mut node: NodeId) -> Vec<Merge> {
        assert_eq!(self.state(node), NodeState::Free, "merging {node:?}");
        let mut merges = Vec::new();
        while let Some(parent) = self.node(node).parent {
            if self
                .eager_merge_bits
                .is_some_and(|max| self.node(parent).size_bits > max)
            {
                break;
            }
            let children = self.node(parent).children.expect("parent is split");
            if children.iter().any(|&c| self.state(c) != NodeState::Free) {
                break;
            }
            for child in children {
                self.unfree(child);
                self.nodes[child.index()] = None;
                self.vacant.push(child.0);
            }
            let p = self.node_mut(parent);
            p.state = NodeState::Free;
            p.children = None;
            let key = (p.size_bits, p.paddr, parent);
            self.free.insert(key);
            merges.push(Merge { parent, children });
            node = parent;
        }
        merges
    }

    pub fn state(&self, node: NodeId) -> NodeState {
        self.node(node).state
    }

    pub fn size_bits(&self, node: NodeId) -> u8 {
        self.node(node).size_bits
    }

    pub fn paddr(&self, node: NodeId) -> u64 {
        self.node(node).paddr
    }

    /// Bytes in free nodes.
    pub fn free_bytes(&self) -> u64 {
        self.free_bytes
    }

    /// Bytes in all regions.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes in taken nodes.
    pub fn taken_bytes(&self) -> u64 {
        self.taken_bytes
    }

    /// The size of the largest free node.
    pub fn largest_free_bits(&self) -> Option<u8> {
        self.free.last().map(|&(bits, _, _)| bits)
    }

    /// Every free node with its size bits, lowest paddr first (the shell
    /// probes each with a kernel retype to count free memory the kernel's
    /// way). A `Vec` so the pool may change while the caller walks it.
    pub fn free_nodes(&self) -> Vec<(NodeId, u8)> {
        let mut nodes: Vec<_> = self.free.iter().map(|&(b, p, id)| (p, id, b)).collect();
        nodes.sort_unstable();
        nodes.into_iter().map(|(_, id, bits)| (id, bits)).collect()
    }

    /// Stores a new free node, reusing a vacated id if there is one.
    fn insert(&mut self, parent: Option<NodeId>, paddr: u64, size_bits: u8) -> NodeId {
        let node = Node {
            parent,
            children: None,
            paddr,
            size_bits,
            state: NodeState::Free,
        };
        let id = match self.vacant.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                NodeId(i)
            }
            None => {
                self.nodes.push(Some(node));
                NodeId(u32::try_from(self.nodes.len() - 1).expect("arena fits u32"))
            }
        };
        self.free.insert((size_bits, paddr, id));
        id
    }

    /// Drops free `node` from the free index.
    fn unfree(&mut self, node: NodeId) {
        let n = self.node(node);
        let key = (n.size_bits, n.paddr, node);
        assert!(self.free.remove(&key), "{node:?} is not free");
    }

    fn node(&self, node: NodeId) -> &Node {
        self.nodes[node.index()].as_ref().expect("stale NodeId")
    }

    fn node_mut(&mut self, node: NodeId) -> &mut Node {
        self.nodes[node.index()].as_mut().expect("stale NodeId")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Checks every invariant of the pool against its arena.
    fn check(pool: &UntypedPool) {
        let (mut total, mut free, mut taken) = (0, 0, 0);
        let mut free_keys = BTreeSet::new();
        let mut live = 0;
        for (i, slot) in pool.nodes.iter().enumerate() {
            let id = NodeId(i as u32);
            let Some(n) = slot else {
                assert!(pool.vacant.contains(&id.0), "{id:?} lost");
                continue;
            };
            live += 1;
            assert!(!pool.vacant.contains(&id.0), "{id:?} live and vacant");
            let bytes = 1u64 << n.size_bits;
            match n.parent {
                None => total += bytes,
                Some(p) => {
                    let pn = pool.node(p);
                    assert_eq!(pn.state, NodeState::Split);
                    assert!(pn.children.unwrap().contains(&id));
                }
            }
            assert_eq!(n.children.is_some(), n.state == NodeState::Split);
            match n.state {
                NodeState::Free => {
                    free += bytes;
                    free_keys.insert((n.size_bits, n.paddr, id));
                }
                NodeState::Taken => taken += bytes,
                NodeState::Split => {
                    let [lo, hi] = n.children.unwrap();
                    let (l, h) = (pool.node(lo), pool.node(hi));
                    assert_eq!((l.parent, h.parent), (Some(id), Some(id)));
                    assert_eq!(l.size_bits + 1, n.size_bits);
                    assert_eq!(h.size_bits + 1, n.size_bits);
                    assert_eq!(l.paddr, n.paddr);
                    assert_eq!(h.paddr, n.paddr + (bytes / 2));
                    assert!(
                        l.state != NodeState::Free || h.state != NodeState::Free,
                        "free buddies {lo:?} and {hi:?} left unmerged"
                    );
                }
            }
        }
        assert_eq!(live + pool.vacant.len(), pool.nodes.len());
        assert_eq!(free_keys, pool.free);
        assert_eq!(total, pool.total_bytes());
        assert_eq!(free, pool.free_bytes());
        assert_eq!(taken, pool.taken_bytes());
        assert_eq!(free + taken, total);
    }

    /// Splits down from the best fit to a block of `bits` and takes it, the
    /// way the shell does.
    fn alloc(pool: &mut UntypedPool, bits: u8) -> Option<NodeId> {
        let mut node = pool.best_fit(bits)?;
        while pool.size_bits(node) > bits {
            node = pool.split(node)[0];
        }
        pool.take(node);
        Some(node)
    }

    /// The number of nodes alive in the arena.
    fn live(pool: &UntypedPool) -> usize {
        pool.nodes.iter().flatten().count()
    }

    #[test]
    fn split_and_take_yields_halves_at_the_right_paddrs() {
        let mut pool = UntypedPool::new();
        let root = pool.add_region(0x8000_0000, 16);
        let [lo, hi] = pool.split(root);
        assert_eq!((pool.paddr(lo), pool.paddr(hi)), (0x8000_0000, 0x8000_8000));
        assert_eq!((pool.size_bits(lo), pool.size_bits(hi)), (15, 15));
        assert_eq!(pool.state(root), NodeState::Split);
        let [a, b] = pool.split(hi);
        assert_eq!((pool.paddr(a), pool.paddr(b)), (0x8000_8000, 0x8000_c000));
        pool.take(b);
        assert_eq!(pool.state(b), NodeState::Taken);
        assert_eq!(pool.taken_bytes(), 0x4000);
        assert_eq!(pool.free_bytes(), 0xc000);
        check(&pool);
    }

    #[test]
    fn release_merges_back_to_the_root_bottom_up() {
        let mut pool = UntypedPool::new();
        let root = pool.add_region(0x4000_0000, 15);
        let [lo, hi] = pool.split(root);
        let [lolo, lohi] = pool.split(lo);
        let [a, b] = pool.split(lohi);
        pool.take(b);
        check(&pool);
        assert_eq!(
            pool.release(b),
            [
                Merge {
                    parent: lohi,
                    children: [a, b]
                },
                Merge {
                    parent: lo,
                    children: [lolo, lohi]
                },
                Merge {
                    parent: root,
                    children: [lo, hi]
                },
            ]
        );
        assert_eq!(pool.state(root), NodeState::Free);
        assert_eq!(pool.free_nodes(), [(root, 15)]);
        assert_eq!(live(&pool), 1);
        check(&pool);
    }

    #[test]
    fn buddy_stays_split_while_the_other_half_is_taken() {
        let mut pool = UntypedPool::new();
        let root = pool.add_region(0, 14);
        let [lo, hi] = pool.split(root);
        pool.take(lo);
        pool.take(hi);
        assert!(pool.release(lo).is_empty());
        assert_eq!(pool.state(root), NodeState::Split);
        check(&pool);
        assert_eq!(
            pool.release(hi),
            [Merge {
                parent: root,
                children: [lo, hi]
            }]
        );
        check(&pool);
    }

    #[test]
    fn big_merges_wait_for_coalesce() {
        let mut pool = UntypedPool::with_eager_merge_bits(14);
        let root = pool.add_region(0x8000_0000, 16);
        let [a, _] = pool.split(root);
        let [b, _] = pool.split(a);
        let [c, _] = pool.split(b);
        pool.take(c);
        assert_eq!(pool.split_nodes(), 6);
        let merges = pool.release(c);
        assert_eq!(merges.len(), 1, "only the merge into 2^14 happens at once");
        assert_eq!(pool.split_nodes(), 4);
        assert_eq!(pool.free_bytes(), 1 << 16);
        assert_eq!(pool.largest_free_bits(), Some(15));
        let later = pool.coalesce();
        assert_eq!(later.len(), 2);
        assert_eq!(later[1].parent, root);
        assert_eq!(pool.split_nodes(), 0);
        assert_eq!(pool.largest_free_bits(), Some(16));
        assert!(pool.coalesce().is_empty());
    }

    #[test]
    fn merge_up_undoes_a_split_at_once() {
        let mut pool = UntypedPool::new();
        let root = pool.add_region(0x1000_0000, 20);
        let [lo, _] = pool.split(root);
        let [block, _] = pool.split(lo);
        let merges = pool.merge_up(block);
        assert_eq!(merges.len(), 2);
        assert_eq!(merges[1].parent, root);
        assert_eq!(pool.free_nodes(), [(root, 20)]);
        check(&pool);
    }

    #[test]
    fn regions_never_merge_with_each_other() {
        let mut pool = UntypedPool::new();
        let a = pool.add_region(0x1_0000, 16);
        let b = pool.add_region(0x2_0000, 16);
        let block = alloc(&mut pool, 16).unwrap();
        assert_eq!(block, a);
        assert!(pool.release(block).is_empty());
        assert_eq!(pool.free_nodes(), [(a, 16), (b, 16)]);
        check(&pool);
    }

    #[test]
    fn best_fit_prefers_the_smallest_fitting_node_then_the_lowest_paddr() {
        let mut pool = UntypedPool::new();
        let big = pool.add_region(0x1000_0000, 24);
        let mid_high = pool.add_region(0x3000_0000, 18);
        let mid_low = pool.add_region(0x2000_0000, 18);
        let small = pool.add_region(0x4000_0000, 13);
        assert_eq!(pool.best_fit(12), Some(small));
        assert_eq!(pool.best_fit(13), Some(small));
        assert_eq!(pool.best_fit(14), Some(mid_low));
        assert_eq!(pool.best_fit(18), Some(mid_low));
        assert_eq!(pool.best_fit(19), Some(big));
        assert_eq!(pool.best_fit(25), None);
        pool.take(mid_low);
        assert_eq!(pool.best_fit(14), Some(mid_high));
        let [lo, _] = pool.split(big);
        let [lolo, _] = pool.split(lo);
        assert_eq!(pool.best_fit(19), Some(lolo));
    }

    #[test]
    fn every_region_is_reachable_until_nothing_fits() {
        let mut pool = UntypedPool::new();
        let sizes = [20, 13, 16, 12, 18];
        for (i, &bits) in sizes.iter().enumerate() {
            pool.add_region(0x1000_0000 * (i as u64 + 1), bits);
        }
        let mut blocks = Vec::new();
        while let Some(block) = alloc(&mut pool, 14) {
            blocks.push(block);
            check(&pool);
        }
        // Everything but the regions smaller than a block is taken.
        assert_eq!(pool.largest_free_bits(), Some(13));
        assert_eq!(pool.free_bytes(), (1 << 13) + (1 << 12));
        while let Some(block) = alloc(&mut pool, MIN_BITS) {
            blocks.push(block);
        }
        assert_eq!(pool.taken_bytes(), pool.total_bytes());
        assert_eq!(pool.largest_free_bits(), None);
        assert!(pool.free_nodes().is_empty());
        let paddrs: HashSet<_> = blocks.iter().map(|&b| pool.paddr(b)).collect();
        assert_eq!(paddrs.len(), blocks.len());
        for block in blocks {
            pool.release(block);
            check(&pool);
        }
        assert_eq!(pool.free_bytes(), pool.total_bytes());
        assert_eq!(live(&pool), sizes.len());
    }

    #[test]
    fn largest_free_bits_follows_splits_and_takes() {
        let mut pool = UntypedPool::new();
        assert_eq!(pool.largest_free_bits(), None);
        let root = pool.add_region(0, 16);
        pool.add_region(0x10_0000, 14);
        assert_eq!(pool.largest_free_bits(), Some(16));
        let [lo, hi] = pool.split(root);
        assert_eq!(pool.largest_free_bits(), Some(15));
        pool.take(lo);
        pool.take(hi);
        assert_eq!(pool.largest_free_bits(), Some(14));
        pool.release(hi);
        assert_eq!(pool.largest_free_bits(), Some(15));
        pool.release(lo);
        assert_eq!(pool.largest_free_bits(), Some(16));
    }

    #[test]
    fn free_nodes_come_lowest_paddr_first() {
        let mut pool = UntypedPool::new();
        let high = pool.add_region(0x9000_0000, 13);
        let low = pool.add_region(0x1000_0000, 16);
        let [a, b] = pool.split(low);
        pool.take(a);
        assert_eq!(pool.free_nodes(), [(b, 15), (high, 13)]);
    }

    #[test]
    fn pages_are_the_smallest_blocks() {
        let mut pool = UntypedPool::new();
        let root = pool.add_region(0, MIN_BITS + 1);
        let [lo, hi] = pool.split(root);
        assert_eq!(pool.size_bits(lo), MIN_BITS);
        assert_eq!(pool.paddr(hi), 1 << MIN_BITS);
    }

    #[test]
    #[should_panic(expected = "splitting a 12-bit node")]
    fn splitting_a_page_panics() {
        let mut pool = UntypedPool::new();
        let page = pool.add_region(0, MIN_BITS);
        pool.split(page);
    }

    #[test]
    #[should_panic(expected = "is not free")]
    fn taking_a_taken_node_panics() {
        let mut pool = UntypedPool::new();
        let root = pool.add_region(0, 16);
        pool.take(root);
        pool.take(root);
    }

    #[test]
    fn ids_are_reused_so_the_arena_stays_bounded() {
        let mut pool = UntypedPool::new();
        let regions = [(0x8000_0000, 24), (0x4000_0000, 20), (0x1_0000_0000, 17)];
        for (paddr, bits) in regions {
            pool.add_region(paddr, bits);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut rand = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut taken = Vec::new();
        let mut peak = live(&pool);
        for _ in 0..10_000 {
            match rand(8) {
                0..=3 => {
                    let bits = MIN_BITS + rand(9) as u8;
                    if let Some(block) = alloc(&mut pool, bits) {
                        assert_eq!(pool.size_bits(block), bits);
                        assert_eq!(pool.paddr(block) % (1 << bits), 0);
                        taken.push(block);
                    }
                }
                4 => {
                    // A split the shell backs out of.
                    if let Some(node) = pool.best_fit(MIN_BITS + 1) {
                        let [lo, _] = pool.split(node);
                        let merges = pool.merge_up(lo);
                        assert_eq!(merges.first().map(|m| m.parent), Some(node));
                    }
                }
                _ if !taken.is_empty() => {
                    let block = taken.swap_remove(rand(taken.len() as u64) as usize);
                    let size = pool.size_bits(block);
                    let merges = pool.release(block);
                    let mut below = block;
                    for m in &merges {
                        assert!(m.children.contains(&below));
                        below = m.parent;
                    }
                    assert_eq!(pool.size_bits(below), size + merges.len() as u8);
                }
                _ => {}
            }
            check(&pool);
            peak = peak.max(live(&pool));
        }
        // The arena only grows to the most nodes alive at once: the peak
        // between operations, plus the two halves of a backed-out split.
        assert!(pool.nodes.len() <= peak + 2);
        for block in taken {
            pool.release(block);
            check(&pool);
        }
        assert_eq!(pool.free_bytes(), pool.total_bytes());
        assert_eq!(pool.taken_bytes(), 0);
        assert_eq!(live(&pool), regions.len());
        assert!(pool.nodes.iter().flatten().all(|n| n.parent.is_none()));
    }
}
