//! Taskman's wire protocol: what a process sends on its side channel.
//!
//! A request is one seL4 message: the label names the operation, the
//! message registers carry its arguments, and strings travel packed
//! little-endian into the registers after a fixed header. A reply has
//! label 0 and the results in its registers, or the error number as its
//! label. Who is asking is never in the message: taskman reads it from the
//! badge of the capability the message came through.
//!
//! Decoding is total: any label and any words give a `Request` or an
//! `Errno`, never a panic, because the words come from processes taskman
//! must not trust.

use crate::errno::{Errno, E2BIG, EINVAL, ENOSYS};
use crate::event::SigEvent;
use crate::grants::{Abilities, Devices, Grant, Limits};
use crate::ipc::Pulse;
use crate::Pid;

#[cfg(target_endian = "big")]
compile_error!("the wire protocol packs strings little-endian");

/// Message registers in one seL4 message (`seL4_MsgMaxLength`).
pub const MAX_WORDS: usize = 120;

/// Operation numbers (message labels). They carry `TAG`, so no QNX
/// message (whose label is its byte count) is ever taken for one.
pub mod op {
    pub const TAG: u64 = 1 << 40;
    pub const GETPID: u64 = TAG | 1;
    pub const SPAWN: u64 = TAG | 2;
    pub const EXIT: u64 = TAG | 3;
    pub const WAITPID: u64 = TAG | 4;
    pub const KILL: u64 = TAG | 5;
    pub const PAUSE: u64 = TAG | 6;
    pub const CENSUS: u64 = TAG | 7;
    pub const CHANNEL_CREATE: u64 = TAG | 8;
    pub const CHANNEL_DESTROY: u64 = TAG | 9;
    pub const CONNECT_ATTACH: u64 = TAG | 10;
    pub const CONNECT_DETACH: u64 = TAG | 11;
    pub const CONNECT_SERVER_INFO: u64 = TAG | 12;
    pub const PULSE_SEND: u64 = TAG | 13;
    pub const PULSE_TAKE: u64 = TAG | 14;
    pub const THREAD_CREATE: u64 = TAG | 15;
    pub const THREAD_EXIT: u64 = TAG | 16;
    pub const THREAD_JOIN: u64 = TAG | 17;
    pub const THREAD_STATE: u64 = TAG | 18;
    /// With the reply object and the thread in the label (`reply_op`).
    pub const REPLY: u64 = TAG | 19;
    pub const SPAWN_PROFILE: u64 = TAG | 20;
    pub const PATH_ATTACH: u64 = TAG | 21;
    pub const PATH_DETACH: u64 = TAG | 22;
    pub const PATH_RESOLVE: u64 = TAG | 23;
    pub const LEASE: u64 = TAG | 24;
    pub const UNLEASE: u64 = TAG | 25;
    pub const BULK_READ: u64 = TAG | 26;
    pub const BULK_WRITE: u64 = TAG | 27;
    pub const CHANNEL_RECEIVE: u64 = TAG | 28;
    pub const DELIVER_EVENT: u64 = TAG | 29;
    pub const CLOCK_INFO: u64 = TAG | 30;
    pub const TIMER_CREATE: u64 = TAG | 31;
    pub const TIMER_SETTIME: u64 = TAG | 32;
    pub const TIMER_DESTROY: u64 = TAG | 33;
    pub const TIMER_WAKE: u64 = TAG | 34;
    pub const SLEEP: u64 = TAG | 35;
    pub const THREAD_CONSUMED: u64 = TAG | 36;
    pub const DEVICE_FIND: u64 = TAG | 37;
    pub const MMAP_DEVICE: u64 = TAG | 38;
    pub const MUNMAP_DEVICE: u64 = TAG | 39;
    pub const INTERRUPT_ATTACH: u64 = TAG | 40;
    pub const INTERRUPT_UNMASK: u64 = TAG | 41;
    pub const INTERRUPT_DETACH: u64 = TAG | 42;
    pub const SIGNAL_ACTION: u64 = TAG | 43;
    pub const SIGNAL_WAIT: u64 = TAG | 44;
    pub const CONSOLE_CLAIM: u64 = TAG | 45;
    pub const CONSOLE_TAKE: u64 = TAG | 46;
    pub const TIMER_CALL: u64 = TAG | 47;
}

/// Where `op::REPLY` carries its reply object and thread.
const REPLY_OBJECT_SHIFT: u32 = 8;
const REPLY_TID_SHIFT: u32 = 16;
const REPLY_ARGS_MASK: u64 = 0xffff << REPLY_OBJECT_SHIFT;

/// The label of an `op::REPLY` request by thread `tid` for reply object
/// `reply`.
pub fn reply_op(reply: u8, tid: i32) -> u64 {
    op::REPLY | (reply as u64) << REPLY_OBJECT_SHIFT | (tid as u8 as u64) << REPLY_TID_SHIFT
}

/// Requests that act on the calling thread (`THREAD_EXIT`, `THREAD_JOIN`,
/// `CHANNEL_CREATE`, `SLEEP`, `SIGNAL_WAIT`, `TIMER_CALL`) do not travel on the side channel, which every thread
/// of a process shares: they are made with `ecall` and this system call
/// number, which the kernel does not know. It turns the call into an
/// unknown-syscall fault on the thread's own fault endpoint, whose badge
/// (kept in the TCB, out of the process's reach) names the thread.
///
/// Registers: a6 the operation, a0..a5 its words. Taskman's answer resumes
/// the thread after the `ecall` with a0 = 0 and the results in a1..a6, or
/// a0 = the errno.
pub const THREAD_TRAP: u64 = 0x7153;
/// Argument words a thread request carries (a0..a5).
pub const THREAD_TRAP_WORDS: usize = 6;

/// Whether `label` may only come through the thread trap.
pub fn needs_thread(label: u64) -> bool {
    matches!(
        label,
        op::THREAD_EXIT
            | op::THREAD_JOIN
            | op::CHANNEL_CREATE
            | op::SLEEP
            | op::SIGNAL_WAIT
            | op::TIMER_CALL
    )
}

/// Words before the strings of a spawn request: core, block size, argc,
/// envc, string bytes, then the grant to narrow the child's to: abilities
/// (low half) and devices (high half) in one word, then each of
/// `Limits::KEYS`.
const SPAWN_HEADER: usize = 6 + Limits::KEYS.len();
/// The most string bytes a spawn request can carry.
pub const SPAWN_MAX_BYTES: usize = (MAX_WORDS - SPAWN_HEADER) * 8;
/// `core` value meaning "taskman chooses".
pub const ANY_CORE: u64 = u64::MAX;

/// The longest path the path manager takes, in bytes (without a NUL).
pub const PATH_MAX_BYTES: usize = 512;
/// The most registrations one `PATH_RESOLVE` answers.
pub const MAX_RESOLVED: usize = 8;
/// The words of a `PATH_RESOLVE` answer: the count, then each.
pub const RESOLVE_WORDS: usize = 1 + MAX_RESOLVED * Resolved::WORDS;
/// The words of a `CONSOLE_TAKE` answer at most: the count, then bytes
/// (as many as a path resolution's answer, which every side-channel
/// answer has room for).
pub const CONSOLE_TAKE_WORDS: usize = RESOLVE_WORDS;
/// Words before a path request's path: flags, chid, handle, length.
const PATH_ATTACH_HEADER: usize = 4;

/// Regions one lease may lend in each direction.
pub const MAX_LEASE_REGIONS: usize = 8;
/// Words before a lease's regions: coid, send regions, receive regions.
const LEASE_HEADER: usize = 3;

/// A decoded request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    GetPid,
    Spawn(Spawn<'a>),
    Exit {
        status: i32,
    },
    WaitPid {
        pid: Pid,
        options: u32,
    },
    Kill {
        pid: Pid,
        signal: u32,
    },
    Pause,
    Census,
    /// Answers a [`SpawnProfile`] of the spawns and teardowns since the
    /// last one asked for, and starts a new one.
    SpawnProfile,
    /// Answers the chid, the channel cell (its slot in the caller's CSpace
    /// is `CHANNEL_BASE + cell`) and 1 if the calling thread now serves
    /// passively (its wake cap is at `CHANNEL_WAKE_BASE + cell`), else 0.
    /// The channel's notification wakes the calling thread, if it is the
    /// thread's first (a thread request).
    ChannelCreate {
        flags: u32,
    },
    ChannelDestroy {
        chid: i32,
    },
    /// Answers the coid.
    ConnectAttach {
        pid: Pid,
        chid: i32,
        index: i32,
        flags: u32,
    },
    ConnectDetach {
        coid: i32,
    },
    /// Answers the server's pid, the chid and the scoid.
    ConnectServerInfo {
        coid: i32,
    },
    PulseSend {
        coid: i32,
        code: i8,
        value: u32,
    },
    /// Takes one pulse queued on the caller's channel; answers
    /// [`PulseTaken`] words.
    PulseTake {
        chid: i32,
    },
    /// Thread `tid` of the caller receives on its channel `chid` from now
    /// on, so the channel's pulses wake it too; answers 1 if pulses wait
    /// on the channel, else 0.
    ChannelReceive {
        chid: i32,
        tid: i32,
    },
    /// `MsgDeliverEvent`: delivers `event` to `client`, which must be
    /// connected (by its coid `scoid`) to one of the caller's channels.
    DeliverEvent {
        client: Pid,
        scoid: i32,
        event: SigEvent,
    },
    /// Answers the `time` counter's frequency in Hz and the offset of
    /// `CLOCK_REALTIME` from `CLOCK_MONOTONIC` in nanoseconds (as `i64`).
    ClockInfo,
    /// `TimerCreate`: a disarmed timer of clock `clock` that delivers
    /// `event` to the caller; answers its id.
    TimerCreate {
        clock: u32,
        event: SigEvent,
    },
    /// `TimerSettime`: arms timer `id` to fire `value` ns from now (with
    /// `TIMER_ABSTIME` in `flags`: at `value` of its clock; 0 disarms) and
    /// every `interval` ns after (0: once); answers what was left of the
    /// old setting, from now, and its interval.
    TimerSettime {
        id: i32,
        flags: u32,
        value: u64,
        interval: u64,
    },
    /// `TimerDestroy` of a timer or a pending `TimerWake`.
    TimerDestroy {
        id: i32,
    },
    /// Rings the wake notification of thread `tid` of the caller at
    /// `deadline`, once (a receive timeout); answers an id for
    /// `TimerDestroy`.
    TimerWake {
        tid: i32,
        deadline: u64,
    },
    /// The calling thread's next `Call`, made at `pc` (libqsoe's timed
    /// call site), is cut short with `ETIMEDOUT` if it has not returned
    /// by `deadline` (a thread request: `MsgSend`'s `TimerTimeout`);
    /// answers an id for `TimerDestroy`.
    TimerCall {
        deadline: u64,
        pc: u64,
    },
    /// The calling thread sleeps until `deadline` (a thread request):
    /// answered then.
    Sleep {
        deadline: u64,
    },
    /// Answers the microseconds thread `tid` of the caller ran since the
    /// last time this was asked of it, as the kernel counted them on its
    /// scheduling context.
    ThreadConsumed {
        tid: i32,
    },
    /// Answers the first register window (address, size) and the first
    /// interrupt (`NO_IRQ` if none) of the `index`-th grantable device
    /// compatible with `compatible` (`ENODEV` if there is none).
    DeviceFind {
        index: u32,
        compatible: &'a [u8],
    },
    /// `mmap_device_memory`: maps `len` bytes of registers at physical
    /// `paddr` (of a device the caller is granted), readable and, with
    /// `PROT_WRITE` in `prot`, writable; answers the address.
    MmapDevice {
        paddr: u64,
        len: u64,
        prot: u32,
    },
    /// `munmap_device_memory` of the mapping at `vaddr`.
    MunmapDevice {
        vaddr: u64,
    },
    /// `InterruptAttachEvent`: delivers `event` each time interrupt `irq`
    /// (of a device the caller is granted) fires, masking it until
    /// `InterruptUnmask`; answers the id.
    InterruptAttach {
        irq: u32,
        event: SigEvent,
    },
    /// `InterruptUnmask` of attachment `id`.
    InterruptUnmask {
        id: i32,
    },
    /// `InterruptDetach` of attachment `id`.
    InterruptDetach {
        id: i32,
    },
    /// Sets what `signal` does to the caller; answers the disposition it
    /// had (`signal::Disposition` words).
    SignalAction {
        signal: u32,
        disposition: crate::signal::Disposition,
    },
    /// Blocks the caller's signal thread until a caught signal is
    /// pending; answers its number.
    SignalWait,
    /// The console driver takes over taskman's console: processes
    /// spawned from now on get channel `chid` as fds 0, 1 and 2, and
    /// taskman's own output waits for the driver, announced by `event`.
    ConsoleClaim {
        chid: i32,
        event: SigEvent,
    },
    /// Taskman's console output that waits for the driver: answers the
    /// byte count, then the bytes.
    ConsoleTake,
    /// Starts a thread of the caller at `entry` with `function` and
    /// `argument` in a0 and a1 and its tid in a2; answers the tid.
    ThreadCreate {
        entry: u64,
        function: u64,
        argument: u64,
    },
    /// The calling thread ends with `value` (a thread request); never
    /// answered.
    ThreadExit {
        value: u64,
    },
    /// Answers the `value` thread `tid` ended with, once it has.
    ThreadJoin {
        tid: i32,
    },
    /// What the kernel says of thread `tid` of the caller this moment:
    /// answers 1 or 0 for whether it holds a scheduling context (its own
    /// or a client's; a passive server waiting holds none), then for
    /// whether its FPU is on.
    ThreadState {
        tid: i32,
    },
    /// Taskman answers the caller's reply object `reply` with `label` and
    /// `words` (an answer a passive thread cannot send itself without
    /// losing the scheduling context it runs on), then gives thread `tid`
    /// its own scheduling context if it has none. Answers nothing.
    Reply {
        reply: u8,
        tid: i32,
        label: u64,
        words: &'a [u64],
    },
    /// Registers `path` in the pathname space for the caller's channel
    /// `chid`, with `_RESMGR_FLAG_*` `flags` and the caller's `handle`;
    /// answers the registration's id.
    PathAttach {
        flags: u32,
        chid: i32,
        handle: u32,
        path: &'a [u8],
    },
    /// Removes the caller's registration `id`.
    PathDetach {
        id: i32,
    },
    /// Answers every registration covering `path`, in the order to try
    /// them (`Resolved` words).
    PathResolve {
        path: &'a [u8],
    },
    /// Lends the server behind `coid` the caller's memory for one call:
    /// the message is gathered from `send`, the reply scattered to
    /// `recv`, each a list of (address, length) word pairs. Answers the
    /// lease id, which the call's label carries.
    Lease {
        coid: i32,
        send: &'a [u64],
        recv: &'a [u64],
    },
    /// Ends the caller's lease `lease`.
    Unlease {
        lease: u8,
    },
    /// Copies `len` bytes of the message lent by `client` (its connection
    /// `scoid`, its `lease`) from `offset` to the caller's memory at
    /// `addr`; answers the bytes copied (fewer at the message's end).
    BulkRead(Bulk),
    /// Copies `len` bytes from the caller's memory at `addr` into the
    /// reply lent by `client`, at `offset`; answers the bytes copied.
    BulkWrite(Bulk),
}

/// What `PulseTake` answers: the pulse, if one was queued, and the
/// owner's channel cells (bit `cell`) that still have pulses queued, so
/// that whichever of its threads next receives on one takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PulseTaken {
    pub pulse: Option<Pulse>,
    pub pending: u64,
}

impl PulseTaken {
    pub const WORDS: usize = 5;

    pub fn to_words(self) -> [u64; Self::WORDS] {
        let [a, b, c] = self.pulse.map_or([0; 3], Pulse::to_words);
        [self.pulse.is_some() as u64, a, b, c, self.pending]
    }

    pub fn from_words(w: &[u64]) -> Self {
        let at = |i: usize| w.get(i).copied().unwrap_or(0);
        PulseTaken {
            pulse: (at(0) != 0).then(|| Pulse::from_words([at(1), at(2), at(3)])),
            pending: at(4),
        }
    }
}

/// A bulk copy between a server and the client whose lease it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bulk {
    pub client: Pid,
    pub scoid: i32,
    pub lease: u8,
    pub offset: u64,
    pub addr: u64,
    pub len: u64,
}

impl Bulk {
    pub const WORDS: usize = 6;

    pub fn to_words(self) -> [u64; Self::WORDS] {
        [
            self.client as u32 as u64,
            self.scoid as u32 as u64,
            self.lease as u64,
            self.offset,
            self.addr,
            self.len,
        ]
    }

    fn decode(words: &[u64]) -> Result<Self, Errno> {
        Ok(Bulk {
            client: int(words, 0)?,
            scoid: int(words, 1)?,
            lease: u8::try_from(word(words, 2)?).map_err(|_| EINVAL)?,
            offset: word(words, 3)?,
            addr: word(words, 4)?,
            len: word(words, 5)?,
        })
    }
}

/// A lease request's regions: `n` (address, length) pairs from word `at`.
fn take_regions(words: &[u64], at: usize, n: usize) -> Result<&[u64], Errno> {
    if n > MAX_LEASE_REGIONS {
        return Err(E2BIG);
    }
    words.get(at..at + 2 * n).ok_or(EINVAL)
}

/// Writes a `LEASE` request's words into `out`; answers how many.
pub fn encode_lease(
    out: &mut [u64],
    coid: i32,
    send: &[(u64, u64)],
    recv: &[(u64, u64)],
) -> Result<usize, Errno> {
    if send.len() > MAX_LEASE_REGIONS || recv.len() > MAX_LEASE_REGIONS {
        return Err(E2BIG);
    }
    let words = LEASE_HEADER + 2 * (send.len() + recv.len());
    let out = out.get_mut(..words).ok_or(E2BIG)?;
    out[..LEASE_HEADER].copy_from_slice(&[coid as u64, send.len() as u64, recv.len() as u64]);
    for (i, &(addr, len)) in send.iter().chain(recv).enumerate() {
        out[LEASE_HEADER + 2 * i] = addr;
        out[LEASE_HEADER + 2 * i + 1] = len;
    }
    Ok(words)
}

/// One registration a `PATH_RESOLVE` answers: where to connect, the
/// server's handle, and how much of the path its prefix covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub pid: Pid,
    pub chid: i32,
    pub handle: u32,
    pub flags: u32,
    pub prefix_len: u16,
}

impl Resolved {
    pub const WORDS: usize = 3;

    pub fn to_words(self) -> [u64; Self::WORDS] {
        [
            self.pid as u32 as u64 | (self.chid as u32 as u64) << 32,
            self.handle as u64 | (self.flags as u64) << 32,
            self.prefix_len as u64,
        ]
    }

    pub fn from_words(w: &[u64]) -> Option<Self> {
        let w: &[u64; Self::WORDS] = w.get(..Self::WORDS)?.try_into().ok()?;
        Some(Resolved {
            pid: w[0] as u32 as Pid,
            chid: (w[0] >> 32) as u32 as i32,
            handle: w[1] as u32,
            flags: (w[1] >> 32) as u32,
            prefix_len: u16::try_from(w[2]).ok()?,
        })
    }
}

/// A path request's path: `len` bytes after word `at`, no NUL inside.
fn take_path(words: &[u64], at: usize) -> Result<&[u8], Errno> {
    let len = usize::try_from(word(words, at - 1)?).map_err(|_| EINVAL)?;
    if len > PATH_MAX_BYTES {
        return Err(crate::errno::ENAMETOOLONG);
    }
    let path = as_bytes(words.get(at..).unwrap_or(&[]))
        .get(..len)
        .ok_or(EINVAL)?;
    if path.contains(&0) {
        return Err(EINVAL);
    }
    Ok(path)
}

/// Writes a `PATH_ATTACH` request's words into `out`; answers how many.
pub fn encode_path_attach(
    out: &mut [u64],
    flags: u32,
    chid: i32,
    handle: u32,
    path: &[u8],
) -> Result<usize, Errno> {
    encode_path(out, &[flags as u64, chid as u64, handle as u64], path)
}

/// Writes a `PATH_RESOLVE` request's words into `out`; answers how many.
pub fn encode_path_resolve(out: &mut [u64], path: &[u8]) -> Result<usize, Errno> {
    encode_path(out, &[], path)
}

/// Writes a `DEVICE_FIND` request's words into `out`; answers how many.
pub fn encode_device_find(out: &mut [u64], index: u32, compatible: &[u8]) -> Result<usize, Errno> {
    encode_path(out, &[index as u64], compatible)
}

/// `DEVICE_FIND`'s interrupt word for a device without one.
pub const NO_IRQ: u64 = u64::MAX;

fn encode_path(out: &mut [u64], head: &[u64], path: &[u8]) -> Result<usize, Errno> {
    if path.len() > PATH_MAX_BYTES {
        return Err(crate::errno::ENAMETOOLONG);
    }
    if path.contains(&0) {
        return Err(EINVAL);
    }
    let at = head.len() + 1;
    let words = at + path.len().div_ceil(8);
    let out = out.get_mut(..words).ok_or(E2BIG)?;
    out.fill(0);
    out[..head.len()].copy_from_slice(head);
    out[head.len()] = path.len() as u64;
    for (i, &b) in path.iter().enumerate() {
        out[at + i / 8] |= (b as u64) << (i % 8 * 8);
    }
    Ok(words)
}

/// A spawn request: the program's path in the boot archive, its
/// arguments and environment, and where and how big it should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spawn<'a> {
    /// The core to run on; `None` lets taskman choose.
    pub core: Option<u64>,
    /// log2 of the untyped block to give the process; 0 for "just enough".
    pub block_bits: u8,
    /// The most the child may be granted: its program's grant is narrowed
    /// to this (and to the parent's); `Grant::ALL` narrows nothing.
    pub grant: Grant,
    pub path: &'a [u8],
    pub argv: Strings<'a>,
    pub envp: Strings<'a>,
}

/// `count` NUL-terminated strings laid end to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strings<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> Strings<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The strings, without their terminators.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let bytes = self.bytes;
        bytes.split(|&b| b == 0).take(self.count)
    }
}

/// Views message words as the bytes they carry.
fn as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: u8 has alignment 1 and every bit pattern is a valid u8; the
    // length covers exactly the words' storage.
    unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}

/// Splits off `count` NUL-terminated strings from the front of `bytes`.
fn take_strings(bytes: &[u8], count: usize) -> Result<(Strings<'_>, &[u8]), Errno> {
    let mut end = 0;
    for _ in 0..count {
        let len = bytes[end..].iter().position(|&b| b == 0).ok_or(EINVAL)?;
        end += len + 1;
    }
    Ok((
        Strings {
            bytes: &bytes[..end],
            count,
        },
        &bytes[end..],
    ))
}

fn word(words: &[u64], i: usize) -> Result<u64, Errno> {
    words.get(i).copied().ok_or(EINVAL)
}

/// A signed 32-bit argument; anything that does not fit is invalid.
fn int(words: &[u64], i: usize) -> Result<i32, Errno> {
    i32::try_from(word(words, i)? as i64).map_err(|_| EINVAL)
}

fn uint(words: &[u64], i: usize) -> Result<u32, Errno> {
    u32::try_from(word(words, i)?).map_err(|_| EINVAL)
}

/// Decodes the message with `label` and message registers `words` (as many
/// as the message's length says, at most `MAX_WORDS`).
pub fn decode(label: u64, words: &[u64]) -> Result<Request<'_>, Errno> {
    if words.len() > MAX_WORDS {
        return Err(E2BIG);
    }
    if label & !REPLY_ARGS_MASK == op::REPLY {
        return Ok(Request::Reply {
            reply: (label >> REPLY_OBJECT_SHIFT) as u8,
            tid: (label >> REPLY_TID_SHIFT) as u8 as i32,
            label: word(words, 0)?,
            words: &words[1..],
        });
    }
    match label {
        op::GETPID => Ok(Request::GetPid),
        op::EXIT => Ok(Request::Exit {
            status: word(words, 0)? as i32,
        }),
        op::WAITPID => Ok(Request::WaitPid {
            pid: int(words, 0)?,
            options: uint(words, 1)?,
        }),
        op::KILL => Ok(Request::Kill {
            pid: int(words, 0)?,
            signal: uint(words, 1)?,
        }),
        op::PAUSE => Ok(Request::Pause),
        op::CENSUS => Ok(Request::Census),
        op::SPAWN_PROFILE => Ok(Request::SpawnProfile),
        op::CHANNEL_CREATE => Ok(Request::ChannelCreate {
            flags: uint(words, 0)?,
        }),
        op::CHANNEL_DESTROY => Ok(Request::ChannelDestroy {
            chid: int(words, 0)?,
        }),
        op::CONNECT_ATTACH => Ok(Request::ConnectAttach {
            pid: int(words, 0)?,
            chid: int(words, 1)?,
            index: int(words, 2)?,
            flags: uint(words, 3)?,
        }),
        op::CONNECT_DETACH => Ok(Request::ConnectDetach {
            coid: int(words, 0)?,
        }),
        op::CONNECT_SERVER_INFO => Ok(Request::ConnectServerInfo {
            coid: int(words, 0)?,
        }),
        op::PULSE_SEND => Ok(Request::PulseSend {
            coid: int(words, 0)?,
            code: i8::try_from(int(words, 1)?).map_err(|_| EINVAL)?,
            value: uint(words, 2)?,
        }),
        op::PULSE_TAKE => Ok(Request::PulseTake {
            chid: int(words, 0)?,
        }),
        op::THREAD_CREATE => Ok(Request::ThreadCreate {
            entry: word(words, 0)?,
            function: word(words, 1)?,
            argument: word(words, 2)?,
        }),
        op::THREAD_EXIT => Ok(Request::ThreadExit {
            value: word(words, 0)?,
        }),
        op::THREAD_JOIN => Ok(Request::ThreadJoin {
            tid: int(words, 0)?,
        }),
        op::THREAD_STATE => Ok(Request::ThreadState {
            tid: int(words, 0)?,
        }),
        op::SPAWN => decode_spawn(words).map(Request::Spawn),
        op::PATH_ATTACH => Ok(Request::PathAttach {
            flags: uint(words, 0)?,
            chid: int(words, 1)?,
            handle: uint(words, 2)?,
            path: take_path(words, PATH_ATTACH_HEADER)?,
        }),
        op::PATH_DETACH => Ok(Request::PathDetach { id: int(words, 0)? }),
        op::LEASE => {
            let nsend = usize::try_from(word(words, 1)?).map_err(|_| EINVAL)?;
            let nrecv = usize::try_from(word(words, 2)?).map_err(|_| EINVAL)?;
            let send = take_regions(words, LEASE_HEADER, nsend)?;
            Ok(Request::Lease {
                coid: int(words, 0)?,
                send,
                recv: take_regions(words, LEASE_HEADER + send.len(), nrecv)?,
            })
        }
        op::UNLEASE => Ok(Request::Unlease {
            lease: u8::try_from(word(words, 0)?).map_err(|_| EINVAL)?,
        }),
        op::BULK_READ => Bulk::decode(words).map(Request::BulkRead),
        op::BULK_WRITE => Bulk::decode(words).map(Request::BulkWrite),
        op::CHANNEL_RECEIVE => Ok(Request::ChannelReceive {
            chid: int(words, 0)?,
            tid: int(words, 1)?,
        }),
        op::DELIVER_EVENT => Ok(Request::DeliverEvent {
            client: int(words, 0)?,
            scoid: int(words, 1)?,
            event: event_at(words, 2)?,
        }),
        op::CLOCK_INFO => Ok(Request::ClockInfo),
        op::TIMER_CREATE => Ok(Request::TimerCreate {
            clock: uint(words, 0)?,
            event: event_at(words, 1)?,
        }),
        op::TIMER_SETTIME => Ok(Request::TimerSettime {
            id: int(words, 0)?,
            flags: uint(words, 1)?,
            value: word(words, 2)?,
            interval: word(words, 3)?,
        }),
        op::TIMER_DESTROY => Ok(Request::TimerDestroy { id: int(words, 0)? }),
        op::TIMER_WAKE => Ok(Request::TimerWake {
            tid: int(words, 0)?,
            deadline: word(words, 1)?,
        }),
        op::SLEEP => Ok(Request::Sleep {
            deadline: word(words, 0)?,
        }),
        op::TIMER_CALL => Ok(Request::TimerCall {
            deadline: word(words, 0)?,
            pc: word(words, 1)?,
        }),
        op::THREAD_CONSUMED => Ok(Request::ThreadConsumed {
            tid: int(words, 0)?,
        }),
        op::PATH_RESOLVE => Ok(Request::PathResolve {
            path: take_path(words, 1)?,
        }),
        op::DEVICE_FIND => Ok(Request::DeviceFind {
            index: uint(words, 0)?,
            compatible: take_path(words, 2)?,
        }),
        op::MMAP_DEVICE => Ok(Request::MmapDevice {
            paddr: word(words, 0)?,
            len: word(words, 1)?,
            prot: uint(words, 2)?,
        }),
        op::MUNMAP_DEVICE => Ok(Request::MunmapDevice {
            vaddr: word(words, 0)?,
        }),
        op::INTERRUPT_ATTACH => Ok(Request::InterruptAttach {
            irq: uint(words, 0)?,
            event: event_at(words, 1)?,
        }),
        op::INTERRUPT_UNMASK => Ok(Request::InterruptUnmask { id: int(words, 0)? }),
        op::INTERRUPT_DETACH => Ok(Request::InterruptDetach { id: int(words, 0)? }),
        op::SIGNAL_ACTION => Ok(Request::SignalAction {
            signal: uint(words, 0)?,
            disposition: crate::signal::Disposition::from_word(word(words, 1)?).ok_or(EINVAL)?,
        }),
        op::SIGNAL_WAIT => Ok(Request::SignalWait),
        op::CONSOLE_CLAIM => Ok(Request::ConsoleClaim {
            chid: int(words, 0)?,
            event: event_at(words, 1)?,
        }),
        op::CONSOLE_TAKE => Ok(Request::ConsoleTake),
        _ => Err(ENOSYS),
    }
}

/// The `struct sigevent` in the four words from `at`.
fn event_at(words: &[u64], at: usize) -> Result<SigEvent, Errno> {
    SigEvent::from_words([
        word(words, at)?,
        word(words, at + 1)?,
        word(words, at + 2)?,
        word(words, at + 3)?,
    ])
}

fn decode_spawn(words: &[u64]) -> Result<Spawn<'_>, Errno> {
    let core = match word(words, 0)? {
        ANY_CORE => None,
        c => Some(c),
    };
    let block_bits = u8::try_from(word(words, 1)?).map_err(|_| EINVAL)?;
    let argc = usize::try_from(word(words, 2)?).map_err(|_| EINVAL)?;
    let envc = usize::try_from(word(words, 3)?).map_err(|_| EINVAL)?;
    let len = usize::try_from(word(words, 4)?).map_err(|_| EINVAL)?;
    // Abilities in the low half, devices in the high half.
    let powers = word(words, 5)?;
    let limit = |i: usize| word(words, 6 + i);
    let grant = Grant {
        abilities: Abilities::from_bits(powers as u32),
        devices: Devices::from_bits((powers >> 32) as u32),
        limits: Limits {
            budget: limit(0)?,
            threads: limit(1)?,
            channels: limit(2)?,
            connections: limit(3)?,
            children: limit(4)?,
        },
    };
    let carried = as_bytes(words.get(SPAWN_HEADER..).unwrap_or(&[]));
    let bytes = carried.get(..len).ok_or(EINVAL)?;
    // Each string needs at least its terminator, which also bounds the
    // counts before any loop runs over them.
    if argc.saturating_add(envc).saturating_add(1) > len {
        return Err(EINVAL);
    }
    let (path, rest) = take_strings(bytes, 1)?;
    let (argv, rest) = take_strings(rest, argc)?;
    let (envp, rest) = take_strings(rest, envc)?;
    if !rest.is_empty() {
        return Err(EINVAL);
    }
    let path = path.iter().next().unwrap_or(&[]);
    Ok(Spawn {
        core,
        block_bits,
        grant,
        path,
        argv,
        envp,
    })
}

/// Writes a spawn request's words into `out` (the message registers);
/// answers how many words the message has. `E2BIG` if the strings do not
/// fit in one message, `EINVAL` if a string contains a NUL.
pub fn encode_spawn<'a, 'e>(
    out: &mut [u64],
    core: Option<u64>,
    block_bits: u8,
    grant: Grant,
    path: &[u8],
    argv: impl IntoIterator<Item = &'a [u8]>,
    envp: impl IntoIterator<Item = &'e [u8]>,
) -> Result<usize, Errno> {
    let out = out.get_mut(..MAX_WORDS).ok_or(E2BIG)?;
    let (head, body) = out.split_at_mut(SPAWN_HEADER);
    let mut packer = Packer { out: body, len: 0 };
    packer.string(path)?;
    let mut argc = 0;
    for a in argv {
        packer.string(a)?;
        argc += 1;
    }
    let mut envc = 0;
    for e in envp {
        packer.string(e)?;
        envc += 1;
    }
    let len = packer.len;
    let l = grant.limits;
    head.copy_from_slice(&[
        core.unwrap_or(ANY_CORE),
        block_bits as u64,
        argc,
        envc,
        len as u64,
        grant.abilities.bits() as u64 | (grant.devices.bits() as u64) << 32,
        l.budget,
        l.threads,
        l.channels,
        l.connections,
        l.children,
    ]);
    Ok(SPAWN_HEADER + len.div_ceil(8))
}

/// Packs bytes little-endian into words.
struct Packer<'o> {
    out: &'o mut [u64],
    len: usize,
}

impl Packer<'_> {
    fn byte(&mut self, b: u8) -> Result<(), Errno> {
        let w = self.out.get_mut(self.len / 8).ok_or(E2BIG)?;
        let shift = (self.len % 8) * 8;
        *w = (*w & !(0xff << shift)) | (b as u64) << shift;
        self.len += 1;
        Ok(())
    }

    fn string(&mut self, s: &[u8]) -> Result<(), Errno> {
        if s.contains(&0) {
            return Err(EINVAL);
        }
        s.iter().try_for_each(|&b| self.byte(b))?;
        self.byte(0)
    }
}

/// Where taskman's spawn and teardown time goes, in cycle-counter ticks
/// summed over a window (`op::SPAWN_PROFILE`): what a benchmark needs to
/// see which phase to make cheaper next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpawnProfile {
    /// Spawns that succeeded in the window.
    pub spawns: u64,
    /// Ticks per phase, in [`SpawnPhase`] order.
    pub ticks: [u64; SpawnPhase::COUNT],
}

/// The phases of a spawn and of the teardown after its exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnPhase {
    /// Reading the ELF, planning objects and pages, building the stack.
    Plan,
    /// Retyping the objects from the block, the ASID, the capabilities.
    Retype,
    /// Filling the pages that are not the archive's own frames.
    Copy,
    /// Mapping pages and page tables.
    Map,
    /// Configuring the thread, its time and registers, and resuming it.
    Start,
    /// Pages mapped on first touch while the process ran.
    Demand,
    /// Revoking the block when the process ended.
    Teardown,
}

impl SpawnPhase {
    pub const COUNT: usize = 7;
    pub const ALL: [SpawnPhase; Self::COUNT] = [
        SpawnPhase::Plan,
        SpawnPhase::Retype,
        SpawnPhase::Copy,
        SpawnPhase::Map,
        SpawnPhase::Start,
        SpawnPhase::Demand,
        SpawnPhase::Teardown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SpawnPhase::Plan => "plan",
            SpawnPhase::Retype => "retype",
            SpawnPhase::Copy => "copy",
            SpawnPhase::Map => "map",
            SpawnPhase::Start => "start",
            SpawnPhase::Demand => "demand",
            SpawnPhase::Teardown => "teardown",
        }
    }
}

impl SpawnProfile {
    pub const WORDS: usize = 1 + SpawnPhase::COUNT;

    pub fn add(&mut self, phase: SpawnPhase, ticks: u64) {
        let t = &mut self.ticks[phase as usize];
        *t = t.saturating_add(ticks);
    }

    pub fn to_words(&self) -> [u64; Self::WORDS] {
        let mut w = [0; Self::WORDS];
        w[0] = self.spawns;
        w[1..].copy_from_slice(&self.ticks);
        w
    }

    pub fn from_words(w: &[u64; Self::WORDS]) -> Self {
        let mut ticks = [0; SpawnPhase::COUNT];
        ticks.copy_from_slice(&w[1..]);
        SpawnProfile {
            spawns: w[0],
            ticks,
        }
    }
}

/// What a census reply carries: taskman's accounting of its own CSpace and
/// of untyped memory, each both as its bookkeeping says and as the kernel
/// reports it. Leak tests compare two censuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Occupied slots in taskman's CSpace, counted with `DebugCapIdentify`.
    pub kernel_slots: u64,
    /// Of those, the slots holding untyped caps (boot untypeds and the
    /// pool's split halves).
    pub kernel_untyped_slots: u64,
    /// Slots taskman's allocator has handed out.
    pub allocator_slots: u64,
    /// Of those, the untyped caps of split halves the pool keeps; big
    /// blocks stay split after use, so this may change without a leak.
    pub pool_split_caps: u64,
    /// Free bytes in the untyped pool, by the pool's bookkeeping.
    pub pool_free_bytes: u64,
    /// Free bytes in the pool that the kernel agreed to retype.
    pub kernel_free_bytes: u64,
    /// All bytes the pool manages.
    pub pool_total_bytes: u64,
    /// log2 of the largest free block, 0 if none.
    pub largest_free_bits: u64,
    /// Processes alive or zombie.
    pub processes: u64,
    /// Reply objects taskman keeps for reuse: one for each process that
    /// was ever blocked in `waitpid` or `pause` at the same time as others.
    pub spare_replies: u64,
    /// Occupied slots in the processes' own CSpace roots (connections,
    /// Receive caps, reply objects, ...), counted with `DebugCapIdentify`.
    pub process_slots: u64,
    /// Bytes of taskman's heap in use.
    pub heap_used_bytes: u64,
    /// Bytes mapped for taskman's grown heap, taken from the pool and kept.
    pub heap_mapped_bytes: u64,
    /// Channels in taskman's table.
    pub channels: u64,
    /// Connections of all processes, side channels and stdio included.
    pub connections: u64,
    /// Threads of all processes after their first.
    pub threads: u64,
    /// ASID pools taskman has made (each an object cap and an untyped cap
    /// it keeps for reuse).
    pub asid_pools: u64,
    /// Large pages mapped for taskman's heap (each an object cap, kept).
    pub heap_pages: u64,
    /// Timers, sleeps and receive timeouts in taskman's timer table.
    pub timers: u64,
}

impl Census {
    pub const WORDS: usize = 19;

    pub fn to_words(&self) -> [u64; Self::WORDS] {
        [
            self.kernel_slots,
            self.kernel_untyped_slots,
            self.allocator_slots,
            self.pool_split_caps,
            self.pool_free_bytes,
            self.kernel_free_bytes,
            self.pool_total_bytes,
            self.largest_free_bits,
            self.processes,
            self.spare_replies,
            self.process_slots,
            self.heap_used_bytes,
            self.heap_mapped_bytes,
            self.channels,
            self.connections,
            self.threads,
            self.asid_pools,
            self.heap_pages,
            self.timers,
        ]
    }

    pub fn from_words(w: &[u64; Self::WORDS]) -> Self {
        Self {
            kernel_slots: w[0],
            kernel_untyped_slots: w[1],
            allocator_slots: w[2],
            pool_split_caps: w[3],
            pool_free_bytes: w[4],
            kernel_free_bytes: w[5],
            pool_total_bytes: w[6],
            largest_free_bits: w[7],
            processes: w[8],
            spare_replies: w[9],
            process_slots: w[10],
            heap_used_bytes: w[11],
            heap_mapped_bytes: w[12],
            channels: w[13],
            connections: w[14],
            threads: w[15],
            asid_pools: w[16],
            heap_pages: w[17],
            timers: w[18],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const NARROW: Grant = Grant {
        abilities: Abilities::CENSUS,
        limits: Limits {
            threads: 3,
            ..Limits::MAX
        },
        devices: Devices::from_bits(0x8000_0001),
    };

    fn spawn_words(path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Vec<u64> {
        let mut out = [0; MAX_WORDS];
        let n = encode_spawn(
            &mut out,
            Some(2),
            16,
            NARROW,
            path,
            argv.iter().copied(),
            envp.iter().copied(),
        )
        .unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn spawn_round_trips() {
        let words = spawn_words(b"/bin/x", &[b"x", b"", b"two words"], &[b"A=1"]);
        let Request::Spawn(s) = decode(op::SPAWN, &words).unwrap() else {
            panic!("not a spawn")
        };
        assert_eq!(
            (s.core, s.block_bits, s.path),
            (Some(2), 16, &b"/bin/x"[..])
        );
        assert_eq!(s.grant, NARROW);
        assert_eq!(
            s.argv.iter().collect::<Vec<_>>(),
            [&b"x"[..], b"", b"two words"]
        );
        assert_eq!(s.envp.iter().collect::<Vec<_>>(), [&b"A=1"[..]]);
    }

    #[test]
    fn spawn_with_nothing_but_a_path() {
        let words = spawn_words(b"/p", &[], &[]);
        let Ok(Request::Spawn(s)) = decode(op::SPAWN, &words) else {
            panic!()
        };
        assert!(s.argv.is_empty() && s.envp.is_empty());
        assert_eq!(s.core, Some(2));
    }

    #[test]
    fn too_much_for_one_message_is_e2big() {
        let big = [b'a'; SPAWN_MAX_BYTES];
        let mut out = [0; MAX_WORDS];
        let none: [&[u8]; 0] = [];
        assert_eq!(
            encode_spawn(&mut out, None, 0, Grant::ALL, &big, none, none),
            Err(E2BIG)
        );
        let fits = [b'a'; SPAWN_MAX_BYTES - 1];
        assert_eq!(
            encode_spawn(&mut out, None, 0, Grant::ALL, &fits, none, none),
            Ok(MAX_WORDS)
        );
    }

    #[test]
    fn nul_inside_a_string_is_rejected() {
        let mut out = [0; MAX_WORDS];
        let none: [&[u8]; 0] = [];
        assert_eq!(
            encode_spawn(&mut out, None, 0, Grant::ALL, b"a\0b", none, none),
            Err(EINVAL)
        );
    }

    #[test]
    fn malformed_spawns_are_einval() {
        let good = spawn_words(b"/bin/x", &[b"x"], &[b"A=1"]);
        let mut cases: Vec<Vec<u64>> = Vec::new();
        // Too short for the header.
        cases.push(good[..3].to_vec());
        // More strings claimed than carried.
        let mut more = good.clone();
        more[2] = 5;
        cases.push(more);
        // Counts so large they would overflow.
        let mut huge = good.clone();
        huge[2] = u64::MAX;
        huge[3] = u64::MAX;
        cases.push(huge);
        // Byte length beyond the message.
        let mut long = good.clone();
        long[4] = 10_000;
        cases.push(long);
        // Trailing bytes after the last string.
        let mut trailing = good.clone();
        trailing[4] += 1;
        cases.push(trailing);
        // Block size that is not a byte.
        let mut bits = good.clone();
        bits[1] = 300;
        cases.push(bits);
        // Last string without its terminator.
        let mut cut = good.clone();
        cut[4] -= 1;
        cases.push(cut);
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(decode(op::SPAWN, c), Err(EINVAL), "case {i}");
        }
    }

    #[test]
    fn other_requests_decode_and_check_ranges() {
        assert_eq!(decode(op::GETPID, &[]), Ok(Request::GetPid));
        assert_eq!(decode(op::EXIT, &[7]), Ok(Request::Exit { status: 7 }));
        assert_eq!(
            decode(op::WAITPID, &[(-1i64) as u64, 1]),
            Ok(Request::WaitPid {
                pid: -1,
                options: 1
            })
        );
        assert_eq!(decode(op::WAITPID, &[1 << 40, 0]), Err(EINVAL));
        assert_eq!(decode(op::KILL, &[3]), Err(EINVAL));
        assert_eq!(decode(op::EXIT, &[]), Err(EINVAL));
        assert_eq!(decode(0, &[]), Err(ENOSYS));
        assert_eq!(decode(3, &[0]), Err(ENOSYS));
        assert_eq!(decode(u64::MAX, &[1, 2, 3]), Err(ENOSYS));
        assert_eq!(decode(op::GETPID, &[0; MAX_WORDS + 1]), Err(E2BIG));
    }

    #[test]
    fn ipc_requests_decode_and_check_ranges() {
        assert_eq!(
            decode(op::CONNECT_ATTACH, &[0, 5, (-1i64) as u64, 0]),
            Ok(Request::ConnectAttach {
                pid: 0,
                chid: 5,
                index: -1,
                flags: 0
            })
        );
        assert_eq!(decode(op::CONNECT_ATTACH, &[0, 5, 0]), Err(EINVAL));
        assert_eq!(
            decode(op::PULSE_SEND, &[3, (-33i64) as u64, 9]),
            Ok(Request::PulseSend {
                coid: 3,
                code: -33,
                value: 9
            })
        );
        assert_eq!(decode(op::PULSE_SEND, &[3, 200, 9]), Err(EINVAL));
        assert_eq!(decode(op::PULSE_SEND, &[3, 1, 1 << 33]), Err(EINVAL));
        assert_eq!(decode(op::CHANNEL_CREATE, &[1 << 32]), Err(EINVAL));
        assert_eq!(decode(op::CHANNEL_CREATE, &[]), Err(EINVAL));
        assert_eq!(
            decode(op::CHANNEL_CREATE, &[8]),
            Ok(Request::ChannelCreate { flags: 8 })
        );
        assert_eq!(
            decode(op::CHANNEL_DESTROY, &[7]),
            Ok(Request::ChannelDestroy { chid: 7 })
        );
        assert_eq!(decode(op::PULSE_TAKE, &[]), Err(EINVAL));
    }

    #[test]
    fn time_requests_decode() {
        let e = SigEvent::pulse(4, -1, 9, 5);
        let w = e.to_words();
        assert_eq!(
            decode(op::TIMER_CREATE, &[2, w[0], w[1], w[2], w[3]]),
            Ok(Request::TimerCreate { clock: 2, event: e })
        );
        assert_eq!(decode(op::TIMER_CREATE, &w), Err(EINVAL));
        assert_eq!(
            decode(op::TIMER_SETTIME, &[3, 0x8000_0000, 1_000, 0]),
            Ok(Request::TimerSettime {
                id: 3,
                flags: 0x8000_0000,
                value: 1_000,
                interval: 0
            })
        );
        assert_eq!(decode(op::TIMER_SETTIME, &[1 << 40, 0, 1, 0]), Err(EINVAL));
        assert_eq!(
            decode(op::TIMER_WAKE, &[2, 9]),
            Ok(Request::TimerWake {
                tid: 2,
                deadline: 9
            })
        );
        assert_eq!(
            decode(op::SLEEP, &[u64::MAX]),
            Ok(Request::Sleep { deadline: u64::MAX })
        );
        assert!(needs_thread(op::SLEEP) && !needs_thread(op::TIMER_WAKE));
        assert_eq!(decode(op::CLOCK_INFO, &[]), Ok(Request::ClockInfo));
        assert_eq!(
            decode(op::THREAD_CONSUMED, &[1]),
            Ok(Request::ThreadConsumed { tid: 1 })
        );
        assert_eq!(decode(op::TIMER_DESTROY, &[]), Err(EINVAL));
    }

    #[test]
    fn signal_requests_decode() {
        assert_eq!(
            decode(op::SIGNAL_ACTION, &[15, 2]),
            Ok(Request::SignalAction {
                signal: 15,
                disposition: crate::signal::Disposition::Catch
            })
        );
        assert_eq!(decode(op::SIGNAL_ACTION, &[15, 3]), Err(EINVAL));
        assert_eq!(decode(op::SIGNAL_ACTION, &[15]), Err(EINVAL));
        assert_eq!(decode(op::SIGNAL_WAIT, &[]), Ok(Request::SignalWait));
        let e = SigEvent::pulse(3, 10, 20, 30).to_words();
        assert_eq!(
            decode(op::CONSOLE_CLAIM, &[4, e[0], e[1], e[2], e[3]]),
            Ok(Request::ConsoleClaim {
                chid: 4,
                event: SigEvent::pulse(3, 10, 20, 30)
            })
        );
        assert_eq!(decode(op::CONSOLE_CLAIM, &[4, e[0]]), Err(EINVAL));
        assert!(needs_thread(op::SIGNAL_WAIT));
        assert!(needs_thread(op::TIMER_CALL));
        assert_eq!(
            decode(op::TIMER_CALL, &[5, 0x1000]),
            Ok(Request::TimerCall {
                deadline: 5,
                pc: 0x1000
            })
        );
        assert_eq!(decode(op::TIMER_CALL, &[5]), Err(EINVAL));
    }

    #[test]
    fn device_requests_decode() {
        let mut out = [0; MAX_WORDS];
        let n = encode_device_find(&mut out, 3, b"virtio,mmio").unwrap();
        assert_eq!(
            decode(op::DEVICE_FIND, &out[..n]),
            Ok(Request::DeviceFind {
                index: 3,
                compatible: b"virtio,mmio"
            })
        );
        assert_eq!(decode(op::DEVICE_FIND, &out[..1]), Err(EINVAL));
        assert_eq!(
            decode(op::MMAP_DEVICE, &[0x1000_0000, 0x100, 3]),
            Ok(Request::MmapDevice {
                paddr: 0x1000_0000,
                len: 0x100,
                prot: 3
            })
        );
        assert_eq!(decode(op::MMAP_DEVICE, &[1, 2]), Err(EINVAL));
        let e = SigEvent::pulse(3, 10, 20, 30).to_words();
        assert_eq!(
            decode(op::INTERRUPT_ATTACH, &[10, e[0], e[1], e[2], e[3]]),
            Ok(Request::InterruptAttach {
                irq: 10,
                event: SigEvent::pulse(3, 10, 20, 30)
            })
        );
        assert_eq!(
            decode(op::INTERRUPT_ATTACH, &[1 << 40, e[0], e[1], e[2], e[3]]),
            Err(EINVAL)
        );
        assert_eq!(
            decode(op::INTERRUPT_UNMASK, &[2]),
            Ok(Request::InterruptUnmask { id: 2 })
        );
        assert_eq!(decode(op::INTERRUPT_DETACH, &[]), Err(EINVAL));
        assert_eq!(
            decode(op::MUNMAP_DEVICE, &[7]),
            Ok(Request::MunmapDevice { vaddr: 7 })
        );
    }

    #[test]
    fn event_requests_decode_and_pulse_takes_round_trip() {
        let e = SigEvent::pulse(4, -1, 9, 1 << 40);
        let w = e.to_words();
        assert_eq!(
            decode(op::DELIVER_EVENT, &[7, 3, w[0], w[1], w[2], w[3]]),
            Ok(Request::DeliverEvent {
                client: 7,
                scoid: 3,
                event: e
            })
        );
        assert_eq!(decode(op::DELIVER_EVENT, &[7, 3, w[0]]), Err(EINVAL));
        assert_eq!(
            decode(op::CHANNEL_RECEIVE, &[5, 2]),
            Ok(Request::ChannelReceive { chid: 5, tid: 2 })
        );
        assert_eq!(decode(op::CHANNEL_RECEIVE, &[5, 1 << 40]), Err(EINVAL));
        let taken = PulseTaken {
            pulse: Some(Pulse {
                code: -3,
                value: u64::MAX,
                scoid: 12,
            }),
            pending: 1 << 63 | 5,
        };
        assert_eq!(PulseTaken::from_words(&taken.to_words()), taken);
        let none = PulseTaken {
            pulse: None,
            pending: 2,
        };
        assert_eq!(PulseTaken::from_words(&none.to_words()), none);
        assert_eq!(PulseTaken::from_words(&[]), PulseTaken::default());
    }

    #[test]
    fn thread_requests_decode_and_check_ranges() {
        assert_eq!(
            decode(op::THREAD_CREATE, &[0x1000, 0x2000, u64::MAX]),
            Ok(Request::ThreadCreate {
                entry: 0x1000,
                function: 0x2000,
                argument: u64::MAX
            })
        );
        assert_eq!(decode(op::THREAD_CREATE, &[0x1000, 0x2000]), Err(EINVAL));
        assert_eq!(
            decode(op::THREAD_EXIT, &[42]),
            Ok(Request::ThreadExit { value: 42 })
        );
        assert_eq!(decode(op::THREAD_JOIN, &[1 << 40]), Err(EINVAL));
        // Only these act on the caller's thread, so only these need the
        // trap that names it.
        let all = (0..32).map(|n| op::TAG | n);
        let thread_ops: Vec<u64> = all.filter(|&l| needs_thread(l)).collect();
        assert_eq!(
            thread_ops,
            [op::CHANNEL_CREATE, op::THREAD_EXIT, op::THREAD_JOIN]
        );
    }

    #[test]
    fn reply_requests_carry_their_object_and_thread() {
        match decode(reply_op(5, 17), &[7, 1, 2]) {
            Ok(Request::Reply {
                reply: 5,
                tid: 17,
                label: 7,
                words,
            }) => assert_eq!(words, &[1, 2]),
            other => panic!("{other:?}"),
        }
        assert_eq!(decode(reply_op(5, 17), &[]), Err(EINVAL));
        assert_eq!(decode(op::REPLY | 1 << 30, &[0]), Err(ENOSYS));
    }

    #[test]
    fn decoding_garbage_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let good = spawn_words(b"/bin/x", &[b"x", b"y"], &[b"A=1"]);
        for _ in 0..20_000 {
            let label = match next() % 3 {
                0 => next(),
                _ => op::TAG | (next() % 28),
            };
            let len = (next() % (MAX_WORDS as u64 + 2)) as usize;
            let mut words: Vec<u64> = (0..len).map(|_| next()).collect();
            if next() % 2 == 0 {
                // Mostly-valid spawns with one word changed reach deeper.
                words = good.clone();
                let i = (next() as usize) % words.len();
                words[i] = match next() % 3 {
                    0 => next(),
                    1 => next() % 64,
                    _ => words[i].wrapping_add(1),
                };
            }
            let _ = decode(label, &words);
        }
    }

    #[test]
    fn path_requests_round_trip_and_refuse_bad_paths() {
        let mut out = [0u64; MAX_WORDS];
        let n = encode_path_attach(&mut out, 0x100, 5, 9, b"/dev/null").unwrap();
        assert_eq!(n, 4 + 2);
        assert_eq!(
            decode(op::PATH_ATTACH, &out[..n]),
            Ok(Request::PathAttach {
                flags: 0x100,
                chid: 5,
                handle: 9,
                path: b"/dev/null"
            })
        );
        let n = encode_path_resolve(&mut out, b"/").unwrap();
        assert_eq!(
            decode(op::PATH_RESOLVE, &out[..n]),
            Ok(Request::PathResolve { path: b"/" })
        );
        // A length past the words, a NUL inside, too long.
        assert_eq!(decode(op::PATH_RESOLVE, &[9, 0]), Err(EINVAL));
        assert_eq!(decode(op::PATH_RESOLVE, &[2, 0x2f00]), Err(EINVAL));
        let long = [b'a'; PATH_MAX_BYTES + 1];
        assert!(encode_path_resolve(&mut out, &long).is_err());
        assert_eq!(
            decode(op::PATH_RESOLVE, &[PATH_MAX_BYTES as u64 + 1]),
            Err(crate::errno::ENAMETOOLONG)
        );
        let r = Resolved {
            pid: 3,
            chid: -1,
            handle: 7,
            flags: 0x100,
            prefix_len: 4,
        };
        assert_eq!(Resolved::from_words(&r.to_words()), Some(r));
    }

    #[test]
    fn leases_and_bulk_copies_round_trip() {
        let mut out = [0u64; MAX_WORDS];
        let n = encode_lease(&mut out, 4, &[(0x1000, 10), (0x3000, 5)], &[(0x9000, 99)]).unwrap();
        assert_eq!(
            decode(op::LEASE, &out[..n]),
            Ok(Request::Lease {
                coid: 4,
                send: &[0x1000, 10, 0x3000, 5],
                recv: &[0x9000, 99],
            })
        );
        assert_eq!(decode(op::LEASE, &out[..n - 1]), Err(EINVAL), "a pair cut");
        assert_eq!(decode(op::LEASE, &[4, 9, 0]), Err(E2BIG));
        let too_many = [(0, 0); MAX_LEASE_REGIONS + 1];
        assert_eq!(encode_lease(&mut out, 4, &too_many, &[]), Err(E2BIG));
        let b = Bulk {
            client: 3,
            scoid: 1027,
            lease: 33,
            offset: 960,
            addr: 0x5000,
            len: 1 << 20,
        };
        assert_eq!(
            decode(op::BULK_READ, &b.to_words()),
            Ok(Request::BulkRead(b))
        );
        assert_eq!(
            decode(op::BULK_WRITE, &b.to_words()),
            Ok(Request::BulkWrite(b))
        );
        assert_eq!(decode(op::UNLEASE, &[256]), Err(EINVAL));
    }

    #[test]
    fn spawn_profile_round_trips_in_phase_order() {
        let mut p = SpawnProfile {
            spawns: 3,
            ..Default::default()
        };
        for (i, phase) in SpawnPhase::ALL.into_iter().enumerate() {
            assert_eq!(phase as usize, i);
            p.add(phase, 10 + i as u64);
        }
        p.add(SpawnPhase::Map, u64::MAX);
        let w = p.to_words();
        assert_eq!(w[0], 3);
        assert_eq!(w[1 + SpawnPhase::Map as usize], u64::MAX);
        assert_eq!(SpawnProfile::from_words(&w), p);
        assert_eq!(decode(op::SPAWN_PROFILE, &[]), Ok(Request::SpawnProfile));
    }

    #[test]
    fn census_round_trips() {
        let c = Census {
            kernel_slots: 1,
            kernel_untyped_slots: 2,
            allocator_slots: 3,
            pool_split_caps: 4,
            pool_free_bytes: 5,
            kernel_free_bytes: 6,
            pool_total_bytes: 7,
            largest_free_bits: 8,
            processes: 9,
            spare_replies: 10,
            process_slots: 11,
            heap_used_bytes: 12,
            heap_mapped_bytes: 13,
            channels: 14,
            connections: 15,
            threads: 16,
            asid_pools: 17,
            heap_pages: 18,
            timers: 19,
        };
        assert_eq!(Census::from_words(&c.to_words()), c);
        assert_eq!(c.to_words(), core::array::from_fn(|i| i as u64 + 1));
    }
}
