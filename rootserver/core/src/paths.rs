//! The pathname space: which server answers for which path, as QNX's
//! process manager keeps it.
//!
//! A server registers a prefix with its channel and a handle of its own
//! choosing; `resolve` answers every registration that covers a path,
//! longest prefix first, so that a client can try them in turn (a union:
//! a server that answers `ENOENT` lets the next one try). At one prefix,
//! `_RESMGR_FLAG_BEFORE` registrations come first, then the others
//! newest first, then `_RESMGR_FLAG_AFTER` ones. A registration without
//! `_RESMGR_FLAG_DIR` is a single name and covers only its own path; a
//! directory registration covers everything under it too.
//!
//! Registrations go when their server detaches them, destroys their
//! channel, or ends. Plain data: the shell checks grants and channels.

use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, ENOENT};
use qsoe_abi::iomsg::resmgr_flag;
use qsoe_abi::Pid;

/// One registered prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Normalised: absolute, no trailing `/` (but `/` itself).
    pub prefix: Vec<u8>,
    pub pid: Pid,
    pub chid: i32,
    /// The server's own word for this registration, sent back to it in
    /// every `_IO_CONNECT` that resolved through it.
    pub handle: u32,
    pub flags: u32,
    /// When it was attached, for "newest first".
    order: u64,
}

/// A registration that covers a path, and the part of the path left for
/// its server (no leading `/`; empty for the prefix itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub pid: Pid,
    pub chid: i32,
    pub handle: u32,
    pub flags: u32,
    /// Bytes of the (normalised) path the prefix covers.
    pub prefix_len: usize,
}

/// Handles of registrations carry a generation, as chids do.
const ID_INDEX_BITS: u32 = 16;

/// Every registration in the system.
#[derive(Default)]
pub struct PathTable {
    entries: Vec<Option<Registration>>,
    generations: Vec<u32>,
    next_order: u64,
}

pub use qsoe_abi::path::{covers, normalise, remainder};

impl PathTable {
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registrations of `pid`.
    pub fn count_of(&self, pid: Pid) -> usize {
        self.entries
            .iter()
            .flatten()
            .filter(|r| r.pid == pid)
            .count()
    }

    /// Decides an attach, changing nothing: the path, the table's room
    /// and the process's quota. Answers the normalised prefix.
    pub fn decode_attach<'p>(
        &self,
        pid: Pid,
        path: &'p [u8],
        quota: usize,
        table: usize,
    ) -> Result<&'p [u8], Errno> {
        let prefix = normalise(path)?;
        if self.count_of(pid) >= quota || (self.free_index().is_none() && self.len() >= table) {
            return Err(EAGAIN);
        }
        Ok(prefix)
    }

    fn free_index(&self) -> Option<usize> {
        self.entries.iter().position(Option::is_none)
    }

    /// Registers `prefix` (as `decode_attach` answered it); answers its id.
    pub fn attach(&mut self, prefix: &[u8], pid: Pid, chid: i32, handle: u32, flags: u32) -> i32 {
        let index = self.free_index().unwrap_or_else(|| {
            self.entries.push(None);
            self.generations.push(0);
            self.entries.len() - 1
        });
        self.next_order += 1;
        self.entries[index] = Some(Registration {
            prefix: prefix.to_vec(),
            pid,
            chid,
            handle,
            flags,
            order: self.next_order,
        });
        let generation = self.generations[index] & ((1 << (31 - ID_INDEX_BITS)) - 1);
        (generation << ID_INDEX_BITS | index as u32) as i32
    }

    fn index_of(&self, id: i32) -> Option<usize> {
        if id < 0 {
            return None;
        }
        let index = (id as u32 & ((1 << ID_INDEX_BITS) - 1)) as usize;
        let generation = id as u32 >> ID_INDEX_BITS;
        let mask = (1 << (31 - ID_INDEX_BITS)) - 1;
        let live =
            self.entries.get(index)?.is_some() && self.generations[index] & mask == generation;
        live.then_some(index)
    }

    /// The registration `id` names, if it is live.
    pub fn get(&self, id: i32) -> Option<&Registration> {
        self.entries[self.index_of(id)?].as_ref()
    }

    fn remove_at(&mut self, index: usize) {
        self.entries[index] = None;
        self.generations[index] = self.generations[index].wrapping_add(1);
    }

    /// Removes registration `id` of `pid`; `ENOENT` for anything else.
    pub fn detach(&mut self, pid: Pid, id: i32) -> Result<(), Errno> {
        let index = self.index_of(id).ok_or(ENOENT)?;
        if self.entries[index].as_ref().is_none_or(|r| r.pid != pid) {
            return Err(ENOENT);
        }
        self.remove_at(index);
        Ok(())
    }

    /// Removes every registration matching `gone`.
    fn remove_where(&mut self, gone: impl Fn(&Registration) -> bool) {
        for i in 0..self.entries.len() {
            if self.entries[i].as_ref().is_some_and(&gone) {
                self.remove_at(i);
            }
        }
    }

    /// The process has ended: its registrations go.
    pub fn remove_process(&mut self, pid: Pid) {
        self.remove_where(|r| r.pid == pid);
    }

    /// Channel `chid` of `pid` has been destroyed: registrations through
    /// it go.
    pub fn remove_channel(&mut self, pid: Pid, chid: i32) {
        self.remove_where(|r| r.pid == pid && r.chid == chid);
    }

    /// Every registration covering `path` (normalised), in the order a
    /// client should try them.
    pub fn resolve(&self, path: &[u8]) -> Vec<Resolved> {
        let mut found: Vec<&Registration> = self
            .entries
            .iter()
            .flatten()
            .filter(|r| {
                let dir = r.flags & resmgr_flag::DIR != 0;
                if dir {
                    covers(&r.prefix, path)
                } else {
                    r.prefix == path
                }
            })
            .collect();
        let placement = |r: &Registration| {
            if r.flags & resmgr_flag::BEFORE != 0 {
                0
            } else if r.flags & resmgr_flag::AFTER != 0 {
                2
            } else {
                1
            }
        };
        found.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then(placement(a).cmp(&placement(b)))
                .then(b.order.cmp(&a.order))
        });
        found
            .into_iter()
            .map(|r| Resolved {
                pid: r.pid,
                chid: r.chid,
                handle: r.handle,
                flags: r.flags,
                prefix_len: if r.prefix == b"/" { 0 } else { r.prefix.len() },
            })
            .collect()
    }
}

/// Whether a process holding the prefixes `granted` may attach `prefix`
/// (both normalised): it must lie under one of them.
pub fn may_attach<'g>(mut granted: impl Iterator<Item = &'g [u8]>, prefix: &[u8]) -> bool {
    granted.any(|g| covers(g, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resmgr_flag::{AFTER, BEFORE, DIR};

    fn table(regs: &[(&[u8], Pid, u32)]) -> PathTable {
        let mut t = PathTable::default();
        for &(p, pid, flags) in regs {
            let prefix = t.decode_attach(pid, p, 64, 4096).unwrap().to_vec();
            t.attach(&prefix, pid, 100 + pid, pid as u32, flags);
        }
        t
    }

    fn pids(t: &PathTable, path: &[u8]) -> Vec<Pid> {
        t.resolve(path).iter().map(|r| r.pid).collect()
    }

    #[test]
    fn longest_prefix_first() {
        let t = table(&[(b"/", 1, DIR), (b"/dev", 2, DIR), (b"/dev/ser1", 3, 0)]);
        assert_eq!(pids(&t, b"/dev/ser1"), [3, 2, 1]);
        assert_eq!(pids(&t, b"/dev/ser2"), [2, 1]);
        assert_eq!(pids(&t, b"/device"), [1]);
        // A single name covers nothing under it.
        assert_eq!(pids(&t, b"/dev/ser1/x"), [2, 1]);
        let r = t.resolve(b"/dev/ser2");
        assert_eq!(remainder(b"/dev/ser2", r[0].prefix_len), b"ser2");
        assert_eq!(remainder(b"/dev/ser2", r[1].prefix_len), b"dev/ser2");
        assert_eq!(remainder(b"/dev", t.resolve(b"/dev")[0].prefix_len), b"");
    }

    #[test]
    fn one_prefix_is_a_union_in_placement_order() {
        let t = table(&[
            (b"/u", 1, DIR | AFTER),
            (b"/u", 2, DIR),
            (b"/u", 3, DIR | BEFORE),
            (b"/u", 4, DIR),
        ]);
        assert_eq!(pids(&t, b"/u/f"), [3, 4, 2, 1]);
    }

    #[test]
    fn registrations_go_with_detach_channel_and_process() {
        let mut t = table(&[(b"/a", 1, DIR), (b"/b", 2, DIR)]);
        let id = t.attach(b"/c", 1, 7, 0, 0);
        assert_eq!(t.detach(2, id), Err(ENOENT), "only its owner detaches it");
        assert_eq!(t.detach(1, id), Ok(()));
        assert_eq!(t.detach(1, id), Err(ENOENT), "a stale id");
        let again = t.attach(b"/c", 1, 7, 0, 0);
        assert_ne!(again, id, "the reused entry has a new generation");
        t.remove_channel(2, 7);
        assert_eq!(t.resolve(b"/c").len(), 1, "another process's channel 7");
        t.remove_channel(1, 7);
        assert!(t.resolve(b"/c").is_empty());
        t.remove_process(1);
        assert!(t.resolve(b"/a").is_empty());
        assert_eq!(pids(&t, b"/b/x"), [2]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn quota_and_table_room() {
        let mut t = PathTable::default();
        for _ in 0..3 {
            let p = t.decode_attach(1, b"/x", 3, 4).unwrap().to_vec();
            t.attach(&p, 1, 1, 0, 0);
        }
        assert_eq!(t.decode_attach(1, b"/x", 3, 4), Err(EAGAIN));
        let p = t.decode_attach(2, b"/y", 3, 4).unwrap().to_vec();
        t.attach(&p, 2, 2, 0, 0);
        assert_eq!(t.decode_attach(3, b"/z", 3, 4), Err(EAGAIN), "table full");
    }

    #[test]
    fn grants_cover_what_lies_under_them() {
        let granted: [&[u8]; 2] = [b"/dev/name/local", b"/test"];
        assert!(may_attach(granted.into_iter(), b"/test"));
        assert!(may_attach(granted.into_iter(), b"/test/a/b"));
        assert!(may_attach(granted.into_iter(), b"/dev/name/local/srv"));
        assert!(!may_attach(granted.into_iter(), b"/testing"));
        assert!(!may_attach(granted.into_iter(), b"/dev"));
        assert!(may_attach([&b"/"[..]].into_iter(), b"/anything"));
    }
}
