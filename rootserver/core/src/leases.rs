//! Bulk data: memory a client lends the server of one call, and how
//! taskman finds the pages behind it.
//!
//! A message larger than the IPC buffer travels as its first part in the
//! buffer and the whole of it in the client's own memory: before the
//! call the client *leases* its send and receive buffers (regions of its
//! address space) to the channel's server, and ends the lease when the
//! call returns. While the lease lasts, the server may ask taskman to
//! copy from the send regions (`MsgRead`) or into the receive regions
//! (`MsgWrite`), at offsets into the message; taskman copies between the
//! two processes' frames itself, so no page of the client is ever mapped
//! into the server, and no lease outlives its call.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EFAULT, EINVAL, ESRCH};
use qsoe_abi::Pid;

/// The bytes of a page, and the top of user address space (Sv39's lower
/// half): no region may reach past it.
pub const PAGE_SIZE: u64 = 4096;
pub const USER_TOP: u64 = 1 << 38;

/// Leases one process may hold at once: one per thread is enough.
pub const LEASES: usize = 32;
const LEASE_INDEX_BITS: u32 = 5;
const LEASE_GENERATION_MASK: u8 = (1 << (8 - LEASE_INDEX_BITS)) - 1;

/// A run of a process's address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub addr: u64,
    pub len: u64,
}

impl Region {
    /// Whether the region lies in user address space.
    pub fn valid(self) -> bool {
        self.addr
            .checked_add(self.len)
            .is_some_and(|end| end <= USER_TOP)
    }
}

/// Memory lent for one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The process whose channel the call goes to, and the connection.
    pub server: Pid,
    pub scoid: i32,
    /// The message, gathered from these regions in order.
    pub send: Vec<Region>,
    /// The reply, scattered to these.
    pub recv: Vec<Region>,
}

fn total(regions: &[Region]) -> u64 {
    regions.iter().map(|r| r.len).sum()
}

impl Lease {
    pub fn send_bytes(&self) -> u64 {
        total(&self.send)
    }

    pub fn recv_bytes(&self) -> u64 {
        total(&self.recv)
    }
}

/// The parts of `regions` that hold bytes `offset..offset + len` of what
/// they gather, in order; shorter at the end of the regions.
pub fn span(regions: &[Region], offset: u64, len: u64) -> Vec<Region> {
    let mut out = Vec::new();
    let (mut skip, mut want) = (offset, len);
    for r in regions {
        if want == 0 {
            break;
        }
        if skip >= r.len {
            skip -= r.len;
            continue;
        }
        let n = (r.len - skip).min(want);
        if n > 0 {
            out.push(Region {
                addr: r.addr + skip,
                len: n,
            });
        }
        want -= n;
        skip = 0;
    }
    out
}

/// Splits `regions` at page boundaries: each piece lies in one page.
pub fn pages(regions: &[Region]) -> impl Iterator<Item = Region> + '_ {
    regions.iter().flat_map(|r| {
        let mut at = r.addr;
        let end = r.addr + r.len;
        core::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let page_end = (at & !(PAGE_SIZE - 1)) + PAGE_SIZE;
            let piece = Region {
                addr: at,
                len: page_end.min(end) - at,
            };
            at += piece.len;
            Some(piece)
        })
    })
}

/// A process's leases, by a small id with a generation.
#[derive(Debug, Default)]
pub struct LeaseTable {
    slots: [Option<Lease>; LEASES],
    generations: [u8; LEASES],
}

impl LeaseTable {
    /// Records `lease`; answers its id (`EAGAIN` when all are in use,
    /// `EFAULT` for a region outside user space).
    pub fn lend(&mut self, lease: Lease) -> Result<u8, Errno> {
        if !lease.send.iter().chain(&lease.recv).all(|r| r.valid()) {
            return Err(EFAULT);
        }
        let i = self.slots.iter().position(Option::is_none).ok_or(EAGAIN)?;
        self.slots[i] = Some(lease);
        Ok((self.generations[i] & LEASE_GENERATION_MASK) << LEASE_INDEX_BITS | i as u8)
    }

    fn index(&self, id: u8) -> Option<usize> {
        let i = (id & ((1 << LEASE_INDEX_BITS) - 1)) as usize;
        let generation = id >> LEASE_INDEX_BITS;
        (self.slots[i].is_some() && self.generations[i] & LEASE_GENERATION_MASK == generation)
            .then_some(i)
    }

    /// Ends lease `id`.
    pub fn end(&mut self, id: u8) -> Result<(), Errno> {
        let i = self.index(id).ok_or(EINVAL)?;
        self.slots[i] = None;
        self.generations[i] = self.generations[i].wrapping_add(1);
        Ok(())
    }

    /// Lease `id`, if it is live.
    pub fn get(&self, id: u8) -> Option<&Lease> {
        self.slots[self.index(id)?].as_ref()
    }

    /// Lease `id`, if it is live and lent to `server` on connection
    /// `scoid`: nobody else may use it.
    pub fn lent_to(&self, id: u8, server: Pid, scoid: i32) -> Result<&Lease, Errno> {
        self.get(id)
            .filter(|l| l.server == server && l.scoid == scoid)
            .ok_or(ESRCH)
    }

    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What backs one page of a process, for taskman to copy through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// A frame of the process (taskman's CPtr), writable by the process or
    /// not.
    Frame { cap: u64, writable: bool },
    /// A read-only page of a program file: the page of the archive in
    /// taskman's own image at this address.
    Image { addr: u64 },
}

/// Every page of a process that has a frame, by page address.
#[derive(Debug, Default)]
pub struct UserMemory {
    pages: BTreeMap<u64, Backing>,
}

impl UserMemory {
    pub fn insert(&mut self, vaddr: u64, backing: Backing) {
        self.pages.insert(vaddr & !(PAGE_SIZE - 1), backing);
    }

    pub fn remove(&mut self, vaddr: u64) {
        self.pages.remove(&(vaddr & !(PAGE_SIZE - 1)));
    }

    /// What backs the page holding `vaddr`.
    pub fn backing(&self, vaddr: u64) -> Option<Backing> {
        self.pages.get(&(vaddr & !(PAGE_SIZE - 1))).copied()
    }

    /// Checks that every byte of `regions` has a page, writable by the
    /// process if `write`; `EFAULT` otherwise.
    pub fn check(&self, regions: &[Region], write: bool) -> Result<(), Errno> {
        for piece in pages(regions) {
            match self.backing(piece.addr) {
                Some(Backing::Frame { writable, .. }) if writable || !write => {}
                Some(Backing::Image { .. }) if !write => {}
                _ => return Err(EFAULT),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(addr: u64, len: u64) -> Region {
        Region { addr, len }
    }

    #[test]
    fn spans_cross_regions_and_stop_at_their_end() {
        let regions = [r(0x1000, 16), r(0x8000, 100)];
        assert_eq!(span(&regions, 0, 8), [r(0x1000, 8)]);
        assert_eq!(span(&regions, 10, 20), [r(0x100a, 6), r(0x8000, 14)]);
        assert_eq!(span(&regions, 16, 1000), [r(0x8000, 100)]);
        assert!(span(&regions, 116, 5).is_empty());
        assert!(span(&regions, 0, 0).is_empty());
    }

    #[test]
    fn pieces_lie_in_one_page() {
        let p: Vec<Region> = pages(&[r(0x1ff0, 0x20), r(0x5000, 0x1000)]).collect();
        assert_eq!(p, [r(0x1ff0, 0x10), r(0x2000, 0x10), r(0x5000, 0x1000)]);
    }

    #[test]
    fn leases_belong_to_their_server_and_end_once() {
        let mut t = LeaseTable::default();
        let lease = Lease {
            server: 7,
            scoid: 3,
            send: alloc::vec![r(0x1000, 10)],
            recv: alloc::vec![],
        };
        let id = t.lend(lease.clone()).unwrap();
        assert_eq!(t.lent_to(id, 7, 3).map(|l| l.send_bytes()), Ok(10));
        assert_eq!(t.lent_to(id, 8, 3), Err(ESRCH), "another server");
        assert_eq!(t.lent_to(id, 7, 4), Err(ESRCH), "another connection");
        assert_eq!(t.end(id), Ok(()));
        assert_eq!(t.lent_to(id, 7, 3), Err(ESRCH));
        assert_eq!(t.end(id), Err(EINVAL));
        let again = t.lend(lease.clone()).unwrap();
        assert_ne!(again, id, "a new generation");
        for _ in 1..LEASES {
            t.lend(lease.clone()).unwrap();
        }
        assert_eq!(t.lend(lease.clone()), Err(EAGAIN));
        let outside = Lease {
            send: alloc::vec![r(USER_TOP - 4, 8)],
            ..lease
        };
        assert_eq!(LeaseTable::default().lend(outside), Err(EFAULT));
        let wraps = Lease {
            server: 1,
            scoid: 1,
            send: alloc::vec![],
            recv: alloc::vec![r(u64::MAX, 2)],
        };
        assert_eq!(LeaseTable::default().lend(wraps), Err(EFAULT));
    }

    #[test]
    fn memory_checks_every_page_and_write_access() {
        let mut m = UserMemory::default();
        m.insert(0x1000, Backing::Image { addr: 0x9000 });
        m.insert(
            0x2000,
            Backing::Frame {
                cap: 5,
                writable: true,
            },
        );
        assert_eq!(m.check(&[r(0x1800, 0x1000)], false), Ok(()));
        assert_eq!(m.check(&[r(0x1800, 0x1000)], true), Err(EFAULT));
        assert_eq!(m.check(&[r(0x2000, 0x1001)], false), Err(EFAULT));
        assert_eq!(m.check(&[r(0x2000, 0x1000)], true), Ok(()));
        m.remove(0x2abc);
        assert_eq!(m.backing(0x2000), None);
    }
}
