//! Allocation of slots in a CNode.

use alloc::vec::Vec;

/// Hands out slots of one CNode: a range never used yet, plus the slots
/// given back, which are reused first so the CNode does not run out while
/// there are free slots in it.
#[derive(Debug)]
pub struct SlotAllocator {
    next: u64,
    end: u64,
    freed: Vec<u64>,
    in_use: usize,
}

impl SlotAllocator {
    /// Manages the empty slots `[start, end)`.
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            next: start,
            end: end.max(start),
            freed: Vec::new(),
            in_use: 0,
        }
    }

    pub fn alloc(&mut self) -> Option<u64> {
        let slot = self.freed.pop().or_else(|| {
            (self.next < self.end).then(|| {
                self.next += 1;
                self.next - 1
            })
        })?;
        self.in_use += 1;
        Some(slot)
    }

    /// `count` consecutive never-used slots (for retyping several objects at
    /// once).
    pub fn alloc_range(&mut self, count: u64) -> Option<u64> {
        let start = self.next;
        (self.end - self.next >= count).then(|| {
            self.next += count;
            self.in_use += count as usize;
            start
        })
    }

    /// Gives `slot` back. The caller must have emptied it.
    pub fn free(&mut self, slot: u64) {
        debug_assert!(
            slot < self.next && !self.freed.contains(&slot),
            "slot {slot} freed twice"
        );
        self.freed.push(slot);
        self.in_use -= 1;
    }

    /// Slots handed out and not given back.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Slots that can still be handed out.
    pub fn available(&self) -> usize {
        (self.end - self.next) as usize + self.freed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_each_slot_once_then_runs_out() {
        let mut a = SlotAllocator::new(100, 103);
        assert_eq!(
            [a.alloc(), a.alloc(), a.alloc()],
            [Some(100), Some(101), Some(102)]
        );
        assert_eq!(a.alloc(), None);
        assert_eq!(a.in_use(), 3);
    }

    #[test]
    fn freed_slots_are_reused_before_fresh_ones() {
        let mut a = SlotAllocator::new(10, 20);
        let s = a.alloc().unwrap();
        a.alloc().unwrap();
        a.free(s);
        assert_eq!(a.alloc(), Some(s));
        assert_eq!(a.available(), 8);
    }

    #[test]
    fn ranges_come_from_fresh_slots_only() {
        let mut a = SlotAllocator::new(0, 8);
        assert_eq!(a.alloc_range(5), Some(0));
        assert_eq!(a.alloc_range(4), None);
        assert_eq!(a.alloc_range(3), Some(5));
        assert_eq!(a.in_use(), 8);
    }

    #[test]
    fn inverted_range_is_empty() {
        let mut a = SlotAllocator::new(9, 3);
        assert_eq!(a.alloc(), None);
        assert_eq!(a.available(), 0);
    }
}
