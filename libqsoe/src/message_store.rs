//! Where a server keeps the bytes of the messages it holds unreplied (for
//! `MsgRead`) and of the replies it builds with `MsgWrite`, past what a
//! reply slot holds itself.
//!
//! Held messages are mostly small and their number comes from a quota,
//! so instead of a full IPC buffer per reply object (most of it never
//! used) they share one store of small chunks: a message takes the chunks
//! its bytes need, contiguous within one word of the map (a run is at
//! most 64 chunks), and gives them back when it is answered. Runs are
//! found with word operations: every receive of a longer message takes one.

/// Bytes of one chunk.
pub const CHUNK_BYTES: usize = 64;
/// Chunks in a store.
pub const CHUNKS: usize = 192;
const MAP_WORDS: usize = CHUNKS / 64;
const _: () = assert!(CHUNKS.is_multiple_of(64));

/// Consecutive chunks of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    first: u16,
    chunks: u16,
}

impl Run {
    /// The bytes the run can hold.
    pub fn capacity(self) -> usize {
        self.chunks as usize * CHUNK_BYTES
    }
}

/// The chunks and a map of which are taken.
pub struct MessageStore {
    bytes: [u8; CHUNKS * CHUNK_BYTES],
    taken: [u64; MAP_WORDS],
}

impl MessageStore {
    pub const fn new() -> Self {
        MessageStore {
            bytes: [0; CHUNKS * CHUNK_BYTES],
            taken: [0; MAP_WORDS],
        }
    }

    /// The map bits of `run`, in its word.
    fn mask(run: Run) -> (usize, u64) {
        let first = run.first as usize;
        let bits = if run.chunks == 64 {
            u64::MAX
        } else {
            ((1u64 << run.chunks) - 1) << (first % 64)
        };
        (first / 64, bits)
    }

    /// Chunks for `bytes` bytes (the first free run that fits); `None` if
    /// there is no such run. No bytes take no run.
    pub fn take(&mut self, bytes: usize) -> Option<Run> {
        let need = bytes.div_ceil(CHUNK_BYTES);
        if need == 0 || need > 64 {
            return None;
        }
        for (w, taken) in self.taken.iter_mut().enumerate() {
            // Bit i of `starts`: chunks i .. i + need of the word are free.
            let mut starts = !*taken;
            let mut run = 1;
            while run < need {
                let step = run.min(need - run);
                starts &= starts >> step;
                run += step;
            }
            // A run must not go past the word's top bit.
            starts &= u64::MAX >> (need - 1);
            if starts != 0 {
                let at = starts.trailing_zeros() as usize;
                let run = Run {
                    first: (w * 64 + at) as u16,
                    chunks: need as u16,
                };
                *taken |= Self::mask(run).1;
                return Some(run);
            }
        }
        None
    }

    /// Gives `run` back.
    pub fn give(&mut self, run: Run) {
        if run.chunks > 0 {
            let (w, bits) = Self::mask(run);
            self.taken[w] &= !bits;
        }
    }

    pub fn bytes(&self, run: Run) -> &[u8] {
        let at = run.first as usize * CHUNK_BYTES;
        &self.bytes[at..at + run.capacity()]
    }

    pub fn bytes_mut(&mut self, run: Run) -> &mut [u8] {
        let at = run.first as usize * CHUNK_BYTES;
        &mut self.bytes[at..at + run.capacity()]
    }

    /// Chunks free.
    #[cfg(test)]
    pub fn free(&self) -> usize {
        CHUNKS
            - self
                .taken
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_contiguous_disjoint_and_given_back() {
        let mut s = MessageStore::new();
        let a = s.take(100).unwrap();
        let b = s.take(64).unwrap();
        assert_eq!((a.chunks, b.chunks), (2, 1));
        assert_eq!(b.first, 2);
        s.bytes_mut(a).fill(1);
        s.bytes_mut(b).fill(2);
        assert!(s.bytes(a).iter().all(|&x| x == 1));
        s.give(a);
        // A one-chunk message takes the first hole.
        let c = s.take(10).unwrap();
        assert_eq!(c.first, 0);
        // Too big for the hole left at 1: placed after b.
        let d = s.take(130).unwrap();
        assert_eq!(d.first, 3);
        assert_eq!(s.take(0), None);
        assert_eq!(s.free(), CHUNKS - 1 - 1 - 3);
    }

    #[test]
    fn a_full_store_refuses_until_a_run_is_given_back() {
        let mut s = MessageStore::new();
        let words = [(); CHUNKS / 64].map(|()| s.take(64 * CHUNK_BYTES).unwrap());
        assert_eq!(s.take(1), None);
        s.give(words[1]);
        assert_eq!(s.free(), 64);
        assert_eq!(s.take(65 * CHUNK_BYTES), None);
        assert_eq!(s.take(2 * CHUNK_BYTES).map(|r| r.first), Some(64));
        assert_eq!(s.take(62 * CHUNK_BYTES).map(|r| r.first), Some(66));
        assert_eq!(s.take(1), None);
    }

    #[test]
    fn runs_stay_within_a_word_and_fill_holes_first_fit() {
        let mut s = MessageStore::new();
        let a = s.take(60 * CHUNK_BYTES).unwrap();
        // 4 chunks are left in word 0: a run of 5 goes to word 1.
        let b = s.take(5 * CHUNK_BYTES).unwrap();
        assert_eq!(b.first, 64);
        let c = s.take(4 * CHUNK_BYTES).unwrap();
        assert_eq!(c.first, 60);
        s.give(a);
        let d = s.take(15 * CHUNK_BYTES).unwrap();
        assert_eq!(d.first, 0);
        // Every chunk taken is taken once.
        let mut seen = [false; CHUNKS];
        for r in [b, c, d] {
            for i in r.first..r.first + r.chunks {
                assert!(!seen[i as usize]);
                seen[i as usize] = true;
            }
        }
        assert_eq!(s.free(), CHUNKS - 24);
    }
}
