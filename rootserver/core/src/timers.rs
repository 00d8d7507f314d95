//! Every armed deadline in the system, in one table ordered by time: QNX
//! timers (`TimerCreate`), sleeping threads (`nanosleep`) and receive
//! timeouts (`TimerTimeout`). Taskman programs the hardware alarm for the
//! earliest (`next_deadline`) and, when it rings, takes what is due
//! (`expire`); what each entry then does is its `Action`.
//!
//! Times are nanoseconds of `CLOCK_MONOTONIC`.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EINVAL};
use qsoe_abi::event::SigEvent;
use qsoe_abi::Pid;

/// Timers one process may hold at once (QNX timers, sleeps and timeouts
/// together).
pub const TIMERS_PER_PROCESS: usize = 64;
/// Entries in the whole table.
pub const TIMER_TABLE: usize = 1 << 15;

/// What an entry does when its deadline comes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<P> {
    /// A QNX timer: deliver its event to the owner.
    Event(SigEvent),
    /// A thread's receive timeout: ring thread `tid`'s wake notification.
    Wake { tid: i32 },
    /// A sleeping thread: answer it (`P` holds how).
    Sleep { tid: i32, parked: P },
    /// A thread's call timeout: cut its `Call` at `pc` short.
    CutCall { tid: i32, pc: u64 },
}

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer<P> {
    pub owner: Pid,
    pub action: Action<P>,
    /// When it fires next; `None` while disarmed.
    pub deadline: Option<u64>,
    /// Re-armed this much later each time it fires; 0 for one-shot.
    pub interval: u64,
    /// Periods that passed unseen since it last fired (QNX's overruns).
    pub overruns: u64,
    /// Its absolute times are `CLOCK_REALTIME`'s (`TimerCreate`'s clock).
    pub realtime: bool,
}

/// A timer's id as processes see it: its index in the low 16 bits, a
/// generation above, always positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerId(i32);

impl TimerId {
    const INDEX_BITS: u32 = 16;

    fn new(index: usize, generation: u32) -> Self {
        let g = (generation & 0x7fff) as i32;
        TimerId(g << Self::INDEX_BITS | index as i32)
    }

    pub fn encode(self) -> i32 {
        self.0
    }

    pub fn decode(id: i32) -> Option<Self> {
        (id >= 0).then_some(TimerId(id))
    }

    fn index(self) -> usize {
        (self.0 & ((1 << Self::INDEX_BITS) - 1)) as usize
    }
}

/// A fired entry, as `expire` hands it out.
#[derive(Debug, PartialEq, Eq)]
pub struct Fired<P> {
    pub id: TimerId,
    pub owner: Pid,
    /// The event to deliver, or the thread to wake or answer. A one-shot
    /// `Wake` or `Sleep` entry is removed as it fires; a QNX timer stays
    /// (disarmed, or re-armed if periodic).
    pub action: Action<P>,
}

struct Slot<P> {
    generation: u32,
    timer: Option<Timer<P>>,
}

/// The table.
pub struct Timers<P> {
    slots: Vec<Slot<P>>,
    free: Vec<usize>,
    /// Armed entries by deadline.
    queue: BTreeSet<(u64, TimerId)>,
    per_owner: BTreeMap<Pid, usize>,
}

impl<P> Default for Timers<P> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            queue: BTreeSet::new(),
            per_owner: BTreeMap::new(),
        }
    }
}

impl<P> Timers<P> {
    /// Adds a disarmed entry for `owner`: `EAGAIN` past its quota or the
    /// table's size.
    pub fn create(&mut self, owner: Pid, action: Action<P>) -> Result<TimerId, Errno> {
        let held = self.per_owner.get(&owner).copied().unwrap_or(0);
        if held >= TIMERS_PER_PROCESS {
            return Err(EAGAIN);
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.slots.len() < TIMER_TABLE => {
                self.slots.push(Slot {
                    generation: 0,
                    timer: None,
                });
                self.slots.len() - 1
            }
            None => return Err(EAGAIN),
        };
        let slot = &mut self.slots[index];
        slot.timer = Some(Timer {
            owner,
            action,
            deadline: None,
            interval: 0,
            overruns: 0,
            realtime: false,
        });
        self.per_owner.insert(owner, held + 1);
        Ok(TimerId::new(index, slot.generation))
    }

    /// The entry `id` names, if `owner` owns it.
    pub fn get(&self, id: TimerId, owner: Pid) -> Option<&Timer<P>> {
        let slot = self.slots.get(id.index())?;
        let timer = slot.timer.as_ref()?;
        (TimerId::new(id.index(), slot.generation) == id && timer.owner == owner).then_some(timer)
    }

    /// Arms `id` (of `owner`) to fire at `deadline`, then every `interval`
    /// (0: once); `deadline` `None` disarms it. Answers what it was set to
    /// before: (deadline, interval). `EINVAL` if `owner` has no such entry.
    pub fn set(
        &mut self,
        id: TimerId,
        owner: Pid,
        deadline: Option<u64>,
        interval: u64,
    ) -> Result<(Option<u64>, u64), Errno> {
        let old = self.get(id, owner).ok_or(EINVAL)?;
        let before = (old.deadline, old.interval);
        if let Some(d) = before.0 {
            self.queue.remove(&(d, id));
        }
        if let Some(d) = deadline {
            self.queue.insert((d, id));
        }
        let timer = self.slots[id.index()].timer.as_mut().ok_or(EINVAL)?;
        timer.deadline = deadline;
        timer.interval = interval;
        timer.overruns = 0;
        Ok(before)
    }

    /// Marks `id` (of `owner`) as a `CLOCK_REALTIME` timer.
    pub fn set_realtime(&mut self, id: TimerId, owner: Pid) {
        if self.get(id, owner).is_some() {
            if let Some(t) = self.slots[id.index()].timer.as_mut() {
                t.realtime = true;
            }
        }
    }

    /// Whether `id` (of `owner`) is a `CLOCK_REALTIME` timer.
    pub fn is_realtime(&self, id: TimerId, owner: Pid) -> bool {
        self.get(id, owner).is_some_and(|t| t.realtime)
    }

    /// Removes `id` (of `owner`); answers it.
    pub fn remove(&mut self, id: TimerId, owner: Pid) -> Option<Timer<P>> {
        self.get(id, owner)?;
        self.take(id)
    }

    fn take(&mut self, id: TimerId) -> Option<Timer<P>> {
        let slot = self.slots.get_mut(id.index())?;
        let timer = slot.timer.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.index());
        if let Some(d) = timer.deadline {
            self.queue.remove(&(d, id));
        }
        match self.per_owner.get_mut(&timer.owner) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                self.per_owner.remove(&timer.owner);
            }
        }
        Some(timer)
    }

    /// Removes every entry of `owner` (it is ending); answers them.
    pub fn remove_owner(&mut self, owner: Pid) -> Vec<Timer<P>> {
        if !self.per_owner.contains_key(&owner) {
            return Vec::new();
        }
        self.remove_where(|t| t.owner == owner)
    }

    /// Removes the one-shot entries of thread `tid` of `owner` (`Wake`,
    /// `Sleep`, `CutCall`: the thread is ending); answers them.
    pub fn remove_thread(&mut self, owner: Pid, tid: i32) -> Vec<Timer<P>> {
        self.remove_where(|t| {
            t.owner == owner
                && matches!(t.action, Action::Wake { tid: x } | Action::Sleep { tid: x, .. } | Action::CutCall { tid: x, .. } if x == tid)
        })
    }

    /// Removes the sleeps of `owner`'s threads (it stops: each sleep is
    /// asked for again, with the same deadline, when it continues);
    /// answers them.
    pub fn remove_sleepers(&mut self, owner: Pid) -> Vec<Timer<P>> {
        self.remove_where(|t| t.owner == owner && matches!(t.action, Action::Sleep { .. }))
    }

    fn remove_where(&mut self, which: impl Fn(&Timer<P>) -> bool) -> Vec<Timer<P>> {
        let ids: Vec<TimerId> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.timer.as_ref().is_some_and(&which))
            .map(|(i, s)| TimerId::new(i, s.generation))
            .collect();
        ids.into_iter().filter_map(|id| self.take(id)).collect()
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<u64> {
        self.queue.first().map(|&(d, _)| d)
    }

    /// Entries held by `owner`.
    pub fn held_by(&self, owner: Pid) -> usize {
        self.per_owner.get(&owner).copied().unwrap_or(0)
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.per_owner.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.per_owner.is_empty()
    }
}

impl<P: Clone> Timers<P> {
    /// Takes every entry due at `now`, earliest first. A periodic QNX
    /// timer is re-armed at its next period after `now` (the periods it
    /// missed are counted as overruns); a one-shot one is disarmed; `Wake`
    /// and `Sleep` entries are removed.
    pub fn expire(&mut self, now: u64) -> Vec<Fired<P>> {
        let mut fired = Vec::new();
        while let Some(&(deadline, id)) = self.queue.first() {
            if deadline > now {
                break;
            }
            self.queue.remove(&(deadline, id));
            let Some(timer) = self.slots[id.index()].timer.as_mut() else {
                continue;
            };
            let owner = timer.owner;
            match &timer.action {
                Action::Event(_) => {
                    let action = timer.action.clone();
                    match (now - deadline).checked_div(timer.interval) {
                        None => timer.deadline = None,
                        Some(missed) => {
                            timer.overruns = timer.overruns.saturating_add(missed);
                            let next =
                                deadline.saturating_add(timer.interval.saturating_mul(missed + 1));
                            timer.deadline = Some(next);
                            self.queue.insert((next, id));
                        }
                    }
                    fired.push(Fired { id, owner, action });
                }
                Action::Wake { .. } | Action::Sleep { .. } | Action::CutCall { .. } => {
                    timer.deadline = None;
                    if let Some(t) = self.take(id) {
                        fired.push(Fired {
                            id,
                            owner,
                            action: t.action,
                        });
                    }
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type T = Timers<u32>;

    fn event() -> Action<u32> {
        Action::Event(SigEvent::pulse(3, -1, 1, 7))
    }

    #[test]
    fn entries_fire_in_deadline_order_and_one_shots_go() {
        let mut t = T::default();
        let a = t.create(1, event()).unwrap();
        let b = t.create(2, Action::Wake { tid: 1 }).unwrap();
        let c = t.create(2, Action::Sleep { tid: 3, parked: 9 }).unwrap();
        assert_eq!(t.next_deadline(), None, "created disarmed");
        t.set(a, 1, Some(300), 0).unwrap();
        t.set(b, 2, Some(100), 0).unwrap();
        t.set(c, 2, Some(200), 0).unwrap();
        assert_eq!(t.next_deadline(), Some(100));
        assert!(t.expire(99).is_empty());
        let fired: Vec<TimerId> = t.expire(250).iter().map(|f| f.id).collect();
        assert_eq!(fired, [b, c]);
        assert!(t.get(b, 2).is_none() && t.get(c, 2).is_none());
        let f = t.expire(300);
        assert_eq!((f[0].id, f[0].owner), (a, 1));
        // A one-shot QNX timer stays, disarmed.
        assert_eq!(t.get(a, 1).unwrap().deadline, None);
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn periodic_timers_rearm_and_count_what_they_missed() {
        let mut t = T::default();
        let a = t.create(1, event()).unwrap();
        t.set(a, 1, Some(100), 50).unwrap();
        assert_eq!(t.expire(100).len(), 1);
        assert_eq!(t.next_deadline(), Some(150));
        // Late by three periods: fires once, next on the grid after now.
        assert_eq!(t.expire(310).len(), 1);
        assert_eq!(t.next_deadline(), Some(350));
        assert_eq!(t.get(a, 1).unwrap().overruns, 3);
        assert_eq!(t.set(a, 1, None, 0), Ok((Some(350), 50)));
        assert!(t.expire(1000).is_empty());
    }

    #[test]
    fn ids_are_checked_against_owner_and_generation() {
        let mut t = T::default();
        let a = t.create(1, event()).unwrap();
        assert_eq!(t.set(a, 2, Some(5), 0), Err(EINVAL));
        assert!(t.remove(a, 2).is_none());
        assert!(t.remove(a, 1).is_some());
        let b = t.create(1, event()).unwrap();
        assert_ne!(a, b, "a reused slot has a new generation");
        assert_eq!(t.set(a, 1, Some(5), 0), Err(EINVAL));
        assert!(TimerId::decode(-1).is_none());
        assert_eq!(TimerId::decode(b.encode()), Some(b));
        assert!(b.encode() >= 0);
        assert!(!t.is_realtime(b, 1));
        t.set_realtime(b, 2);
        assert!(!t.is_realtime(b, 1), "not the owner");
        t.set_realtime(b, 1);
        assert!(t.is_realtime(b, 1));
    }

    #[test]
    fn quotas_and_teardown() {
        let mut t = T::default();
        for _ in 0..TIMERS_PER_PROCESS {
            t.create(4, event()).unwrap();
        }
        assert_eq!(t.create(4, event()), Err(EAGAIN));
        let other = t.create(5, Action::Sleep { tid: 2, parked: 1 }).unwrap();
        t.set(other, 5, Some(10), 0).unwrap();
        assert_eq!(t.remove_owner(4).len(), TIMERS_PER_PROCESS);
        assert_eq!(t.held_by(4), 0);
        assert!(t.create(4, event()).is_ok());
        assert_eq!(t.remove_thread(5, 3).len(), 0);
        let cut = t.create(5, Action::CutCall { tid: 2, pc: 8 }).unwrap();
        assert_eq!(t.remove_thread(5, 2).len(), 2);
        assert!(t.get(cut, 5).is_none());
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.len(), 1);
        let wake = t.create(5, Action::Wake { tid: 2 }).unwrap();
        let sleep = t.create(5, Action::Sleep { tid: 3, parked: 2 }).unwrap();
        t.set(sleep, 5, Some(20), 0).unwrap();
        assert_eq!(t.remove_sleepers(4).len(), 0);
        let gone = t.remove_sleepers(5);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].action, Action::Sleep { tid: 3, parked: 2 });
        assert_eq!(t.next_deadline(), None);
        assert!(t.remove(wake, 5).is_some());
    }
}
