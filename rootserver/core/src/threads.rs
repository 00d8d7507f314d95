//! The threads of one process beyond its first: which exist, which have
//! ended with a value nobody has joined yet, and who waits to join which.
//! The tid of the first thread is 1; thread `index` has tid `index + 2`.

use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EBUSY, ESRCH};
use qsoe_abi::layout::MAX_THREADS;

/// One entry. `T` is what taskman holds for a running thread (its
/// objects), `J` what it holds for a joiner (a reply object).
#[derive(Debug, PartialEq, Eq)]
enum Entry<T, J> {
    Free,
    Running {
        objects: T,
        joiner: Option<J>,
    },
    /// Ended with `value`; nobody has joined it yet.
    Ended {
        value: u64,
    },
}

/// What a join finds.
#[derive(Debug, PartialEq, Eq)]
pub enum Join {
    /// The thread had ended with this value; it is forgotten now.
    Ended(u64),
    /// The thread runs: the joiner waits until it ends.
    Waits,
}

#[derive(Debug)]
pub struct ThreadTable<T, J> {
    entries: Vec<Entry<T, J>>,
}

impl<T, J> Default for ThreadTable<T, J> {
    fn default() -> Self {
        ThreadTable {
            entries: Vec::new(),
        }
    }
}

const FIRST_TID: i32 = 2;

impl<T, J> ThreadTable<T, J> {
    /// The lowest free index, if the process may have another thread.
    pub fn free_index(&self) -> Result<usize, Errno> {
        match self.entries.iter().position(|e| matches!(e, Entry::Free)) {
            Some(i) => Ok(i),
            None if self.entries.len() < MAX_THREADS => Ok(self.entries.len()),
            None => Err(EAGAIN),
        }
    }

    /// Records a thread started at `index` (from `free_index`); answers
    /// its tid.
    pub fn started(&mut self, index: usize, objects: T) -> i32 {
        if index == self.entries.len() {
            self.entries.push(Entry::Free);
        }
        self.entries[index] = Entry::Running {
            objects,
            joiner: None,
        };
        index as i32 + FIRST_TID
    }

    fn index(&self, tid: i32) -> Option<usize> {
        let i = usize::try_from(tid.checked_sub(FIRST_TID)?).ok()?;
        (i < self.entries.len()).then_some(i)
    }

    /// The objects of running thread `tid`.
    pub fn running(&self, tid: i32) -> Option<&T> {
        match &self.entries[self.index(tid)?] {
            Entry::Running { objects, .. } => Some(objects),
            _ => None,
        }
    }

    /// The objects of the running thread at `index` (its tid less 2).
    pub fn running_at_mut(&mut self, index: usize) -> Option<&mut T> {
        match self.entries.get_mut(index)? {
            Entry::Running { objects, .. } => Some(objects),
            _ => None,
        }
    }

    /// Thread `tid` ended with `value`: answers its objects, to destroy,
    /// and its joiner, to answer with `value`. With a joiner the thread is
    /// forgotten at once; without, it waits for one.
    pub fn ended(&mut self, tid: i32, value: u64) -> Option<(T, Option<J>)> {
        let i = self.index(tid)?;
        let entry = &mut self.entries[i];
        match core::mem::replace(entry, Entry::Free) {
            Entry::Running { objects, joiner } => {
                if joiner.is_none() {
                    *entry = Entry::Ended { value };
                }
                Some((objects, joiner))
            }
            other => {
                *entry = other;
                None
            }
        }
    }

    /// `joiner` joins thread `tid`. `EBUSY` if another already waits for
    /// it; `ESRCH` if there is no such thread (or it was joined).
    pub fn join(
        &mut self,
        tid: i32,
        joiner: impl FnOnce() -> Result<J, Errno>,
    ) -> Result<Join, Errno> {
        let i = self.index(tid).ok_or(ESRCH)?;
        match &mut self.entries[i] {
            Entry::Free => Err(ESRCH),
            Entry::Ended { value } => {
                let value = *value;
                self.entries[i] = Entry::Free;
                Ok(Join::Ended(value))
            }
            Entry::Running {
                joiner: Some(_), ..
            } => Err(EBUSY),
            Entry::Running { joiner: slot, .. } => {
                *slot = Some(joiner()?);
                Ok(Join::Waits)
            }
        }
    }

    /// Takes every joiner away: the process stops, and each joiner's
    /// request is made again when it continues.
    pub fn take_joiners(&mut self) -> Vec<J> {
        self.entries
            .iter_mut()
            .filter_map(|e| match e {
                Entry::Running { joiner, .. } => joiner.take(),
                _ => None,
            })
            .collect()
    }

    /// Empties the table as the process ends: every running thread's
    /// objects and joiner.
    pub fn drain(&mut self) -> Vec<(T, Option<J>)> {
        core::mem::take(&mut self.entries)
            .into_iter()
            .filter_map(|e| match e {
                Entry::Running { objects, joiner } => Some((objects, joiner)),
                _ => None,
            })
            .collect()
    }

    /// Running threads, with their tids.
    pub fn iter_running(&self) -> impl Iterator<Item = (i32, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Entry::Running { objects, .. } => Some((i as i32 + FIRST_TID, objects)),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Table = ThreadTable<&'static str, u64>;

    #[test]
    fn tids_start_at_two_and_are_reused_after_join() {
        let mut t = Table::default();
        let i = t.free_index().unwrap();
        assert_eq!(t.started(i, "a"), 2);
        let i = t.free_index().unwrap();
        assert_eq!(t.started(i, "b"), 3);
        assert_eq!(t.ended(2, 7), Some(("a", None)));
        // Ended but not joined: the index stays taken.
        assert_eq!(t.free_index(), Ok(2));
        assert_eq!(t.join(2, || Ok(1)), Ok(Join::Ended(7)));
        assert_eq!(t.free_index(), Ok(0));
        assert_eq!(t.join(2, || Ok(1)), Err(ESRCH));
    }

    #[test]
    fn a_joiner_waits_and_gets_the_value() {
        let mut t = Table::default();
        let tid = t.started(0, "a");
        assert_eq!(t.join(tid, || Ok(40)), Ok(Join::Waits));
        assert_eq!(t.join(tid, || Ok(41)), Err(EBUSY));
        assert_eq!(t.ended(tid, 5), Some(("a", Some(40))));
        // Answered through the joiner: nothing left to join.
        assert_eq!(t.join(tid, || Ok(1)), Err(ESRCH));
        assert_eq!(t.free_index(), Ok(0));
    }

    #[test]
    fn bad_tids_and_limits() {
        let mut t = Table::default();
        for tid in [-5, 0, 1, 2, 99, i32::MIN, i32::MAX] {
            assert_eq!(t.join(tid, || Ok(0)), Err(ESRCH));
            assert_eq!(t.ended(tid, 0), None);
            assert_eq!(t.running(tid), None);
        }
        for i in 0..MAX_THREADS {
            assert_eq!(t.free_index(), Ok(i));
            t.started(i, "t");
        }
        assert_eq!(t.free_index(), Err(EAGAIN));
        assert_eq!(t.iter_running().count(), MAX_THREADS);
        // A failed joiner setup leaves the thread joinable.
        assert_eq!(t.join(2, || Err(EAGAIN)), Err(EAGAIN));
        assert_eq!(t.join(2, || Ok(3)), Ok(Join::Waits));
        assert_eq!(t.take_joiners(), [3]);
        assert_eq!(t.take_joiners(), []);
        assert_eq!(t.join(2, || Ok(3)), Ok(Join::Waits));
        let drained = t.drain();
        assert_eq!(drained.len(), MAX_THREADS);
        assert_eq!(drained[0], ("t", Some(3)));
        assert_eq!(t.free_index(), Ok(0));
    }
}
