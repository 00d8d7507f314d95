//! How QNX's IPC handles and messages are encoded on seL4.
//!
//! - A **chid** names a channel in taskman's channel table, a **coid** a
//!   connection in the calling process's connection table, an **rcvid** one
//!   of the process's reply objects. Each carries the generation of its
//!   table entry, so a stale handle never reaches an entry reused since.
//! - A connection is a Send cap to the channel's endpoint, badged with the
//!   client's pid and coid: the server learns who sent a message from the
//!   kernel, not from the payload.
//! - Every message's label frames it: byte count, and for answers whether
//!   it is a reply (with status) or an error (with errno). An answer
//!   without either mark was not made by a server or taskman.

use crate::errno::Errno;
use crate::Pid;

/// `_NTO_SIDE_CHANNEL`: coids with this bit are side-channel connections,
/// so ordinary ones (and file descriptors) start at 0.
pub const SIDE_CHANNEL: i32 = 1 << 30;
/// The connection to taskman every process is born with.
pub const SYSMGR_COID: i32 = SIDE_CHANNEL;
/// Taskman's pid, as `ConnectServerInfo` reports it.
pub const SYSMGR_PID: Pid = 0;
/// Taskman's channel, as `ConnectServerInfo` reports it.
pub const SYSMGR_CHID: i32 = 1;

pub use crate::layout::{MAX_CHANNELS, MAX_CONNECTIONS, REPLY_OBJECTS};
/// Connections are regular ones (file descriptors included), then
/// side-channel ones, whose index 0 is taskman.
pub const MAX_REGULAR: usize = 448;
pub const MAX_SIDE: usize = MAX_CONNECTIONS - MAX_REGULAR;
/// Payload bytes one message can carry: the IPC buffer's 120 words but
/// one, which a reply sent through taskman (`wire::op::REPLY`) needs.
pub const MAX_MSG_BYTES: usize = 119 * 8;

/// Channel flags (`_NTO_CHF_*`) this system acts on.
pub mod chf {
    /// The receiving thread keeps its own scheduling context, instead of
    /// waiting passively and running on each client's.
    pub const FIXED_PRIORITY: u32 = 0x0001;
    /// Send the owner a `_PULSE_CODE_UNBLOCK` pulse (value: the rcvid)
    /// when a client it holds unreplied is gone.
    pub const UNBLOCK: u32 = 0x0002;
    /// Send the owner a `_PULSE_CODE_DISCONNECT` pulse when a connection
    /// to the channel goes away (by `ConnectDetach` or its client's end):
    /// its scoid the connection's, its value the client's pid.
    pub const DISCONNECT: u32 = 0x0008;
    /// Send the owner a `_PULSE_CODE_COIDDEATH` pulse (value: the coid)
    /// when the channel one of its connections leads to ends, by
    /// `ChannelDestroy` or its server's death.
    pub const COID_DISCONNECT: u32 = 0x0040;
}

/// `ConnectAttach` flags (`_NTO_COF_*`).
pub mod cof {
    /// Not QNX's: `index` is the exact coid wanted, which must be a regular
    /// coid whose index is free (`dup2` makes its chosen fd so). QNX gets
    /// the same from "the lowest free coid from `index`", because its
    /// coids carry no generation.
    pub const EXACT_COID: u32 = 1 << 30;
}

/// Pulse codes taskman sends (`_PULSE_CODE_*`); user codes are 0..=127.
pub mod pulse_code {
    pub const UNBLOCK: i8 = -32;
    pub const DISCONNECT: i8 = -33;
    pub const COIDDEATH: i8 = -35;
    pub const MIN_USER: i8 = 0;
    /// Taskman to libqsoe, never handed to a program: the process whose
    /// pid is the value, a client of the channel, is gone.
    pub const CLIENT_GONE: i8 = -120;
}

const INDEX_BITS: u32 = 10;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const COID_GEN_MASK: u32 = (1 << (30 - INDEX_BITS)) - 1;

/// A connection handle, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coid {
    pub index: u16,
    pub generation: u32,
    pub side: bool,
}

impl Coid {
    pub fn encode(self) -> i32 {
        let side = if self.side { SIDE_CHANNEL as u32 } else { 0 };
        (side | (self.generation & COID_GEN_MASK) << INDEX_BITS | self.index as u32) as i32
    }

    /// Any non-negative value decodes; whether it names a live
    /// connection is the table's question.
    pub fn decode(coid: i32) -> Option<Self> {
        if coid < 0 {
            return None;
        }
        let v = coid as u32;
        let index = v & INDEX_MASK;
        let side = v & SIDE_CHANNEL as u32 != 0;
        let limit = if side { MAX_SIDE } else { MAX_REGULAR };
        ((index as usize) < limit).then_some(Coid {
            index: index as u16,
            generation: (v >> INDEX_BITS) & COID_GEN_MASK,
            side,
        })
    }

    /// The slot of the connection's Send cap in its process's CSpace.
    pub fn slot(self) -> u64 {
        use crate::layout::slot;
        match (self.side, self.index) {
            (true, 0) => slot::TASKMAN,
            (true, i) => slot::CONNECTION_BASE + MAX_REGULAR as u64 + i as u64,
            (false, i) => slot::CONNECTION_BASE + i as u64,
        }
    }
}

const CHID_INDEX_BITS: u32 = 16;
const CHID_GEN_MASK: u32 = (1 << (31 - CHID_INDEX_BITS)) - 1;

/// A channel handle: an entry of taskman's channel table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chid {
    pub index: u16,
    pub generation: u32,
}

impl Chid {
    pub fn encode(self) -> i32 {
        (((self.generation & CHID_GEN_MASK) << CHID_INDEX_BITS) | self.index as u32) as i32
    }

    pub fn decode(chid: i32) -> Option<Self> {
        (chid >= 0).then_some(Chid {
            index: chid as u16,
            generation: (chid as u32) >> CHID_INDEX_BITS,
        })
    }
}

/// Enough for `REPLY_OBJECTS` (index + 1 is stored).
const RCVID_INDEX_BITS: u32 = 7;
const _: () = assert!(REPLY_OBJECTS < 1 << RCVID_INDEX_BITS);

/// A receive handle: which reply object holds the client, in which use.
/// 0 is never an rcvid; `MsgReceive` answers 0 for a pulse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rcvid {
    pub reply: u8,
    pub generation: u32,
}

impl Rcvid {
    pub fn encode(self) -> i32 {
        let generation = self.generation & ((1 << (31 - RCVID_INDEX_BITS)) - 1);
        ((generation << RCVID_INDEX_BITS) | (self.reply as u32 + 1)) as i32
    }

    pub fn decode(rcvid: i32) -> Option<Self> {
        if rcvid <= 0 {
            return None;
        }
        let v = rcvid as u32;
        let low = v & ((1 << RCVID_INDEX_BITS) - 1);
        // `then`, not `then_some`: the index is only computed for low >= 1.
        (low >= 1 && low as usize <= REPLY_OBJECTS).then(|| Rcvid {
            reply: (low - 1) as u8,
            generation: v >> RCVID_INDEX_BITS,
        })
    }
}

/// The badge of a connection's Send cap: the client's pid and coid. Bit 63
/// is never set, so it cannot be mistaken for `PULSE_BADGE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionBadge {
    pub pid: Pid,
    /// The client's coid, which the server knows as the scoid.
    pub scoid: i32,
}

impl ConnectionBadge {
    pub fn encode(self) -> u64 {
        (self.scoid as u32 as u64) << 32 | self.pid as u32 as u64
    }

    pub fn decode(badge: u64) -> Self {
        ConnectionBadge {
            pid: badge as u32 as Pid,
            scoid: (badge >> 32) as u32 as i32,
        }
    }
}

/// What a server's receive sees when its channel's notification fired:
/// pulses are waiting in taskman's queue for the channel.
pub const PULSE_BADGE: u64 = 1 << 63;

/// Who speaks on taskman's own endpoint, as the badge of the cap the
/// message came through says. Taskman mints every such cap with
/// `encode` and reads every message's badge with `decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskmanBadge {
    /// The side channel of process `pid`: its requests.
    Side { pid: Pid },
    /// The fault endpoint of thread `tid` of `pid` (1 for its first):
    /// its faults, and its thread requests (`wire::THREAD_TRAP`). The cap
    /// lives in the TCB, so no thread can speak with another's badge.
    Fault { pid: Pid, tid: i32 },
    /// Connection `index` (a regular coid's index) of `pid` to taskman's
    /// own resource manager: the console (fds 0, 1 and 2 at birth), and
    /// what taskman serves in the pathname space.
    File { pid: Pid, index: u16 },
}

/// The badge layout: the kind in the top bits, the pid in the low 32, and
/// a thread or fd field in between.
mod taskman_badge {
    pub const FAULT: u64 = 1 << 62;
    pub const FILE: u64 = 1 << 61;
    pub const FIELD_SHIFT: u32 = 32;
    pub const FIELD_MASK: u64 = 0xffff;
    pub const PID_MASK: u64 = 0xffff_ffff;
}

/// Thread ids a fault badge can carry: the field holds `tid - 1`.
pub const MAX_BADGE_TID: i32 = taskman_badge::FIELD_MASK as i32 + 1;

impl TaskmanBadge {
    /// The badge for the cap; `tid` must be in `1..=MAX_BADGE_TID` and
    /// `index` below `MAX_REGULAR`.
    pub fn encode(self) -> u64 {
        use taskman_badge::*;
        let (kind, field, pid) = match self {
            Self::Side { pid } => (0, 0, pid),
            Self::Fault { pid, tid } => (FAULT, (tid - 1) as u64 & FIELD_MASK, pid),
            Self::File { pid, index } => (FILE, index as u64 & FIELD_MASK, pid),
        };
        kind | field << FIELD_SHIFT | (pid as u32 as u64 & PID_MASK)
    }

    /// Reads a badge taskman minted; `None` for any other word.
    pub fn decode(badge: u64) -> Option<Self> {
        use taskman_badge::*;
        let pid = (badge & PID_MASK) as u32 as Pid;
        let field = (badge >> FIELD_SHIFT) & FIELD_MASK;
        let rest = badge & !(FAULT | FILE | FIELD_MASK << FIELD_SHIFT | PID_MASK);
        if rest != 0 || pid <= 0 {
            return None;
        }
        match badge & (FAULT | FILE) {
            0 if field == 0 => Some(Self::Side { pid }),
            FAULT => Some(Self::Fault {
                pid,
                tid: field as i32 + 1,
            }),
            FILE if (field as usize) < MAX_REGULAR => Some(Self::File {
                pid,
                index: field as u16,
            }),
            _ => None,
        }
    }

    /// The process the badge belongs to.
    pub fn pid(self) -> Pid {
        match self {
            Self::Side { pid } | Self::Fault { pid, .. } | Self::File { pid, .. } => pid,
        }
    }
}

/// A message label: byte count, and for an answer its kind and status.
pub mod label {
    pub const BYTES_MASK: u64 = 0x3ff;
    pub const STATUS_SHIFT: u32 = 10;
    pub const KIND_SHIFT: u32 = 48;
    pub const KIND_REPLY: u64 = 1;
    pub const KIND_ERROR: u64 = 2;
}

/// Where a message whose whole is lent (`wire::op::LEASE`) says so: the
/// lease's id and the message's full size ride in its label.
mod bulk_label {
    pub const FLAG: u64 = 1 << 10;
    pub const LEASE_SHIFT: u32 = 11;
    pub const TOTAL_SHIFT: u32 = 19;
    pub const TOTAL_BITS: u32 = 21;
}

/// The largest message a lease can carry: its size must fit the label.
pub const MAX_BULK_BYTES: usize = (1 << bulk_label::TOTAL_BITS) - 1;

/// The label of a message of `total` bytes lent with lease `lease`, whose
/// first `inline` bytes travel in the message registers.
pub fn bulk_message_label(inline: usize, lease: u8, total: usize) -> u64 {
    use bulk_label::*;
    message_label(inline)
        | FLAG
        | (lease as u64) << LEASE_SHIFT
        | (total as u64 & MAX_BULK_BYTES as u64) << TOTAL_SHIFT
}

/// The lease and full size a message label names, if the message is lent.
pub fn message_lease(l: u64) -> Option<(u8, usize)> {
    use bulk_label::*;
    (l & FLAG != 0).then(|| {
        let lease = (l >> LEASE_SHIFT) as u8;
        let total = ((l >> TOTAL_SHIFT) & MAX_BULK_BYTES as u64) as usize;
        (lease, total)
    })
}

/// The label of a message of `bytes` bytes.
pub fn message_label(bytes: usize) -> u64 {
    bytes as u64 & label::BYTES_MASK
}

/// The byte count a message label announces, at most `MAX_MSG_BYTES`.
pub fn message_bytes(l: u64) -> usize {
    ((l & label::BYTES_MASK) as usize).min(MAX_MSG_BYTES)
}

/// The label of a reply with `status` and `bytes` bytes.
pub fn reply_label(status: i32, bytes: usize) -> u64 {
    label::KIND_REPLY << label::KIND_SHIFT
        | (status as u32 as u64) << label::STATUS_SHIFT
        | message_label(bytes)
}

/// The label of an error answer.
pub fn error_label(e: Errno) -> u64 {
    label::KIND_ERROR << label::KIND_SHIFT | (e.0 as u64) << label::STATUS_SHIFT
}

/// What came back from a `MsgSend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Reply {
        status: i32,
        bytes: usize,
    },
    Error(Errno),
    /// No server or taskman framed this: the call ended without a reply.
    Unframed,
}

pub fn decode_answer(l: u64) -> Answer {
    let status = (l >> label::STATUS_SHIFT) as u32;
    match l >> label::KIND_SHIFT {
        label::KIND_REPLY => Answer::Reply {
            status: status as i32,
            bytes: message_bytes(l),
        },
        label::KIND_ERROR if status != 0 => Answer::Error(Errno(status)),
        _ => Answer::Unframed,
    }
}

/// A pulse as taskman queues it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pulse {
    pub code: i8,
    /// `union sigval`: an `int` from `MsgSendPulse`, up to a pointer from
    /// an event.
    pub value: u64,
    pub scoid: i32,
}

/// Bytes of QNX's `struct _pulse` on a 64-bit target.
pub const PULSE_BYTES: usize = 24;

impl Pulse {
    /// QNX's layout: type and subtype (0), code, three zero bytes, the
    /// value as a `union sigval` (8 bytes), the scoid, padding.
    pub fn to_bytes(self) -> [u8; PULSE_BYTES] {
        let mut b = [0; PULSE_BYTES];
        b[4] = self.code as u8;
        b[8..16].copy_from_slice(&self.value.to_le_bytes());
        b[16..20].copy_from_slice(&self.scoid.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; PULSE_BYTES]) -> Self {
        Pulse {
            code: b[4] as i8,
            value: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            scoid: i32::from_le_bytes([b[16], b[17], b[18], b[19]]),
        }
    }

    pub fn to_words(self) -> [u64; 3] {
        [self.code as u8 as u64, self.value, self.scoid as u32 as u64]
    }

    pub fn from_words(w: [u64; 3]) -> Self {
        Pulse {
            code: w[0] as u8 as i8,
            value: w[1],
            scoid: w[2] as u32 as i32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coids_round_trip_and_keep_stdio_small() {
        for (index, generation, side) in [(0, 0, false), (2, 0, false), (63, 5, true)] {
            let c = Coid {
                index,
                generation,
                side,
            };
            assert_eq!(Coid::decode(c.encode()), Some(c));
        }
        assert_eq!(
            Coid::decode(1),
            Some(Coid {
                index: 1,
                generation: 0,
                side: false
            })
        );
        let side = Coid::decode(SYSMGR_COID).unwrap();
        assert!(side.side && side.index == 0);
        assert_eq!(Coid::decode(-1), None);
        assert_eq!(Coid::decode(600), None);
        assert_eq!(Coid::decode(SIDE_CHANNEL | 64), None);
    }

    #[test]
    fn every_connection_has_its_own_slot() {
        use crate::layout::slot;
        let mut slots = std::collections::BTreeSet::new();
        for side in [false, true] {
            let n = if side { MAX_SIDE } else { MAX_REGULAR };
            for index in 0..n as u16 {
                let s = Coid {
                    index,
                    generation: 0,
                    side,
                }
                .slot();
                assert!(slots.insert(s), "{s}");
                assert!(
                    s == slot::TASKMAN || (slot::CONNECTION_BASE..slot::CHANNEL_BASE).contains(&s)
                );
            }
        }
        assert_eq!(Coid::decode(SYSMGR_COID).unwrap().slot(), slot::TASKMAN);
    }

    #[test]
    fn a_new_generation_changes_the_handle() {
        let a = Coid {
            index: 3,
            generation: 1,
            side: false,
        };
        let b = Coid {
            index: 3,
            generation: 2,
            side: false,
        };
        assert_ne!(a.encode(), b.encode());
        let c = Chid {
            index: 7,
            generation: 1,
        };
        let d = Chid {
            index: 7,
            generation: 2,
        };
        assert_ne!(c.encode(), d.encode());
        assert!(c.encode() > 0 && d.encode() > 0);
    }

    #[test]
    fn rcvids_are_positive_and_checked() {
        for reply in 0..REPLY_OBJECTS as u8 {
            let r = Rcvid {
                reply,
                generation: 12345,
            };
            assert!(r.encode() > 0);
            assert_eq!(Rcvid::decode(r.encode()), Some(r));
        }
        assert_eq!(Rcvid::decode(0), None);
        assert_eq!(Rcvid::decode(-5), None);
        let past = 1 << RCVID_INDEX_BITS | (REPLY_OBJECTS as i32 + 1);
        assert_eq!(Rcvid::decode(past), None);
        // Index bits 0 with a generation: found by the fuzz target.
        assert_eq!(Rcvid::decode(1 << RCVID_INDEX_BITS), None);
    }

    #[test]
    fn badges_carry_pid_and_scoid_and_never_look_like_pulses() {
        let b = ConnectionBadge {
            pid: 0x7fff_0003,
            scoid: SIDE_CHANNEL | 511,
        };
        assert_eq!(ConnectionBadge::decode(b.encode()), b);
        assert_eq!(b.encode() & PULSE_BADGE, 0);
    }

    #[test]
    fn taskman_badges_round_trip_and_reject_what_taskman_never_mints() {
        let pid = 0x7fff_0003;
        for b in [
            TaskmanBadge::Side { pid },
            TaskmanBadge::Fault { pid, tid: 1 },
            TaskmanBadge::Fault {
                pid,
                tid: MAX_BADGE_TID,
            },
            TaskmanBadge::File { pid, index: 2 },
            TaskmanBadge::File {
                pid,
                index: MAX_REGULAR as u16 - 1,
            },
        ] {
            assert_eq!(TaskmanBadge::decode(b.encode()), Some(b));
            assert_eq!(b.pid(), pid);
            assert_eq!(b.encode() & PULSE_BADGE, 0);
        }
        let side = TaskmanBadge::Side { pid }.encode();
        assert_eq!(TaskmanBadge::decode(side | 1 << 40), None);
        assert_eq!(TaskmanBadge::decode(side | 1 << 63), None);
        assert_eq!(TaskmanBadge::decode(3 << 61 | 1), None);
        assert_eq!(
            TaskmanBadge::decode(1 << 61 | (MAX_REGULAR as u64) << 32 | 1),
            None
        );
        assert_eq!(TaskmanBadge::decode(0), None);
    }

    #[test]
    fn answers_are_told_apart_from_unframed_returns() {
        assert_eq!(
            decode_answer(reply_label(-7, 12)),
            Answer::Reply {
                status: -7,
                bytes: 12
            }
        );
        assert_eq!(
            decode_answer(error_label(Errno(312))),
            Answer::Error(Errno(312))
        );
        assert_eq!(decode_answer(0), Answer::Unframed);
        assert_eq!(decode_answer(message_label(40)), Answer::Unframed);
        assert_eq!(message_bytes(u64::MAX), MAX_MSG_BYTES);
    }

    #[test]
    fn lent_messages_carry_their_lease_and_size() {
        let l = bulk_message_label(MAX_MSG_BYTES, 0xa5, 1 << 20);
        assert_eq!(message_bytes(l), MAX_MSG_BYTES);
        assert_eq!(message_lease(l), Some((0xa5, 1 << 20)));
        assert_eq!(message_lease(message_label(12)), None);
        assert_eq!(l & crate::wire::op::TAG, 0, "never taken for a request");
        assert_eq!(
            message_lease(bulk_message_label(0, 0, MAX_BULK_BYTES)),
            Some((0, MAX_BULK_BYTES))
        );
    }

    #[test]
    fn pulses_use_qnx_layout() {
        let p = Pulse {
            code: -33,
            value: 0xdead_beef,
            scoid: 42,
        };
        let b = p.to_bytes();
        assert_eq!(b[4], (-33i8) as u8);
        assert_eq!(&b[8..12], &0xdead_beefu32.to_le_bytes());
        assert_eq!(Pulse::from_bytes(&b), p);
        assert_eq!(Pulse::from_words(p.to_words()), p);
    }
}
