//! Who is alive, who is a zombie, and who waits for whom.
//!
//! A pid names an entry of the table plus the entry's generation, so a
//! pid stays unique while its entry is taken (alive or zombie) and an old
//! pid never names whoever reuses the entry later. The table holds the
//! family relations and the waiting rules of `waitpid`; the shell's
//! per-process data (`P`) rides along while the process is alive.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, ECHILD, EINVAL, ESRCH};
use qsoe_abi::Pid;

/// Bits of a pid that index the table.
pub const INDEX_BITS: u32 = 16;
/// Generations wrap below this so that pids stay positive.
const GENERATIONS: u32 = 1 << (31 - INDEX_BITS);
/// Taskman, the parent of init. It never waits.
pub const TASKMAN: Pid = 0;
/// Init: the first process, which adopts orphans.
pub const INIT: Pid = 1;

/// What a waiting process asked `waitpid` for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    Any,
    Child(Pid),
}

impl WaitFor {
    /// `waitpid`'s pid argument: -1 for any child, a positive pid for one.
    pub fn from_arg(pid: Pid) -> Result<Self, Errno> {
        match pid {
            -1 => Ok(Self::Any),
            p if p > 0 => Ok(Self::Child(p)),
            _ => Err(EINVAL),
        }
    }

    fn matches(self, pid: Pid) -> bool {
        self == Self::Any || self == Self::Child(pid)
    }
}

/// A reaped child: its pid and wait status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    pub pid: Pid,
    pub status: i32,
}

/// A wait that an exit just satisfied: `parent` was blocked in `waitpid`
/// and gets `reaped` as its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wakeup {
    pub parent: Pid,
    pub reaped: Reaped,
}

#[derive(Debug)]
enum Life<P> {
    Alive(P),
    Zombie(i32),
}

#[derive(Debug)]
struct Record<P> {
    pid: Pid,
    parent: Pid,
    children: Vec<Pid>,
    life: Life<P>,
    /// Blocked in `waitpid` for these children; `true` if stops count
    /// (`WUNTRACED`).
    waiting: Option<(WaitFor, bool)>,
    /// Stopped by this signal, and the parent has not been told yet.
    stop_report: Option<u32>,
}

#[derive(Debug)]
struct Entry<P> {
    generation: u32,
    record: Option<Record<P>>,
}

/// The process table.
#[derive(Debug)]
pub struct ProcessTable<P> {
    entries: Vec<Entry<P>>,
    /// Entries to reuse, oldest first, so pids come back as late as possible.
    free: VecDeque<usize>,
    capacity: usize,
}

impl<P> ProcessTable<P> {
    /// A table with room for `capacity` processes (at most 65,535).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::new(),
            free: VecDeque::new(),
            capacity: capacity.min((1 << INDEX_BITS) - 1),
        }
    }

    fn index(pid: Pid) -> usize {
        (pid as u32 & ((1 << INDEX_BITS) - 1)) as usize
    }

    fn record(&self, pid: Pid) -> Option<&Record<P>> {
        if pid <= 0 {
            return None;
        }
        let entry = self.entries.get(Self::index(pid).checked_sub(1)?)?;
        entry.record.as_ref().filter(|r| r.pid == pid)
    }

    fn record_mut(&mut self, pid: Pid) -> Option<&mut Record<P>> {
        if pid <= 0 {
            return None;
        }
        let entry = self.entries.get_mut(Self::index(pid).checked_sub(1)?)?;
        entry.record.as_mut().filter(|r| r.pid == pid)
    }

    /// The pid the next `insert` hands out, if the table has room: spawn
    /// needs it to badge caps before the process is entered.
    pub fn next_pid(&self) -> Option<Pid> {
        let (slot, generation) = match self.free.front() {
            Some(&slot) => (slot, self.entries[slot].generation),
            None if self.entries.len() < self.capacity => (self.entries.len(), 0),
            None => return None,
        };
        Some(((generation << INDEX_BITS) | (slot as u32 + 1)) as Pid)
    }

    /// Makes room for one more process under `parent` (the table's entry
    /// and the parent's list of children), so that the `insert` after it
    /// allocates nothing; `false` if the memory for it cannot be had.
    pub fn reserve(&mut self, parent: Pid) -> bool {
        if self.entries.try_reserve(1).is_err() {
            return false;
        }
        match self.record_mut(parent) {
            Some(p) => p.children.try_reserve(1).is_ok(),
            None => true,
        }
    }

    /// Enters a new process under `parent`; `None` if the table is full.
    /// The first process entered gets pid 1 (init).
    pub fn insert(&mut self, parent: Pid, data: P) -> Option<Pid> {
        let slot = match self.free.pop_front() {
            Some(slot) => slot,
            None if self.entries.len() < self.capacity => {
                self.entries.push(Entry {
                    generation: 0,
                    record: None,
                });
                self.entries.len() - 1
            }
            None => return None,
        };
        let entry = &mut self.entries[slot];
        let pid = ((entry.generation << INDEX_BITS) | (slot as u32 + 1)) as Pid;
        entry.record = Some(Record {
            pid,
            parent,
            children: Vec::new(),
            life: Life::Alive(data),
            waiting: None,
            stop_report: None,
        });
        if let Some(p) = self.record_mut(parent) {
            p.children.push(pid);
        }
        Some(pid)
    }

    /// How many children `pid` has, alive or not yet reaped (0 for
    /// taskman and for unknown pids).
    pub fn children(&self, pid: Pid) -> usize {
        self.record(pid).map_or(0, |r| r.children.len())
    }

    /// The shell's data of a live process.
    pub fn get(&self, pid: Pid) -> Option<&P> {
        match &self.record(pid)?.life {
            Life::Alive(p) => Some(p),
            Life::Zombie(_) => None,
        }
    }

    pub fn get_mut(&mut self, pid: Pid) -> Option<&mut P> {
        match &mut self.record_mut(pid)?.life {
            Life::Alive(p) => Some(p),
            Life::Zombie(_) => None,
        }
    }

    /// The parent of a live or zombie process.
    pub fn parent(&self, pid: Pid) -> Option<Pid> {
        self.record(pid).map(|r| r.parent)
    }

    /// Whether `pid` is a zombie.
    pub fn is_zombie(&self, pid: Pid) -> bool {
        matches!(self.record(pid).map(|r| &r.life), Some(Life::Zombie(_)))
    }

    /// Processes alive or zombie.
    pub fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live processes, with their data.
    pub fn alive(&self) -> impl Iterator<Item = (Pid, &P)> {
        self.entries
            .iter()
            .filter_map(|e| match e.record.as_ref()? {
                Record {
                    pid,
                    life: Life::Alive(p),
                    ..
                } => Some((*pid, p)),
                _ => None,
            })
    }

    /// Ends a live process with `status`: it becomes a zombie, its
    /// children go to init, and its data comes back for teardown together
    /// with the waits this exit satisfied (its parent's, and init's for
    /// zombies it adopts). `None` if `pid` is not alive.
    pub fn exit(&mut self, pid: Pid, status: i32) -> Option<(P, Vec<Wakeup>)> {
        let record = self.record_mut(pid)?;
        if matches!(record.life, Life::Zombie(_)) {
            return None;
        }
        let Life::Alive(data) = core::mem::replace(&mut record.life, Life::Zombie(status)) else {
            unreachable!("checked alive above");
        };
        record.waiting = None;
        let orphans = core::mem::take(&mut record.children);
        let parent = record.parent;
        for &orphan in &orphans {
            if let Some(o) = self.record_mut(orphan) {
                o.parent = INIT;
            }
        }
        if pid != INIT {
            if let Some(init) = self.record_mut(INIT) {
                init.children.extend(orphans.iter().copied());
            }
        }
        let mut wakeups = Vec::new();
        wakeups.extend(self.wake(parent, pid));
        for orphan in orphans {
            if self.is_zombie(orphan) {
                wakeups.extend(self.wake(INIT, orphan));
            }
        }
        Some((data, wakeups))
    }

    /// If `parent` waits for zombie `child`, reaps it and says so.
    fn wake(&mut self, parent: Pid, child: Pid) -> Option<Wakeup> {
        let (waiting, _) = self.record(parent)?.waiting?;
        if !waiting.matches(child) {
            return None;
        }
        self.record_mut(parent)?.waiting = None;
        let reaped = self.reap_zombie(parent, child)?;
        Some(Wakeup { parent, reaped })
    }

    /// Removes zombie `child` of `parent` from the table.
    fn reap_zombie(&mut self, parent: Pid, child: Pid) -> Option<Reaped> {
        let Life::Zombie(status) = self.record(child)?.life else {
            return None;
        };
        let slot = Self::index(child) - 1;
        let entry = &mut self.entries[slot];
        entry.record = None;
        entry.generation = (entry.generation + 1) % GENERATIONS;
        self.free.push_back(slot);
        if let Some(p) = self.record_mut(parent) {
            p.children.retain(|&c| c != child);
        }
        Some(Reaped { pid: child, status })
    }

    /// `waitpid` from `parent`: a zombie child that matches is reaped at
    /// once (`Ok(Some)`); if only live children match, `Ok(None)` and the
    /// caller blocks (or not, with WNOHANG: see `park`); with no child that
    /// matches, `ECHILD`.
    pub fn reap(&mut self, parent: Pid, wait_for: WaitFor) -> Result<Option<Reaped>, Errno> {
        let record = self.record(parent).ok_or(ESRCH)?;
        let candidates: Vec<Pid> = record
            .children
            .iter()
            .copied()
            .filter(|&c| wait_for.matches(c))
            .collect();
        if candidates.is_empty() {
            return Err(ECHILD);
        }
        Ok(candidates
            .into_iter()
            .find(|&c| self.is_zombie(c))
            .and_then(|c| self.reap_zombie(parent, c)))
    }

    /// Records that `parent` blocks in `waitpid` after `reap` said
    /// `Ok(None)` (and, with `untraced`, `take_stop` said `None`); the
    /// exit (or stop) that satisfies it comes back as a `Wakeup`.
    pub fn park(&mut self, parent: Pid, wait_for: WaitFor, untraced: bool) {
        if let Some(r) = self.record_mut(parent) {
            r.waiting = Some((wait_for, untraced));
        }
    }

    /// `parent` no longer waits (it stopped; it asks again when it
    /// continues).
    pub fn unpark(&mut self, parent: Pid) {
        if let Some(r) = self.record_mut(parent) {
            r.waiting = None;
        }
    }

    /// `waitpid` with `WUNTRACED` from `parent`: a child that matches and
    /// stopped since it was last reported, with its stop status. It stays
    /// a child.
    pub fn take_stop(&mut self, parent: Pid, wait_for: WaitFor) -> Option<Reaped> {
        let children = self.record(parent)?.children.clone();
        children
            .into_iter()
            .filter(|&c| wait_for.matches(c))
            .find_map(|c| self.take_stop_of(c))
    }

    fn take_stop_of(&mut self, child: Pid) -> Option<Reaped> {
        let r = self.record_mut(child)?;
        let signal = r.stop_report.take()?;
        Some(Reaped {
            pid: child,
            status: qsoe_abi::wait::stopped(signal),
        })
    }

    /// Live process `pid` stopped with `signal`: its parent can learn so
    /// once; answers the parent's wait this satisfies.
    pub fn stopped(&mut self, pid: Pid, signal: u32) -> Option<Wakeup> {
        let r = self.record_mut(pid)?;
        if !matches!(r.life, Life::Alive(_)) {
            return None;
        }
        r.stop_report = Some(signal);
        let parent = r.parent;
        match self.record(parent)?.waiting? {
            (who, true) if who.matches(pid) => {
                self.record_mut(parent)?.waiting = None;
                let reaped = self.take_stop_of(pid)?;
                Some(Wakeup { parent, reaped })
            }
            _ => None,
        }
    }

    /// Process `pid` continued: a stop not yet reported is forgotten.
    pub fn continued(&mut self, pid: Pid) {
        if let Some(r) = self.record_mut(pid) {
            r.stop_report = None;
        }
    }

    /// Whether `pid` is blocked in `waitpid`.
    pub fn is_waiting(&self, pid: Pid) -> bool {
        self.record(pid).is_some_and(|r| r.waiting.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qsoe_abi::wait;

    fn table() -> (ProcessTable<&'static str>, Pid) {
        let mut t = ProcessTable::new(100);
        let init = t.insert(TASKMAN, "init").unwrap();
        (t, init)
    }

    #[test]
    fn first_process_is_init() {
        let (t, init) = table();
        assert_eq!(init, INIT);
        assert_eq!(t.get(INIT), Some(&"init"));
        assert_eq!(t.parent(INIT), Some(TASKMAN));
    }

    #[test]
    fn exit_then_wait_reaps_the_zombie_once() {
        let (mut t, init) = table();
        let child = t.insert(init, "child").unwrap();
        let (data, wakeups) = t.exit(child, wait::exited(3)).unwrap();
        assert_eq!((data, wakeups.len()), ("child", 0));
        assert!(t.is_zombie(child) && t.get(child).is_none());
        let r = t.reap(init, WaitFor::Any).unwrap().unwrap();
        assert_eq!(
            r,
            Reaped {
                pid: child,
                status: wait::exited(3)
            }
        );
        assert_eq!(t.reap(init, WaitFor::Any), Err(ECHILD));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn reserved_room_is_there() {
        let (mut t, init) = table();
        assert!(t.reserve(init));
        assert!(t.reserve(TASKMAN));
        assert!(t.insert(init, "a").is_some());
    }

    #[test]
    fn children_count_until_reaped() {
        let (mut t, init) = table();
        assert_eq!(t.children(init), 0);
        let a = t.insert(init, "a").unwrap();
        t.insert(init, "b").unwrap();
        assert_eq!(t.children(init), 2);
        t.exit(a, wait::exited(0)).unwrap();
        assert_eq!(t.children(init), 2, "a zombie still counts");
        t.reap(init, WaitFor::Child(a)).unwrap();
        assert_eq!(t.children(init), 1);
        assert_eq!(t.children(TASKMAN), 0);
        assert_eq!(t.children(-4), 0);
    }

    #[test]
    fn waiting_parent_is_woken_by_the_exit() {
        let (mut t, init) = table();
        let a = t.insert(init, "a").unwrap();
        let b = t.insert(init, "b").unwrap();
        assert_eq!(t.reap(init, WaitFor::Child(b)), Ok(None));
        t.park(init, WaitFor::Child(b), false);
        assert!(t.is_waiting(init));
        let (_, w) = t.exit(a, 0).unwrap();
        assert!(w.is_empty(), "init waits for b, not a");
        let (_, w) = t.exit(b, wait::signaled(11)).unwrap();
        assert_eq!(
            w,
            [Wakeup {
                parent: init,
                reaped: Reaped {
                    pid: b,
                    status: wait::signaled(11)
                }
            }]
        );
        assert!(!t.is_waiting(init));
        assert!(!t.is_zombie(b) && t.is_zombie(a));
    }

    #[test]
    fn wait_for_someone_elses_child_is_echild() {
        let (mut t, init) = table();
        let a = t.insert(init, "a").unwrap();
        let grandchild = t.insert(a, "g").unwrap();
        assert_eq!(t.reap(init, WaitFor::Child(grandchild)), Err(ECHILD));
        assert_eq!(t.reap(a, WaitFor::Child(init)), Err(ECHILD));
        assert_eq!(t.reap(12345, WaitFor::Any), Err(ESRCH));
    }

    #[test]
    fn orphans_go_to_init_and_zombie_orphans_wake_it() {
        let (mut t, init) = table();
        let a = t.insert(init, "a").unwrap();
        let live = t.insert(a, "live").unwrap();
        let dead = t.insert(a, "dead").unwrap();
        t.exit(dead, wait::exited(9)).unwrap();
        t.park(init, WaitFor::Any, false);
        let (_, w) = t.exit(a, 0).unwrap();
        // Init is woken once, by `a` itself; `dead` waits for the next call.
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].reaped.pid, a);
        assert_eq!(t.parent(live), Some(init));
        assert_eq!(t.parent(dead), Some(init));
        assert_eq!(
            t.reap(init, WaitFor::Any),
            Ok(Some(Reaped {
                pid: dead,
                status: wait::exited(9)
            }))
        );
        assert_eq!(
            t.reap(init, WaitFor::Any),
            Ok(None),
            "live is still running"
        );
    }

    #[test]
    fn pids_are_not_reused_while_a_zombie_holds_them_and_carry_a_generation() {
        let mut t = ProcessTable::new(3);
        let init = t.insert(TASKMAN, ()).unwrap();
        let a = t.insert(init, ()).unwrap();
        let b = t.insert(init, ()).unwrap();
        assert_eq!(t.next_pid(), None);
        assert_eq!(t.insert(init, ()), None, "table full");
        t.exit(a, 0).unwrap();
        assert_eq!(t.insert(init, ()), None, "zombie still holds its entry");
        t.reap(init, WaitFor::Child(a)).unwrap();
        let next = t.next_pid();
        let c = t.insert(init, ()).unwrap();
        assert_eq!(next, Some(c));
        assert_ne!(c, a);
        assert_eq!(c & 0xffff, a & 0xffff, "same entry, new generation");
        assert!(
            t.get(a).is_none() && t.parent(a).is_none(),
            "stale pid names nothing"
        );
        assert!(c > 0 && b > 0);
    }

    #[test]
    fn bad_pids_name_nothing() {
        let (mut t, _) = table();
        for pid in [0, -1, i32::MIN, 0x7fff_ffff, 2] {
            assert!(t.get(pid).is_none());
            assert!(t.exit(pid, 0).is_none());
        }
        assert_eq!(WaitFor::from_arg(0), Err(EINVAL));
        assert_eq!(WaitFor::from_arg(-5), Err(EINVAL));
        assert_eq!(WaitFor::from_arg(-1), Ok(WaitFor::Any));
    }

    #[test]
    fn exit_twice_is_refused() {
        let (mut t, init) = table();
        let a = t.insert(init, "a").unwrap();
        assert!(t.exit(a, 0).is_some());
        assert!(t.exit(a, 1).is_none());
    }

    #[test]
    fn generations_wrap_without_going_negative() {
        let mut t = ProcessTable::new(2);
        let init = t.insert(TASKMAN, ()).unwrap();
        for _ in 0..(GENERATIONS + 5) {
            let c = t.insert(init, ()).unwrap();
            assert!(c > 0);
            t.exit(c, 0).unwrap();
            t.reap(init, WaitFor::Child(c)).unwrap().unwrap();
        }
    }

    #[test]
    fn stops_are_reported_once_to_a_parent_that_asks() {
        let (mut t, init) = table();
        let a = t.insert(init, "a").unwrap();
        let b = t.insert(init, "b").unwrap();
        assert_eq!(t.take_stop(init, WaitFor::Any), None);
        // A parent that does not ask for stops is not woken by one.
        t.park(init, WaitFor::Any, false);
        assert_eq!(t.stopped(a, 23), None);
        t.unpark(init);
        assert!(!t.is_waiting(init));
        let r = t.take_stop(init, WaitFor::Any).unwrap();
        assert_eq!(r.pid, a);
        assert!(wait::WIFSTOPPED(r.status) && wait::WSTOPSIG(r.status) == 23);
        assert_eq!(t.take_stop(init, WaitFor::Any), None);
        // One that does is, for the child it waits for.
        t.park(init, WaitFor::Child(b), true);
        assert_eq!(t.stopped(a, 24), None);
        let w = t.stopped(b, 23).unwrap();
        assert_eq!((w.parent, w.reaped.pid), (init, b));
        assert!(!t.is_waiting(init));
        // A continue forgets an unreported stop; the child stays a child.
        t.continued(a);
        assert_eq!(t.take_stop(init, WaitFor::Any), None);
        assert_eq!(t.reap(init, WaitFor::Child(a)), Ok(None));
    }
}
