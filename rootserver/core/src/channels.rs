//! Taskman's registries for QNX IPC: every channel in the system, and each
//! process's connections. Plain data; the shell turns entries into caps.
//!
//! Handles carry the generation of their entry, so a handle kept past
//! `remove` fails instead of naming whatever reuses the entry.

use alloc::vec::Vec;
use qsoe_abi::ipc::{Chid, Coid, Pulse, MAX_REGULAR, MAX_SIDE};
use qsoe_abi::Pid;

use crate::limits::PULSE_QUEUE;

/// A fixed ring of pulses.
#[derive(Clone, Debug, Default)]
pub struct PulseQueue {
    slots: [Pulse; PULSE_QUEUE],
    head: usize,
    len: usize,
}

impl PulseQueue {
    /// Queues `p`; gives it back when the queue is full.
    pub fn push(&mut self, p: Pulse) -> Result<(), Pulse> {
        if self.len == PULSE_QUEUE {
            return Err(p);
        }
        self.slots[(self.head + self.len) % PULSE_QUEUE] = p;
        self.len += 1;
        Ok(())
    }

    pub fn pop(&mut self) -> Option<Pulse> {
        if self.len == 0 {
            return None;
        }
        let p = self.slots[self.head];
        self.head = (self.head + 1) % PULSE_QUEUE;
        self.len -= 1;
        Some(p)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Clients of a channel that died, which its owner's runtime must hear of
/// (it may hold them unreplied: `MsgReply` then answers `ESRCH`, and an
/// `_NTO_CHF_UNBLOCK` channel gets `_PULSE_CODE_UNBLOCK`). Kept apart
/// from the pulse queue so that they never take a program's room.
#[derive(Clone, Debug, Default)]
pub struct GoneClients {
    pids: [Pid; PULSE_QUEUE],
    len: usize,
}

impl GoneClients {
    /// Notes `pid` once; false when full, and the notice is lost.
    pub fn note(&mut self, pid: Pid) -> bool {
        if self.pids[..self.len].contains(&pid) {
            return true;
        }
        if self.len == PULSE_QUEUE {
            return false;
        }
        self.pids[self.len] = pid;
        self.len += 1;
        true
    }

    /// The oldest notice.
    pub fn pop(&mut self) -> Option<Pid> {
        if self.len == 0 {
            return None;
        }
        let pid = self.pids[0];
        self.pids.copy_within(1..self.len, 0);
        self.len -= 1;
        Some(pid)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One channel: who owns it, which of the owner's channel cells holds its
/// objects, and its pulses.
#[derive(Clone, Debug)]
pub struct Channel {
    pub owner: Pid,
    pub cell: u8,
    pub flags: u32,
    pub pulses: PulseQueue,
    pub gone: GoneClients,
}

impl Channel {
    /// What `PulseTake` hands the owner next: a gone client's notice
    /// (`pulse_code::CLIENT_GONE`, value the pid) before any pulse.
    pub fn take(&mut self) -> Option<Pulse> {
        match self.gone.pop() {
            Some(pid) => Some(Pulse {
                code: qsoe_abi::ipc::pulse_code::CLIENT_GONE,
                value: pid as u32 as u64,
                scoid: 0,
            }),
            None => self.pulses.pop(),
        }
    }

    /// Whether anything waits for `take`.
    pub fn has_pending(&self) -> bool {
        !self.gone.is_empty() || !self.pulses.is_empty()
    }

    /// Whether its receiving threads keep their own scheduling contexts
    /// (they do not serve passively).
    pub fn fixed_priority(&self) -> bool {
        self.flags & qsoe_abi::ipc::chf::FIXED_PRIORITY != 0
    }

    /// Whether its owner asked (`_NTO_CHF_COID_DISCONNECT`) to hear of
    /// every connection of its own whose server went away.
    pub fn hears_coid_death(&self) -> bool {
        self.flags & qsoe_abi::ipc::chf::COID_DISCONNECT != 0
    }
}

/// Which threads of a process receive on each of its channel cells, so
/// that a pulse on a channel rings every thread that may be waiting for
/// it (bit `tid`). Kept by cell, not by channel: a thread's runtime
/// remembers the cells it has told taskman of, and a cell's next channel
/// keeps them (a stale one only wakes a thread that finds nothing).
#[derive(Clone, Debug, Default)]
pub struct Receivers {
    cells: Vec<u32>,
}

/// Tids a receiver set can hold: a process's first thread (1) and those
/// after it.
pub const MAX_RECEIVER_TID: i32 = 1 + qsoe_abi::layout::MAX_THREADS as i32;

impl Receivers {
    /// Makes room for `cell`'s set (empty), so that `add` to it cannot
    /// fail for memory; false when the memory cannot be had.
    pub fn make_room(&mut self, cell: usize) -> bool {
        if self.cells.len() <= cell {
            if self.cells.try_reserve(cell + 1 - self.cells.len()).is_err() {
                return false;
            }
            self.cells.resize(cell + 1, 0);
        }
        true
    }

    /// Thread `tid` receives on `cell` from now on; false for a tid no
    /// thread can have, or when the memory cannot be had.
    pub fn add(&mut self, cell: usize, tid: i32) -> bool {
        if !(1..=MAX_RECEIVER_TID).contains(&tid) || !self.make_room(cell) {
            return false;
        }
        self.cells[cell] |= 1 << tid;
        true
    }

    /// Whether thread `tid` receives on any cell.
    pub fn has_thread(&self, tid: i32) -> bool {
        (1..=MAX_RECEIVER_TID).contains(&tid) && self.cells.iter().any(|c| c & 1 << tid != 0)
    }

    /// Thread `tid` is gone.
    pub fn remove_thread(&mut self, tid: i32) {
        if (1..=MAX_RECEIVER_TID).contains(&tid) {
            for c in self.cells.iter_mut() {
                *c &= !(1 << tid);
            }
        }
    }

    /// The tids receiving on `cell`.
    pub fn of(&self, cell: usize) -> impl Iterator<Item = i32> {
        let set = self.cells.get(cell).copied().unwrap_or(0);
        (1..=MAX_RECEIVER_TID).filter(move |&t| set & 1 << t != 0)
    }
}

struct Entry<T> {
    generation: u32,
    value: Option<T>,
}

/// Entries reused lowest index first, with a generation per entry.
struct Table<T> {
    entries: Vec<Entry<T>>,
    capacity: usize,
}

impl<T> Table<T> {
    fn new(capacity: usize) -> Self {
        Table {
            entries: Vec::new(),
            capacity,
        }
    }

    /// The index `insert_from(first, ..)` would take, with the memory for
    /// it reserved; `None` if the table is full or the memory cannot be had
    /// (out of memory is a full table, not a crash).
    fn reserve_from(&mut self, first: usize) -> Option<usize> {
        let index = (first..self.capacity)
            .find(|&i| self.entries.get(i).is_none_or(|e| e.value.is_none()))?;
        let more = (index + 1).saturating_sub(self.entries.len());
        self.entries.try_reserve(more).ok()?;
        Some(index)
    }

    fn insert_from(&mut self, first: usize, value: T) -> Option<(usize, u32)> {
        let index = self.reserve_from(first)?;
        while self.entries.len() <= index {
            self.entries.push(Entry {
                generation: 0,
                value: None,
            });
        }
        let e = &mut self.entries[index];
        e.value = Some(value);
        Some((index, e.generation))
    }

    /// Puts `value` at `index`, which must be free, in `generation`; the
    /// memory is reserved first, so `None` changes nothing.
    fn insert_at(&mut self, index: usize, generation: u32, value: T) -> Option<()> {
        if index >= self.capacity || self.entries.get(index).is_some_and(|e| e.value.is_some()) {
            return None;
        }
        let more = (index + 1).saturating_sub(self.entries.len());
        self.entries.try_reserve(more).ok()?;
        while self.entries.len() <= index {
            self.entries.push(Entry {
                generation: 0,
                value: None,
            });
        }
        self.entries[index] = Entry {
            generation,
            value: Some(value),
        };
        Some(())
    }

    fn get(&self, index: usize, generation: u32) -> Option<&T> {
        let e = self.entries.get(index)?;
        (e.generation == generation).then_some(e.value.as_ref()?)
    }

    fn get_mut(&mut self, index: usize, generation: u32) -> Option<&mut T> {
        let e = self.entries.get_mut(index)?;
        if e.generation != generation {
            return None;
        }
        e.value.as_mut()
    }

    fn remove(&mut self, index: usize, generation: u32, generation_mask: u32) -> Option<T> {
        let e = self.entries.get_mut(index)?;
        if e.generation != generation {
            return None;
        }
        let v = e.value.take()?;
        e.generation = (e.generation + 1) & generation_mask;
        Some(v)
    }

    fn iter(&self) -> impl Iterator<Item = (usize, u32, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, e.generation, e.value.as_ref()?)))
    }

    fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.value.is_some()).count()
    }
}

/// Every channel in the system, by chid.
pub struct ChannelTable {
    table: Table<Channel>,
}

/// Chids have 15 bits of generation.
const CHID_GENERATIONS: u32 = (1 << 15) - 1;

impl ChannelTable {
    /// Chid 1 is taskman's own (the side channel), so entries start at 2.
    const FIRST: usize = 2;

    pub fn new(capacity: usize) -> Self {
        ChannelTable {
            table: Table::new(capacity.min(1 << 16)),
        }
    }

    /// Whether an `insert` would succeed now (it makes the room for it):
    /// decode asks this before any kernel object of the channel is made.
    pub fn has_room(&mut self) -> bool {
        self.table.reserve_from(Self::FIRST).is_some()
    }

    pub fn insert(&mut self, channel: Channel) -> Option<i32> {
        let (index, generation) = self.table.insert_from(Self::FIRST, channel)?;
        Some(
            Chid {
                index: index as u16,
                generation,
            }
            .encode(),
        )
    }

    pub fn get(&self, chid: i32) -> Option<&Channel> {
        let c = Chid::decode(chid)?;
        self.table.get(c.index as usize, c.generation)
    }

    pub fn get_mut(&mut self, chid: i32) -> Option<&mut Channel> {
        let c = Chid::decode(chid)?;
        self.table.get_mut(c.index as usize, c.generation)
    }

    pub fn remove(&mut self, chid: i32) -> Option<Channel> {
        let c = Chid::decode(chid)?;
        self.table
            .remove(c.index as usize, c.generation, CHID_GENERATIONS)
    }

    /// The chids `owner` owns.
    pub fn owned_by(&self, owner: Pid) -> Vec<i32> {
        self.table
            .iter()
            .filter(|(_, _, c)| c.owner == owner)
            .map(|(index, generation, _)| {
                Chid {
                    index: index as u16,
                    generation,
                }
                .encode()
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a connection leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Taskman's side channel.
    Taskman,
    /// Taskman's own resource manager (the console, and the files taskman
    /// serves in the pathname space).
    Files,
    /// A channel, by chid.
    Channel(i32),
}

/// One process's connections, by coid: regular ones (file descriptors
/// included) and side-channel ones, each with its own index space.
pub struct ConnectionTable {
    regular: Table<Target>,
    side: Table<Target>,
}

/// Coids have 20 bits of generation.
const COID_GENERATIONS: u32 = (1 << 20) - 1;

impl Default for ConnectionTable {
    fn default() -> Self {
        ConnectionTable {
            regular: Table::new(MAX_REGULAR),
            side: Table::new(MAX_SIDE),
        }
    }
}

impl ConnectionTable {
    fn table(&mut self, side: bool) -> &mut Table<Target> {
        if side {
            &mut self.side
        } else {
            &mut self.regular
        }
    }

    /// Adds a connection at the lowest free index from `first`; answers its
    /// coid.
    pub fn attach(&mut self, first: usize, target: Target, side: bool) -> Option<Coid> {
        let (index, generation) = self.table(side).insert_from(first, target)?;
        Some(Coid {
            index: index as u16,
            generation,
            side,
        })
    }

    /// Adds a connection as exactly `coid` (its index free): `dup2`'s
    /// chosen fd. The process asks for the generation too, so an index may
    /// come back in an older generation than the one it was freed in; a
    /// coid closed since stays dead only if the index is in use.
    pub fn attach_exact(&mut self, coid: Coid, target: Target) -> Option<Coid> {
        self.table(coid.side)
            .insert_at(coid.index as usize, coid.generation, target)?;
        Some(coid)
    }

    /// Whether `coid`'s index holds a connection, in any generation.
    pub fn index_in_use(&self, coid: Coid) -> bool {
        let table = if coid.side { &self.side } else { &self.regular };
        table
            .entries
            .get(coid.index as usize)
            .is_some_and(|e| e.value.is_some())
    }

    /// The live connection `coid` names, if it does.
    pub fn get(&self, coid: i32) -> Option<(Coid, Target)> {
        let c = Coid::decode(coid)?;
        let table = if c.side { &self.side } else { &self.regular };
        let &target = table.get(c.index as usize, c.generation)?;
        Some((c, target))
    }

    pub fn detach(&mut self, coid: i32) -> Option<(Coid, Target)> {
        let (c, target) = self.get(coid)?;
        self.table(c.side)
            .remove(c.index as usize, c.generation, COID_GENERATIONS)?;
        Some((c, target))
    }

    /// The coids of the live connections to `target`.
    pub fn coids_to(&self, target: Target) -> impl Iterator<Item = i32> + '_ {
        self.iter()
            .filter(move |&(_, t)| t == target)
            .map(|(c, _)| c.encode())
    }

    /// Every live connection.
    pub fn iter(&self) -> impl Iterator<Item = (Coid, Target)> + '_ {
        let tagged = |side: bool| {
            move |(index, generation, &target): (usize, u32, &Target)| {
                (
                    Coid {
                        index: index as u16,
                        generation,
                        side,
                    },
                    target,
                )
            }
        };
        let regular = self.regular.iter().map(tagged(false));
        regular.chain(self.side.iter().map(tagged(true)))
    }

    pub fn len(&self) -> usize {
        self.regular.len() + self.side.len()
    }

    /// Whether one more connection fits under a quota of `quota` regular
    /// ones; side-channel connections have their own range and no quota.
    pub fn room_for(&self, side: bool, quota: u64) -> bool {
        side || (self.regular.len() as u64) < quota
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(owner: Pid) -> Channel {
        Channel {
            owner,
            cell: 0,
            flags: 0,
            pulses: PulseQueue::default(),
            gone: GoneClients::default(),
        }
    }

    #[test]
    fn receivers_are_kept_by_cell_and_forget_ended_threads() {
        let mut r = Receivers::default();
        assert!(r.add(3, 1));
        assert!(r.add(3, 17));
        assert!(r.add(0, 2));
        assert!(!r.add(1, 0));
        assert!(!r.add(1, 18));
        assert_eq!(r.of(3).collect::<Vec<_>>(), [1, 17]);
        assert_eq!(r.of(9).count(), 0);
        assert!(r.has_thread(17) && !r.has_thread(5) && !r.has_thread(99));
        r.remove_thread(17);
        assert!(!r.has_thread(17));
        assert_eq!(r.of(3).collect::<Vec<_>>(), [1]);
        assert_eq!(r.of(0).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn a_destroyed_chid_stays_dead_when_its_entry_is_reused() {
        let mut t = ChannelTable::new(8);
        let a = t.insert(channel(5)).unwrap();
        assert!(t.get(a).is_some());
        assert!(t.remove(a).is_some());
        let b = t.insert(channel(6)).unwrap();
        assert_ne!(a, b);
        assert!(t.get(a).is_none());
        assert!(t.remove(a).is_none());
        assert_eq!(t.get(b).unwrap().owner, 6);
    }

    #[test]
    fn channel_table_fills_up_and_rejects_junk() {
        let mut t = ChannelTable::new(4);
        let ids: Vec<_> = (0..2)
            .map(|i| {
                assert!(t.has_room());
                t.insert(channel(i)).unwrap()
            })
            .collect();
        assert!(!t.has_room());
        assert!(t.insert(channel(9)).is_none());
        assert_eq!(t.owned_by(1), [ids[1]]);
        for junk in [-1, 0, 1, i32::MAX, ids[0] + 0x10000] {
            assert!(t.get(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn coid_death_goes_to_connections_of_the_dead_channel_only() {
        let mut t = ConnectionTable::default();
        let a = t.attach(0, Target::Channel(7), false).unwrap().encode();
        t.attach(0, Target::Channel(8), false).unwrap();
        let b = t.attach(0, Target::Channel(7), true).unwrap().encode();
        let to_7: Vec<i32> = t.coids_to(Target::Channel(7)).collect();
        assert_eq!(to_7, [a, b]);
        t.detach(a);
        assert_eq!(t.coids_to(Target::Channel(7)).collect::<Vec<_>>(), [b]);
        let mut c = channel(1);
        assert!(!c.hears_coid_death());
        c.flags = qsoe_abi::ipc::chf::COID_DISCONNECT;
        assert!(c.hears_coid_death());
    }

    #[test]
    fn coids_start_at_the_requested_index_and_detach_once() {
        let mut t = ConnectionTable::default();
        for fd in 0..3 {
            let c = t.attach(0, Target::Files, false).unwrap();
            assert_eq!(c.encode(), fd);
        }
        let c = t.attach(0, Target::Channel(77), false).unwrap();
        assert_eq!(c.index, 3);
        let side = t.attach(0, Target::Channel(77), true).unwrap();
        assert!(side.encode() & qsoe_abi::ipc::SIDE_CHANNEL != 0);
        assert_eq!(t.get(c.encode()), Some((c, Target::Channel(77))));
        assert_eq!(t.iter().count(), 5);
        assert!(t.detach(c.encode()).is_some());
        assert!(t.detach(c.encode()).is_none());
        let again = t.attach(0, Target::Channel(78), false).unwrap();
        assert_eq!(again.index, c.index);
        assert_ne!(again.encode(), c.encode());
        assert!(t.get(c.encode()).is_none());
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn an_exact_coid_takes_its_index_in_the_generation_asked() {
        let mut t = ConnectionTable::default();
        for _ in 0..2 {
            let a = t.attach(5, Target::Channel(1), false).unwrap();
            assert!(t.detach(a.encode()).is_some());
        }
        // Index 5 is now in generation 2; dup2 asks for fd 5 itself.
        let five = Coid::decode(5).unwrap();
        assert!(!t.index_in_use(five));
        assert_eq!(t.attach_exact(five, Target::Channel(2)), Some(five));
        assert!(t.index_in_use(five));
        assert_eq!(t.get(5).map(|(_, t)| t), Some(Target::Channel(2)));
        let closed = Coid {
            generation: 1,
            ..five
        };
        assert!(t.get(closed.encode()).is_none());
        // A busy index refuses, and so does one past the table.
        assert_eq!(t.attach_exact(five, Target::Channel(3)), None);
        let past = Coid {
            index: MAX_REGULAR as u16,
            generation: 0,
            side: false,
        };
        assert_eq!(t.attach_exact(past, Target::Channel(3)), None);
        assert_eq!(t.get(5).map(|(_, t)| t), Some(Target::Channel(2)));
    }

    #[test]
    fn side_and_regular_coids_do_not_collide() {
        let mut t = ConnectionTable::default();
        let taskman = t.attach(0, Target::Taskman, true).unwrap();
        assert_eq!(taskman.encode(), qsoe_abi::ipc::SYSMGR_COID);
        assert_eq!(t.attach(0, Target::Channel(3), false).unwrap().encode(), 0);
        let c = t.attach(0, Target::Channel(3), false).unwrap();
        assert_eq!(c.encode(), 1);
        assert!(t.get(c.encode() | qsoe_abi::ipc::SIDE_CHANNEL).is_none());
        assert_eq!(t.get(taskman.encode()).unwrap().1, Target::Taskman);
    }

    #[test]
    fn the_quota_counts_regular_connections_only() {
        let mut t = ConnectionTable::default();
        t.attach(0, Target::Taskman, true).unwrap();
        assert!(t.room_for(false, 1));
        t.attach(0, Target::Channel(2), false).unwrap();
        assert!(!t.room_for(false, 1));
        assert!(t.room_for(true, 1));
        assert!(t.room_for(false, 2));
        assert!(!t.room_for(false, 0));
    }

    #[test]
    fn connection_table_holds_its_maximum() {
        let mut t = ConnectionTable::default();
        for _ in 0..MAX_REGULAR {
            t.attach(0, Target::Channel(2), false).unwrap();
        }
        assert!(t.attach(0, Target::Channel(2), false).is_none());
        assert!(t.attach(0, Target::Channel(2), true).is_some());
    }

    #[test]
    fn pulse_queue_is_fifo_and_bounded() {
        let mut q = PulseQueue::default();
        for i in 0..PULSE_QUEUE as u32 {
            q.push(Pulse {
                code: 1,
                value: i as u64,
                scoid: 0,
            })
            .unwrap();
        }
        assert!(q.push(Pulse::default()).is_err());
        for i in 0..PULSE_QUEUE as u32 {
            assert_eq!(q.pop().unwrap().value, i as u64);
        }
        assert!(q.pop().is_none());
        q.push(Pulse {
            code: 2,
            value: 9,
            scoid: 1,
        })
        .unwrap();
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn gone_clients_come_before_pulses_once_each_and_bounded() {
        let mut c = channel(5);
        c.pulses
            .push(Pulse {
                code: 3,
                value: 7,
                scoid: 1,
            })
            .unwrap();
        assert!(c.gone.note(9));
        assert!(c.gone.note(9));
        assert!(c.gone.note(10));
        let first = c.take().unwrap();
        assert_eq!(first.code, qsoe_abi::ipc::pulse_code::CLIENT_GONE);
        assert_eq!(first.value, 9);
        assert_eq!(c.take().unwrap().value, 10);
        assert_eq!(c.take().unwrap().code, 3);
        assert!(!c.has_pending());
        for pid in 0..PULSE_QUEUE as Pid {
            assert!(c.gone.note(100 + pid));
        }
        assert!(!c.gone.note(1));
        assert!(c.has_pending());
    }
}
