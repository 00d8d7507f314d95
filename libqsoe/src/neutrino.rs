//! The QNX Neutrino native IPC calls, on seL4.
//!
//! `MsgSend` is a `Call` on a connection's badged Send cap; `MsgReceive`
//! receives with one of the process's reply objects, which the rcvid
//! names; `MsgReply` and `MsgError` answer through it. Channels and
//! connections are made and destroyed by taskman: the process keeps only
//! its handle tables (which coids and rcvids are live, in which
//! generation) and never holds a channel's master cap.
//!
//! Messages ride the IPC buffer, so one carries at most `MAX_MSG_BYTES`.
//!
//! A thread that creates or receives on a channel that is not
//! `_NTO_CHF_FIXED_PRIORITY` serves passively from then on (taskman's
//! `passive`): it waits with no scheduling context and runs on each
//! client's. A channel's pulses go to whichever of the owner's threads
//! receives on it (taskman rings each receiver's wake notification).
//!
//! Taskman tells the process when a client dies (a `CLIENT_GONE` notice on
//! the channel): the calls of its held here answer `ESRCH`, and an
//! `_NTO_CHF_UNBLOCK` channel gets an `_PULSE_CODE_UNBLOCK` pulse for
//! each, its value the rcvid. The notice arrives with the thread's next
//! receive on that channel.
#![allow(non_snake_case)]

use crate::errno::{
    Errno, E2BIG, EAGAIN, EBADF, EBUSY, EINVAL, ENOMEM, ESRCH, ESRVRFAULT, ETIMEDOUT,
};
use crate::lock::{Guard, SpinLock};
use crate::message::{self, load, scatter, unload, REGISTER_BYTES};
use crate::message_store::{MessageStore, Run};
use crate::taskman;
use crate::this_thread::{self as thread, DeferredReply};
use crate::Pid;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use qsoe_abi::event::SigEvent;
use qsoe_abi::ipc::ConnectionBadge;
use qsoe_abi::ipc::{
    bulk_message_label, decode_answer, error_label, message_bytes, message_label, message_lease,
    reply_label, Answer, Coid, Pulse, Rcvid, MAX_BULK_BYTES, MAX_CHANNELS, MAX_MSG_BYTES,
    MAX_REGULAR, MAX_SIDE, PULSE_BADGE, PULSE_BYTES, REPLY_OBJECTS,
};
use qsoe_abi::layout::slot;
use qsoe_abi::wire::{self, op, PulseTaken, MAX_LEASE_REGIONS};
use sel4_sys::{MessageInfo, Word};

pub use qsoe_abi::ipc::{chf, pulse_code, SIDE_CHANNEL as _NTO_SIDE_CHANNEL, SYSMGR_COID};

/// `ND_LOCAL_NODE`: the only node there is.
pub const ND_LOCAL_NODE: u32 = 0;

/// What `MsgReceive` learned about a message (QNX's `_msg_info`, the
/// fields this system knows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgInfo {
    pub pid: Pid,
    pub chid: i32,
    pub scoid: i32,
    /// The bytes received into the caller's buffers' reach.
    pub msglen: usize,
    /// The bytes the client sent: more than `msglen` when it lent its
    /// buffers (read the rest with `MsgRead`).
    pub srcmsglen: usize,
}

/// What `ConnectServerInfo` reports about a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo {
    pub pid: Pid,
    pub chid: i32,
    pub coid: i32,
}

/// Where a reply object stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReplyState {
    Free,
    /// A thread is receiving with it.
    Receiving,
    /// It holds a client that has not been answered.
    Held,
    /// It held a client that is gone: `MsgReply` and `MsgError` answer
    /// `ESRCH` and free it.
    Gone,
    /// Its answer waits in a thread's IPC buffer (`DeferredReply`).
    Answering,
    /// Set aside for raw seL4 IPC (`reserve_reply_object`): never taken
    /// by a receive.
    Reserved,
}

struct ReplySlot {
    generation: u32,
    state: ReplyState,
    /// Who the client is (kept after the reply, for `MsgDeliverEvent`),
    /// and the channel it called.
    client: Pid,
    scoid: i32,
    chid: i32,
    /// The message as received, for `MsgRead`: its first words, the rest
    /// in the store.
    head: [Word; 4],
    spill: Option<Run>,
    received_len: usize,
    /// The client's lease, when it lent the whole message and reply.
    lease: Option<u8>,
    /// The reply being built by `MsgWrite`, in the store.
    staged: Option<Run>,
    reply_len: usize,
}

/// Which connections are live, in which generation. Every `MsgSend`
/// asks, so it is read without the tables' lock. An entry holds the
/// generation plus one (0: none), XORed with 1 for the connections every
/// process is born with (fds 0, 1, 2 and the side channel to taskman, in
/// generation 0): all zeros, as `.bss` starts, is a new process's state.
struct LiveConnections {
    regular: [AtomicU32; MAX_REGULAR],
    side: [AtomicU32; MAX_SIDE],
}

static LIVE: LiveConnections = LiveConnections {
    regular: [const { AtomicU32::new(0) }; MAX_REGULAR],
    side: [const { AtomicU32::new(0) }; MAX_SIDE],
};

impl LiveConnections {
    fn entry(&self, c: Coid) -> &AtomicU32 {
        if c.side {
            &self.side[c.index as usize]
        } else {
            &self.regular[c.index as usize]
        }
    }

    /// What the entry of `c` holds while `c` itself is live.
    fn stored(c: Coid) -> u32 {
        let born = if c.side { c.index == 0 } else { c.index < 3 };
        (c.generation + 1) ^ born as u32
    }

    /// The connection `coid` names, if it is live in this process.
    fn connection(&self, coid: i32) -> Result<Coid, Errno> {
        let c = Coid::decode(coid).ok_or(EBADF)?;
        let live = self.entry(c).load(Ordering::Acquire) == Self::stored(c);
        live.then_some(c).ok_or(EBADF)
    }

    fn attached(&self, c: Coid) {
        self.entry(c).store(Self::stored(c), Ordering::Release);
    }

    /// Forgets `c` unless its index already belongs to a newer connection:
    /// taskman may hand the index out again, to another thread, as soon as
    /// it has detached it.
    fn detached(&self, c: Coid) {
        let none = Self::stored(c) ^ (c.generation + 1);
        let _ = self.entry(c).compare_exchange(
            Self::stored(c),
            none,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
}

struct Tables {
    /// The chid and flags of each channel the process owns, by its cell
    /// (whose Receive cap is at `CHANNEL_BASE + cell`).
    channels: [Option<(i32, u32)>; MAX_CHANNELS],
    replies: [ReplySlot; REPLY_OBJECTS],
    /// How many reply objects taskman made (the process's quota of
    /// unreplied clients): those at `REPLY_BASE` on.
    reply_objects: usize,
    /// Where the search for a free reply object starts: they are used in
    /// turn, so that an rcvid names its client for as long as it can after
    /// the reply (`MsgDeliverEvent`).
    next_reply: usize,
    /// `_PULSE_CODE_UNBLOCK` pulses not yet received, each with its chid.
    unblocks: [Option<(i32, Pulse)>; REPLY_OBJECTS],
    /// How many of `unblocks` are queued, so a receive looks only then.
    unblocks_queued: usize,
    /// The bytes of held messages and staged replies.
    store: MessageStore,
}

const EMPTY_REPLY: ReplySlot = ReplySlot {
    generation: 0,
    state: ReplyState::Free,
    client: 0,
    scoid: 0,
    chid: 0,
    head: [0; 4],
    spill: None,
    received_len: 0,
    lease: None,
    staged: None,
    reply_len: 0,
};

/// All zeros in the image, so it lands in `.bss` and spawn copies none of
/// it.
static TABLES: SpinLock<Tables> = SpinLock::new(Tables {
    channels: [None; MAX_CHANNELS],
    replies: [EMPTY_REPLY; REPLY_OBJECTS],
    reply_objects: 0,
    next_reply: 0,
    unblocks: [None; REPLY_OBJECTS],
    unblocks_queued: 0,
    store: MessageStore::new(),
});

/// The channel cells (bit `cell`) taskman said have pulses queued, which
/// a receive on one takes before it waits: the wake-up that rang for them
/// may have gone to a thread receiving on another channel.
static PULSES_PENDING: AtomicU64 = AtomicU64::new(0);

fn cell_bit(cell: usize) -> u64 {
    1 << cell
}

/// The process's tables, locked.
fn tables() -> Guard<'static, Tables> {
    TABLES.lock()
}

impl Tables {
    fn channel_cell(&self, chid: i32) -> Result<usize, Errno> {
        self.channels
            .iter()
            .position(|c| c.is_some_and(|(c, _)| c == chid))
            .ok_or(EBADF)
    }

    /// `channel_cell`, trying the cell this thread last received on first.
    fn receive_cell(&self, chid: i32) -> Result<usize, Errno> {
        let state = thread::current();
        let (last, cell) = state.last_channel;
        if last == chid && self.channels[cell as usize].is_some_and(|(c, _)| c == chid) {
            return Ok(cell as usize);
        }
        let cell = self.channel_cell(chid)?;
        state.last_channel = (chid, cell as u8);
        Ok(cell)
    }

    /// The reply slot a live rcvid names, whatever its state.
    fn named(&mut self, rcvid: i32) -> Option<(usize, &mut ReplySlot)> {
        let r = Rcvid::decode(rcvid)?;
        let k = r.reply as usize;
        let slot = &mut self.replies[k];
        // Compared as encoded: the handle keeps only the generation's low bits.
        let live = Rcvid {
            generation: slot.generation,
            ..r
        };
        (live.encode() == rcvid).then_some((k, slot))
    }

    /// The reply slot a live rcvid names, holding its client.
    fn held(&mut self, rcvid: i32) -> Result<(usize, &mut ReplySlot), Errno> {
        match self.named(rcvid) {
            Some((k, slot)) if slot.state == ReplyState::Held => Ok((k, slot)),
            _ => Err(ESRCH),
        }
    }

    /// The slot `MsgReply` or `MsgError` answers through; `ESRCH` for a
    /// client that is gone, whose slot is free from now on.
    fn answerable(&mut self, rcvid: i32) -> Result<(usize, &mut ReplySlot), Errno> {
        if let Some((k, slot)) = self.named(rcvid) {
            if slot.state == ReplyState::Gone {
                slot.state = ReplyState::Free;
                self.queue_unblock(k, None);
                return Err(ESRCH);
            }
        }
        self.held(rcvid)
    }

    /// A reply object for a receive (`reuse`: the one this thread's
    /// deferred reply holds, free once the reply is out); `EBUSY` when
    /// every one the quota gave holds a client.
    fn claim_reply(&mut self, reuse: Option<usize>) -> Result<usize, Errno> {
        let k = match reuse {
            Some(k) => k,
            None => self.free_reply().ok_or(EBUSY)?,
        };
        self.replies[k].state = ReplyState::Receiving;
        Ok(k)
    }

    /// The next free reply object after the last one taken.
    fn free_reply(&mut self) -> Option<usize> {
        let n = self.reply_objects;
        let k = (0..n)
            .map(|i| (self.next_reply + i) % n)
            .find(|&k| self.replies[k].state == ReplyState::Free)?;
        self.next_reply = (k + 1) % n;
        Some(k)
    }

    /// Reply object `k` woke without a message: free again (a receiving
    /// slot holds nothing in the store).
    fn unclaim(&mut self, k: usize) {
        self.replies[k].state = ReplyState::Free;
    }

    /// Gives back what slot `k` holds in the store.
    fn release(&mut self, k: usize) {
        let r = &mut self.replies[k];
        let runs = [r.spill.take(), r.staged.take()];
        for run in runs.into_iter().flatten() {
            self.store.give(run);
        }
    }

    /// Up to `out.len()` bytes of the message slot `k` holds, from
    /// `offset`; answers how many.
    fn read_held(&self, k: usize, offset: usize, out: &mut [u8]) -> usize {
        let r = &self.replies[k];
        let n = out.len().min(r.received_len.saturating_sub(offset));
        let mut head = r.head;
        let head = message::as_bytes_mut(&mut head);
        let spill = r.spill.map_or(&[][..], |run| self.store.bytes(run));
        let from_head = n.min(REGISTER_BYTES.saturating_sub(offset));
        out[..from_head].copy_from_slice(&head[offset.min(REGISTER_BYTES)..][..from_head]);
        let at = offset + from_head - REGISTER_BYTES.min(offset + from_head);
        out[from_head..n].copy_from_slice(&spill[at..at + n - from_head]);
        n
    }

    /// Client `pid` of channel `chid` is gone: the calls of its held here
    /// can no longer be answered, and an `_NTO_CHF_UNBLOCK` channel hears
    /// of each.
    fn client_gone(&mut self, chid: i32, pid: Pid) {
        let unblock = self
            .channels
            .iter()
            .flatten()
            .any(|&(c, flags)| c == chid && flags & chf::UNBLOCK != 0);
        for k in 0..self.reply_objects {
            let r = &mut self.replies[k];
            if r.state != ReplyState::Held || r.client != pid || r.chid != chid {
                continue;
            }
            r.state = ReplyState::Gone;
            let generation = r.generation;
            let scoid = r.scoid;
            self.release(k);
            let pulse = Pulse {
                code: pulse_code::UNBLOCK,
                value: Rcvid {
                    reply: k as u8,
                    generation,
                }
                .encode() as u64,
                scoid,
            };
            if unblock {
                self.queue_unblock(k, Some((chid, pulse)));
            }
        }
    }

    /// Sets (or with `None` clears) the unblock pulse of reply object `k`.
    fn queue_unblock(&mut self, k: usize, pulse: Option<(i32, Pulse)>) {
        let was = core::mem::replace(&mut self.unblocks[k], pulse);
        self.unblocks_queued =
            self.unblocks_queued + pulse.is_some() as usize - was.is_some() as usize;
    }

    /// An `_PULSE_CODE_UNBLOCK` pulse waiting for a receive on `chid`.
    fn take_unblock(&mut self, chid: i32) -> Option<Pulse> {
        if self.unblocks_queued == 0 {
            return None;
        }
        let k = self
            .unblocks
            .iter()
            .position(|u| u.is_some_and(|(c, _)| c == chid))?;
        let (_, pulse) = self.unblocks[k]?;
        self.queue_unblock(k, None);
        Some(pulse)
    }
}

fn connection(coid: i32) -> Result<Coid, Errno> {
    LIVE.connection(coid)
}

pub use crate::this_thread::flush_reply;

/// A deferred reply has gone out: its reply object is free again.
fn replied(reply: usize) {
    tables().replies[reply].state = ReplyState::Free;
}

/// `ChannelCreate`: a channel owned by this process. Its pulses go to
/// whichever thread receives on it; the calling thread is one from now on.
pub fn ChannelCreate(flags: u32) -> Result<i32, Errno> {
    let r = taskman::thread_request(op::CHANNEL_CREATE, &[flags as Word])?;
    let (chid, cell, passive) = (r[0] as i32, r[1] as usize, r[2] != 0);
    let mut t = tables();
    t.channels[cell] = Some((chid, flags));
    t.reply_objects = (r[3] as usize).min(REPLY_OBJECTS);
    let state = thread::current();
    state.passive |= passive;
    state.receives |= cell_bit(cell);
    Ok(chid)
}

/// `ChannelDestroy`: every connection to it dies, and clients blocked
/// sending to it get `EBADF`.
pub fn ChannelDestroy(chid: i32) -> Result<(), Errno> {
    taskman::request(op::CHANNEL_DESTROY, &[chid as Word])?;
    let mut t = tables();
    for k in 0..REPLY_OBJECTS {
        if t.unblocks[k].is_some_and(|(c, _)| c == chid) {
            t.queue_unblock(k, None);
        }
    }
    if let Ok(cell) = t.channel_cell(chid) {
        t.channels[cell] = None;
        PULSES_PENDING.fetch_and(!cell_bit(cell), Ordering::AcqRel);
    }
    Ok(())
}

/// `ConnectAttach`: a connection to channel `chid` of process `pid`, at
/// the lowest free coid from `index` (`_NTO_SIDE_CHANNEL` for a
/// side-channel coid).
pub fn ConnectAttach(nd: u32, pid: Pid, chid: i32, index: i32, flags: u32) -> Result<i32, Errno> {
    if nd != ND_LOCAL_NODE {
        return Err(EINVAL);
    }
    let args = [pid as Word, chid as Word, index as Word, flags as Word];
    let coid = taskman::request(op::CONNECT_ATTACH, &args)?[0] as i32;
    if let Some(c) = Coid::decode(coid) {
        LIVE.attached(c);
    }
    Ok(coid)
}

/// `ConnectDetach`.
pub fn ConnectDetach(coid: i32) -> Result<(), Errno> {
    let c = connection(coid)?;
    taskman::request(op::CONNECT_DETACH, &[coid as Word])?;
    LIVE.detached(c);
    Ok(())
}

/// `ConnectServerInfo` for this process's connection `coid`.
pub fn ConnectServerInfo(pid: Pid, coid: i32) -> Result<ServerInfo, Errno> {
    if pid != 0 && pid != taskman::getpid() {
        return Err(ESRCH);
    }
    connection(coid)?;
    let r = taskman::request(op::CONNECT_SERVER_INFO, &[coid as Word])?;
    Ok(ServerInfo {
        pid: r[0] as Pid,
        chid: r[1] as i32,
        coid: r[2] as i32,
    })
}

/// `MsgSend`: sends `smsg` on `coid` and waits for the reply, which goes
/// into `rmsg`; answers the reply's status.
#[inline]
pub fn MsgSend(coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> Result<i32, Errno> {
    MsgSendv(coid, &[smsg], &mut [rmsg])
}

/// `MsgSendv`: `MsgSend` gathering from and scattering to several parts.
///
/// A message or reply larger than the IPC buffer is lent: the client's
/// buffers are leased to the server for the call (`wire::op::LEASE`), its
/// first part travels as usual, and the server reaches the rest through
/// taskman with `MsgRead` and `MsgWrite`; the lease ends when the call
/// returns.
pub fn MsgSendv(coid: i32, siov: &[&[u8]], riov: &mut [&mut [u8]]) -> Result<i32, Errno> {
    let c = connection(coid)?;
    // One part each way (every `MsgSend`) is checked without a loop.
    let fits = match (siov, &*riov) {
        ([s], [r]) => s.len() <= MAX_MSG_BYTES && r.len() <= MAX_MSG_BYTES,
        _ => total(siov) <= MAX_MSG_BYTES && total(riov) <= MAX_MSG_BYTES,
    };
    if !fits {
        return send_lent(c, coid, siov, riov, total(siov));
    }
    flush_reply();
    let msg = load(siov)?;
    let info = MessageInfo::new(message_label(msg.bytes), 0, 0, msg.words());
    let answer = call(c.slot(), info, msg.mrs)?;
    answered(answer, riov)
}

core::arch::global_asm!(
    ".section .text.qsoe_timed_call, \"ax\"",
    ".globl qsoe_timed_call",
    ".globl qsoe_timed_call_ecall",
    // seL4_Call with the capability in a0, the message info in a1 and
    // message registers in a2..a5; the answer's six registers are stored
    // at a6. The kernel keeps every register it does not answer in, t0
    // and ra included.
    "qsoe_timed_call:",
    "    mv t0, a6",
    "    li a6, 0",
    "    li a7, {call}",
    "qsoe_timed_call_ecall:",
    "    ecall",
    "    sd a0, 0(t0)",
    "    sd a1, 8(t0)",
    "    sd a2, 16(t0)",
    "    sd a3, 24(t0)",
    "    sd a4, 32(t0)",
    "    sd a5, 40(t0)",
    "    ret",
    call = const sel4_sys::sys::CALL,
);

extern "C" {
    fn qsoe_timed_call(
        cap: Word,
        info: Word,
        m0: Word,
        m1: Word,
        m2: Word,
        m3: Word,
        out: *mut [Word; 6],
    );
    /// The `ecall` of `qsoe_timed_call`: where taskman finds a thread
    /// whose call it cuts short.
    static qsoe_timed_call_ecall: u8;
}

/// `seL4_Call` on `cap`, cut short with `ETIMEDOUT` at the deadline a
/// `TimerTimeout` with `_NTO_TIMEOUT_SEND` or `_REPLY` set for it: then
/// taskman is asked to cut it (`TIMER_CALL`), and it goes through
/// `qsoe_timed_call`, whose `ecall` taskman knows.
fn call(cap: Word, info: MessageInfo, mrs: [Word; 4]) -> Result<sel4_sys::Received, Errno> {
    use crate::time::timeout::{REPLY, SEND};
    let Some(deadline) = crate::time::take_timeout_for(SEND | REPLY) else {
        return Ok(sel4_sys::call(cap, info, mrs));
    };
    let ecall = core::ptr::addr_of!(qsoe_timed_call_ecall) as Word;
    let id = taskman::thread_request(op::TIMER_CALL, &[deadline, ecall])?[0];
    let mut out = [0; 6];
    // SAFETY: `qsoe_timed_call` is a seL4_Call that stores its six answer
    // registers at `out`, which it may write.
    unsafe { qsoe_timed_call(cap, info.0, mrs[0], mrs[1], mrs[2], mrs[3], &mut out) };
    // Done in time or cut: either way the entry goes (it may be gone).
    let _ = taskman::request(op::TIMER_DESTROY, &[id]);
    Ok(sel4_sys::Received {
        badge: out[0],
        info: MessageInfo(out[1]),
        mrs: [out[2], out[3], out[4], out[5]],
    })
}

/// The bytes of all of `iov`'s parts.
fn total<T: AsRef<[u8]>>(iov: &[T]) -> usize {
    iov.iter().map(|p| p.as_ref().len()).sum()
}

/// What a call's answer means, its reply's bytes put into `riov`.
#[inline]
fn answered(answer: sel4_sys::Received, riov: &mut [&mut [u8]]) -> Result<i32, Errno> {
    match decode_answer(answer.info.label()) {
        Answer::Reply { status, bytes } => {
            let carried = answer.info.length() as usize * 8;
            unload(&answer.mrs, bytes.min(carried), riov);
            Ok(status)
        }
        Answer::Error(e) => Err(e),
        // The kernel's own answer: the slot holds no cap any more (the
        // channel was destroyed after this process last looked).
        Answer::Unframed if answer.info.label() == sel4_sys::error::INVALID_CAPABILITY => {
            Err(EBADF)
        }
        // The call came back without a reply: the server is gone.
        Answer::Unframed => Err(ESRVRFAULT),
    }
}

/// The buffers of `iov` as (address, length) pairs, at most
/// `MAX_BULK_BYTES` in all; `E2BIG` if they are too many.
fn regions<'i>(
    iov: impl Iterator<Item = &'i [u8]>,
    out: &mut [(Word, Word); MAX_LEASE_REGIONS],
) -> Result<usize, Errno> {
    let (mut n, mut room) = (0, MAX_BULK_BYTES);
    for p in iov.filter(|p| !p.is_empty()) {
        if room == 0 {
            break;
        }
        let slot = out.get_mut(n).ok_or(E2BIG)?;
        let len = p.len().min(room);
        *slot = (p.as_ptr() as Word, len as Word);
        room -= len;
        n += 1;
    }
    Ok(n)
}

/// `MsgSendv` of a message or reply larger than the IPC buffer: lent.
#[cold]
#[inline(never)]
fn send_lent(
    c: Coid,
    coid: i32,
    siov: &[&[u8]],
    riov: &mut [&mut [u8]],
    sent: usize,
) -> Result<i32, Errno> {
    if sent > MAX_BULK_BYTES {
        return Err(E2BIG);
    }
    let mut send = [(0, 0); MAX_LEASE_REGIONS];
    let mut recv = [(0, 0); MAX_LEASE_REGIONS];
    let ns = regions(siov.iter().copied(), &mut send)?;
    let nr = regions(riov.iter().map(|p| &**p), &mut recv)?;
    let mut words = [0; wire::MAX_WORDS];
    let n = wire::encode_lease(&mut words, coid, &send[..ns], &recv[..nr])?;
    let lease = taskman::request(op::LEASE, &words[..n])?[0] as u8;
    let msg = message::load_head(siov);
    let label = bulk_message_label(msg.bytes, lease, sent);
    let info = MessageInfo::new(label, 0, 0, msg.words());
    let answer = call(c.slot(), info, msg.mrs);
    // Whatever came back, the server's reach ends here.
    let _ = taskman::request(op::UNLEASE, &[lease as Word]);
    answered(answer?, riov)
}

/// `MsgSendPulse`: queues a pulse on the channel behind `coid`; `EAGAIN`
/// when its queue is full.
pub fn MsgSendPulse(coid: i32, _priority: i32, code: i8, value: u32) -> Result<(), Errno> {
    connection(coid)?;
    let args = [coid as Word, code as i64 as Word, value as Word];
    taskman::request(op::PULSE_SEND, &args).map(drop)
}

/// `MsgReceive`: waits on channel `chid`. Answers the rcvid of a message
/// (its bytes in `msg`), or 0 for a pulse (a QNX `struct _pulse` in
/// `msg`).
#[inline]
pub fn MsgReceive(chid: i32, msg: &mut [u8], info: Option<&mut MsgInfo>) -> Result<i32, Errno> {
    MsgReceivev(chid, &mut [msg], info)
}

/// The slot of this process's Receive cap for channel `chid`, for code
/// that speaks raw seL4 IPC on the channel (the benchmark's baseline).
/// Its reply objects are at `slot::REPLY_BASE`.
pub fn channel_endpoint(chid: i32) -> Result<Word, Errno> {
    tables()
        .channel_cell(chid)
        .map(|cell| slot::CHANNEL_BASE + cell as u64)
}

/// Sets a free reply object aside for code that speaks raw seL4 IPC on a
/// channel (the benchmark's baseline); answers its index from
/// `slot::REPLY_BASE`. `MsgReceive` never takes it (it takes reply objects
/// in turn, so no other index is safe to assume). `EBUSY` if none is free.
pub fn reserve_reply_object() -> Result<usize, Errno> {
    let mut t = tables();
    let k = t.free_reply().ok_or(EBUSY)?;
    t.replies[k].state = ReplyState::Reserved;
    Ok(k)
}

/// `MsgReceivev`: `MsgReceive` scattering into several parts.
///
/// A reply this thread deferred goes out in the same kernel entry
/// (`ReplyRecv`), with the reply object it used receiving the next message.
pub fn MsgReceivev(
    chid: i32,
    iov: &mut [&mut [u8]],
    mut info: Option<&mut MsgInfo>,
) -> Result<i32, Errno> {
    let mut timeout = ReceiveTimeout::take();
    loop {
        timeout.check()?;
        let (endpoint, cell, k) = {
            let mut t = tables();
            let cell = t.receive_cell(chid)?;
            if let Some(pulse) = t.take_unblock(chid) {
                drop(t);
                return Ok(deliver_pulse(chid, pulse, iov, info));
            }
            let state = thread::current();
            if state.receives & cell_bit(cell) == 0 {
                drop(t);
                receive_on(chid, cell)?;
                continue;
            }
            if PULSES_PENDING.load(Ordering::Acquire) & cell_bit(cell) != 0 {
                drop(t);
                match take_pulse(chid, cell) {
                    Some(pulse) => return Ok(deliver_pulse(chid, pulse, iov, info)),
                    None => continue,
                }
            }
            let k = t.claim_reply(state.deferred.map(|d| d.reply))?;
            (slot::CHANNEL_BASE + cell as u64, cell, k)
        };
        if let Err(e) = timeout.arm() {
            tables().unclaim(k);
            return Err(e);
        }
        let reply = slot::REPLY_BASE + k as u64;
        let msg = match thread::current().deferred.take() {
            Some(d) => sel4_sys::reply_recv(endpoint, d.info, d.mrs, reply),
            None => sel4_sys::recv(endpoint, reply),
        };
        if msg.badge & PULSE_BADGE == 0 {
            match received(chid, k, msg, iov, info.as_deref_mut()) {
                Some(rcvid) => {
                    timeout.cancel();
                    return Ok(rcvid);
                }
                None => continue,
            }
        }
        tables().unclaim(k);
        if let Some(pulse) = take_pulse(chid, cell) {
            timeout.cancel();
            return Ok(deliver_pulse(chid, pulse, iov, info));
        }
    }
}

/// A `TimerTimeout` on one `MsgReceive`: taskman rings the thread's wake
/// notification at the deadline (`op::TIMER_WAKE`), and a wake past it
/// ends the receive with `ETIMEDOUT`.
struct ReceiveTimeout {
    deadline: Option<u64>,
    /// Taskman's entry, once armed.
    entry: Option<i32>,
}

impl ReceiveTimeout {
    fn take() -> Self {
        ReceiveTimeout {
            deadline: crate::time::take_timeout(crate::time::timeout::RECEIVE),
            entry: None,
        }
    }

    /// `ETIMEDOUT` once the deadline has passed (a deferred reply still
    /// goes out).
    #[inline]
    fn check(&mut self) -> Result<(), Errno> {
        let Some(d) = self.deadline else {
            return Ok(());
        };
        if crate::time::monotonic_ns() < d {
            return Ok(());
        }
        flush_reply();
        self.cancel();
        Err(ETIMEDOUT)
    }

    /// Asks taskman for the wake, before the thread first blocks.
    #[inline]
    fn arm(&mut self) -> Result<(), Errno> {
        match (self.deadline, self.entry) {
            (Some(d), None) => {
                let tid = thread::gettid();
                let r = taskman::request(op::TIMER_WAKE, &[tid as Word, d])?;
                self.entry = Some(r[0] as i32);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Withdraws the wake (it may have rung already: then there is none).
    #[inline]
    fn cancel(&mut self) {
        if let Some(id) = self.entry.take() {
            let _ = taskman::request(op::TIMER_DESTROY, &[id as Word]);
        }
        self.deadline = None;
    }
}

/// This thread receives on channel `chid` (in `cell`) from now on: taskman
/// rings it for the channel's pulses too, and unless the channel is
/// `_NTO_CHF_FIXED_PRIORITY` it serves passively.
#[cold]
#[inline(never)]
fn receive_on(chid: i32, cell: usize) -> Result<(), Errno> {
    let state = thread::current();
    let tid = thread::gettid();
    let r = taskman::request(op::CHANNEL_RECEIVE, &[chid as Word, tid as Word])?;
    if r[0] != 0 {
        PULSES_PENDING.fetch_or(cell_bit(cell), Ordering::AcqRel);
    }
    state.passive |= r[1] != 0;
    state.receives |= cell_bit(cell);
    Ok(())
}

/// Takes a pulse queued on `chid` (in `cell`) from taskman, and learns
/// which channels still have some. `None` when there is none for the
/// receiver (another thread took it, or it was a client's death, noted
/// here): it waits again.
#[cold]
#[inline(never)]
fn take_pulse(chid: i32, cell: usize) -> Option<Pulse> {
    PULSES_PENDING.fetch_and(!cell_bit(cell), Ordering::AcqRel);
    let words = taskman::request(op::PULSE_TAKE, &[chid as Word]).ok()?;
    let taken = PulseTaken::from_words(&words);
    PULSES_PENDING.fetch_or(taken.pending, Ordering::AcqRel);
    let pulse = taken.pulse?;
    if pulse.code == pulse_code::CLIENT_GONE {
        tables().client_gone(chid, pulse.value as Pid);
        return None;
    }
    Some(pulse)
}

/// Hands a pulse to the receiver as QNX's `struct _pulse`; answers 0, the
/// rcvid of a pulse.
#[cold]
#[inline(never)]
fn deliver_pulse(
    chid: i32,
    pulse: Pulse,
    iov: &mut [&mut [u8]],
    info: Option<&mut MsgInfo>,
) -> i32 {
    scatter(&pulse.to_bytes(), iov);
    if let Some(i) = info {
        *i = MsgInfo {
            pid: 0,
            chid,
            scoid: pulse.scoid,
            msglen: PULSE_BYTES,
            srcmsglen: PULSE_BYTES,
        };
    }
    0
}

/// Records a message received with reply object `k`; answers its rcvid.
/// `None` if the message's bytes past the registers find no room in the
/// store: its client's `MsgSend` then fails with `EAGAIN` (as QNX's does
/// when the kernel lacks the resources), and the receive goes on.
fn received(
    chid: i32,
    k: usize,
    msg: sel4_sys::Received,
    iov: &mut [&mut [u8]],
    info: Option<&mut MsgInfo>,
) -> Option<i32> {
    let who = ConnectionBadge::decode(msg.badge);
    let label = msg.info.label();
    let bytes = message_bytes(label).min(msg.info.length() as usize * 8);
    let lent = message_lease(label);
    let mut t = tables();
    let t = &mut *t;
    let spill = match bytes.checked_sub(REGISTER_BYTES).filter(|&n| n > 0) {
        None => None,
        Some(n) => match t.store.take(n) {
            Some(run) => {
                let spilled = message::words_as_bytes(message::spilled_words(bytes));
                t.store.bytes_mut(run)[..n].copy_from_slice(&spilled[..n]);
                Some(run)
            }
            None => {
                let refused = MessageInfo::new(error_label(EAGAIN), 0, 0, 0);
                defer(t, k, refused, [0; 4]);
                return None;
            }
        },
    };
    unload(&msg.mrs, bytes, iov);
    let r = &mut t.replies[k];
    r.head = msg.mrs;
    r.spill = spill;
    r.received_len = bytes;
    r.lease = lent.map(|(lease, _)| lease);
    r.state = ReplyState::Held;
    r.client = who.pid;
    r.scoid = who.scoid;
    r.chid = chid;
    r.reply_len = 0;
    r.generation = r.generation.wrapping_add(1);
    if let Some(i) = info {
        *i = MsgInfo {
            pid: who.pid,
            chid,
            scoid: who.scoid,
            msglen: bytes,
            srcmsglen: lent.map_or(bytes, |(_, total)| total),
        };
    }
    Some(
        Rcvid {
            reply: k as u8,
            generation: r.generation,
        }
        .encode(),
    )
}

/// The client and lease of a held call that was lent, for taskman's
/// copies.
fn lent(t: &mut Tables, rcvid: i32) -> Result<Option<(Pid, i32, u8)>, Errno> {
    let (_, r) = t.held(rcvid)?;
    Ok(r.lease.map(|lease| (r.client, r.scoid, lease)))
}

/// Taskman copies `len` bytes at `offset` of a lent message (`BULK_READ`)
/// or reply (`BULK_WRITE`) from or to `addr`.
fn bulk(
    op: u64,
    (client, scoid, lease): (Pid, i32, u8),
    offset: usize,
    addr: Word,
    len: usize,
) -> Result<usize, Errno> {
    let b = wire::Bulk {
        client,
        scoid,
        lease,
        offset: offset as u64,
        addr,
        len: len as u64,
    };
    Ok(taskman::request(op, &b.to_words())?[0] as usize)
}

/// What `MsgRead` asks taskman for a lent message, by the client's pid,
/// connection and lease rather than an rcvid: taskman answers only the
/// server the lease was lent to, and only while the call lasts (a test
/// shows a server cannot keep reaching a client after it).
pub fn read_lent(
    client: Pid,
    scoid: i32,
    lease: u8,
    offset: usize,
    msg: &mut [u8],
) -> Result<usize, Errno> {
    let addr = msg.as_mut_ptr() as Word;
    bulk(
        op::BULK_READ,
        (client, scoid, lease),
        offset,
        addr,
        msg.len(),
    )
}

/// `MsgRead`: bytes of the received message from `offset`.
pub fn MsgRead(rcvid: i32, msg: &mut [u8], offset: usize) -> Result<usize, Errno> {
    let mut t = tables();
    let (k, r) = t.held(rcvid)?;
    if offset.saturating_add(msg.len()) > r.received_len {
        if let Some(l) = lent(&mut t, rcvid)? {
            drop(t);
            return bulk(
                op::BULK_READ,
                l,
                offset,
                msg.as_mut_ptr() as Word,
                msg.len(),
            );
        }
    }
    Ok(t.read_held(k, offset, msg))
}

/// `MsgWrite`: puts bytes into the reply at `offset`, sent by `MsgReply`
/// (or, past the IPC buffer's reach in a lent reply, straight into the
/// client's buffers). `ENOMEM` if the store has no room for the reply.
pub fn MsgWrite(rcvid: i32, msg: &[u8], offset: usize) -> Result<usize, Errno> {
    let mut t = tables();
    let end = offset.checked_add(msg.len()).ok_or(E2BIG)?;
    if end > MAX_MSG_BYTES {
        let l = lent(&mut t, rcvid)?.ok_or(E2BIG)?;
        drop(t);
        return bulk(op::BULK_WRITE, l, offset, msg.as_ptr() as Word, msg.len());
    }
    let t = &mut *t;
    let (k, r) = t.held(rcvid)?;
    let run = match r.staged {
        Some(run) => run,
        None => {
            let run = t.store.take(MAX_MSG_BYTES).ok_or(ENOMEM)?;
            t.replies[k].staged = Some(run);
            run
        }
    };
    t.store.bytes_mut(run)[offset..end].copy_from_slice(msg);
    let r = &mut t.replies[k];
    r.reply_len = r.reply_len.max(end);
    Ok(msg.len())
}

/// `MsgReply`: answers the client with `status` and `msg`.
#[inline]
pub fn MsgReply(rcvid: i32, status: i32, msg: &[u8]) -> Result<(), Errno> {
    MsgReplyv(rcvid, status, &[msg])
}

/// `MsgReplyv`: `MsgReply` gathering from several parts (after what
/// `MsgWrite` put in the reply).
///
/// The reply is loaded now and sent with this thread's next kernel entry:
/// fused with `MsgReceive` as one `ReplyRecv`, the way seL4 servers
/// answer, or before any other call. A thread that replies and then
/// computes without calling the system holds its client until it does.
pub fn MsgReplyv(rcvid: i32, status: i32, iov: &[&[u8]]) -> Result<(), Errno> {
    let total: usize = iov.iter().map(|p| p.len()).sum();
    if total > MAX_MSG_BYTES {
        return reply_lent(rcvid, status, iov);
    }
    flush_reply();
    let mut t = tables();
    let t = &mut *t;
    let (k, r) = t.answerable(rcvid)?;
    let msg = match r.staged {
        // Nothing from MsgWrite: straight into the message.
        None => load(iov)?,
        Some(run) => {
            let len = r.reply_len;
            let staged = t.store.bytes_mut(run);
            let mut at = 0;
            for p in iov {
                staged[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            load(&[&staged[..len.max(at)]])?
        }
    };
    let info = MessageInfo::new(reply_label(status, msg.bytes), 0, 0, msg.words());
    defer(t, k, info, msg.mrs);
    Ok(())
}

/// `MsgReplyv` of more than the IPC buffer holds, to a client that lent
/// its reply buffers: what `MsgWrite` put in the reply goes first, then
/// every part over it, all straight into the client's buffers; the reply
/// itself then carries only the status.
#[cold]
#[inline(never)]
fn reply_lent(rcvid: i32, status: i32, iov: &[&[u8]]) -> Result<(), Errno> {
    let mut early = [0u8; MAX_MSG_BYTES];
    let (l, written) = {
        let mut t = tables();
        let l = lent(&mut t, rcvid)?.ok_or(E2BIG)?;
        let t = &mut *t;
        let (_, r) = t.held(rcvid)?;
        let written = core::mem::take(&mut r.reply_len);
        if let Some(run) = r.staged.take() {
            early[..written].copy_from_slice(&t.store.bytes(run)[..written]);
            t.store.give(run);
        }
        (l, written)
    };
    if written > 0 {
        bulk(op::BULK_WRITE, l, 0, early.as_ptr() as Word, written)?;
    }
    let mut at = 0;
    for p in iov {
        bulk(op::BULK_WRITE, l, at, p.as_ptr() as Word, p.len())?;
        at += p.len();
    }
    MsgReply(rcvid, status, &[])
}

/// Answers a raw seL4 call this thread holds in reply object `reply` (an
/// index from `slot::REPLY_BASE`), for code that speaks raw IPC on a
/// channel: the way `MsgReply` answers when no receive follows, which a
/// passive thread needs (a plain `seL4_Send` on the reply would give its
/// client's scheduling context back and leave the thread with none).
pub fn reply_alone(reply: usize, info: MessageInfo, mrs: [Word; 4]) {
    crate::this_thread::send_alone(reply, info, mrs);
}

/// `MsgDeliverEvent`: delivers `event` to the client `rcvid` names, as
/// QNX does: for `SIGEV_PULSE`, a pulse on the client's own connection
/// `sigev_coid` (to its channel, typically). An rcvid keeps naming its
/// client after the reply, until its reply object takes another message
/// (reply objects are used in turn); then `ESRCH`. Taskman delivers, and
/// only to a process connected to one of this process's channels.
pub fn MsgDeliverEvent(rcvid: i32, event: &SigEvent) -> Result<(), Errno> {
    let (client, scoid) = {
        let mut t = tables();
        let (_, r) = t.named(rcvid).ok_or(ESRCH)?;
        if r.state == ReplyState::Receiving {
            return Err(ESRCH);
        }
        (r.client, r.scoid)
    };
    let w = event.to_words();
    let args = [client as Word, scoid as Word, w[0], w[1], w[2], w[3]];
    taskman::request(op::DELIVER_EVENT, &args).map(drop)
}

/// `MsgError`: answers the client's `MsgSend` with `error` (sent as
/// `MsgReply` sends).
pub fn MsgError(rcvid: i32, error: Errno) -> Result<(), Errno> {
    flush_reply();
    let mut t = tables();
    let (k, _) = t.answerable(rcvid)?;
    defer(
        &mut t,
        k,
        MessageInfo::new(error_label(error), 0, 0, 0),
        [0; 4],
    );
    Ok(())
}

fn defer(t: &mut Tables, reply: usize, info: MessageInfo, mrs: [Word; 4]) {
    t.release(reply);
    t.replies[reply].state = ReplyState::Answering;
    thread::current().deferred = Some(DeferredReply {
        reply,
        info,
        mrs,
        sent: replied,
    });
}
