//! Events on every channel: pulses reach whichever thread receives on a
//! channel, `MsgDeliverEvent` delivers a client's `struct sigevent`, and a
//! server holds as many unreplied clients as its quota gives.

use super::ipc::{expect_err, peer, reap};
use super::{census, no_leak, Outcome, Why};
use core::fmt::Write;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use libqsoe::abi as qsoe_abi;
use libqsoe::errno::{Errno, EBADF, EBUSY, EINVAL, ENOTSUP, ESRCH};
use libqsoe::fmt::FmtBuf;
use libqsoe::neutrino::*;
use libqsoe::taskman;
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::Pid;
use qsoe_abi::event::{notify, SigEvent};
use qsoe_abi::ipc::{Pulse, PULSE_BYTES};
use qsoe_abi::wire::op;

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), Errno::name(e)),
        }
    };
}

/// Receives on `chid` until a pulse comes; `None` on an error or a message.
fn receive_pulse(chid: i32) -> Option<Pulse> {
    let mut buf = [0u8; PULSE_BYTES];
    match MsgReceive(chid, &mut buf, None) {
        Ok(0) => Some(Pulse::from_bytes(&buf)),
        _ => None,
    }
}

/// Sends a pulse, waiting while the channel's queue is full.
fn pulse(coid: i32, code: i8, value: u32) -> Result<(), Errno> {
    loop {
        match MsgSendPulse(coid, 10, code, value) {
            Err(libqsoe::errno::EAGAIN) => sel4_sys::yield_now(),
            r => return r,
        }
    }
}

/// Pool pulses carry `WORK`; `STOP` ends a worker.
const WORK: i8 = 2;
const STOP: i8 = 3;
static POOL_SUM: AtomicU64 = AtomicU64::new(0);

/// A pool thread: takes pulses from channel `chid` (which another thread
/// made) until `STOP`; answers how many `WORK` pulses it took, or
/// `usize::MAX` on an error.
extern "C" fn pool_worker(chid: usize) -> usize {
    let mut taken = 0;
    loop {
        match receive_pulse(chid as i32) {
            Some(p) if p.code == WORK => {
                POOL_SUM.fetch_add(p.value, Ordering::AcqRel);
                taken += 1;
            }
            Some(p) if p.code == STOP => return taken,
            _ => return usize::MAX,
        }
    }
}

static CHANNEL_A: AtomicI32 = AtomicI32::new(0);
static CHANNEL_B: AtomicI32 = AtomicI32::new(0);

/// Receives on A, then on B, then on A again; answers the three pulse
/// values as digits. The second pulse on A rings this thread while it
/// waits on B, so only what that wake-up learned brings it back.
extern "C" fn a_b_a(_: usize) -> usize {
    let (a, b) = (
        CHANNEL_A.load(Ordering::Acquire),
        CHANNEL_B.load(Ordering::Acquire),
    );
    let mut digits = 0;
    for chid in [a, b, a] {
        match receive_pulse(chid) {
            Some(p) => digits = digits * 10 + p.value as usize,
            None => return usize::MAX,
        }
    }
    digits
}

pub fn pulse_any_channel() -> Outcome {
    // Warm up: as many channel cells and threads at once as below (cells
    // stay, and split pool blocks stay split).
    POOL_SUM.store(0, Ordering::Release);
    let cells = [(); 5].map(|()| ChannelCreate(0));
    for chid in cells {
        ok!(ChannelDestroy(ok!(chid)));
    }
    let warm = ok!(ChannelCreate(0));
    let mut workers = [0; 3];
    for w in workers.iter_mut() {
        *w = ok!(ThreadCreate(0, pool_worker, warm as usize));
    }
    let to_warm = ok!(ConnectAttach(0, taskman::getpid(), warm, 0, 0));
    for _ in workers {
        ok!(pulse(to_warm, STOP, 0));
    }
    for w in workers {
        ok!(ThreadJoin(w));
    }
    ok!(ConnectDetach(to_warm));
    ok!(ChannelDestroy(warm));
    let before = census()?;
    let me = taskman::getpid();
    // A thread's second channel gets pulses too.
    let first = ok!(ChannelCreate(0));
    let second = ok!(ChannelCreate(0));
    let to_second = ok!(ConnectAttach(0, me, second, 0, 0));
    ok!(pulse(to_second, 1, 11));
    match receive_pulse(second) {
        Some(p) if p.code == 1 && p.value == 11 && p.scoid == to_second => {}
        other => fail!("the second channel's pulse: {other:?}"),
    }
    ok!(ConnectDetach(to_second));

    // A pool of threads that did not make the channel shares its pulses:
    // each taken once, by whichever thread was receiving.
    let pool = ok!(ChannelCreate(0));
    let to_pool = ok!(ConnectAttach(0, me, pool, 0, 0));
    POOL_SUM.store(0, Ordering::Release);
    let mut workers = [0; 3];
    for w in workers.iter_mut() {
        *w = ok!(ThreadCreate(0, pool_worker, pool as usize));
    }
    const PULSES: u32 = 60;
    for v in 1..=PULSES {
        ok!(pulse(to_pool, WORK, v));
    }
    for _ in workers {
        ok!(pulse(to_pool, STOP, 0));
    }
    let mut taken = [0; 3];
    for (t, &w) in taken.iter_mut().zip(&workers) {
        *t = ok!(ThreadJoin(w));
    }
    let sum = POOL_SUM.load(Ordering::Acquire);
    let total: usize = taken.iter().sum();
    let want = (PULSES * (PULSES + 1) / 2) as u64;
    if total != PULSES as usize || sum != want {
        fail!("the pool took {taken:?} pulses summing to {sum}, not {PULSES} summing to {want}");
    }
    ok!(ConnectDetach(to_pool));

    // A pulse that rings a thread waiting on another channel waits for
    // that thread's next receive on its own channel.
    let a = ok!(ChannelCreate(0));
    let b = ok!(ChannelCreate(0));
    CHANNEL_A.store(a, Ordering::Release);
    CHANNEL_B.store(b, Ordering::Release);
    let (to_a, to_b) = (
        ok!(ConnectAttach(0, me, a, 0, 0)),
        ok!(ConnectAttach(0, me, b, 0, 0)),
    );
    let worker = ok!(ThreadCreate(0, a_b_a, 0));
    ok!(pulse(to_a, 4, 1));
    for _ in 0..100 {
        sel4_sys::yield_now();
    }
    ok!(pulse(to_a, 4, 2));
    for _ in 0..100 {
        sel4_sys::yield_now();
    }
    ok!(pulse(to_b, 4, 3));
    let digits = ok!(ThreadJoin(worker));
    if digits != 132 {
        fail!("A, B, A received {digits}, not 1, 3, 2");
    }
    for coid in [to_a, to_b] {
        ok!(ConnectDetach(coid));
    }
    for chid in [first, second, pool, a, b] {
        ok!(ChannelDestroy(chid));
    }
    no_leak(&before, false)
}

/// `ipc-peer event-client`'s value.
const EVENT_VALUE: u64 = 0x1234_5678_9abc_def0;

/// A `DELIVER_EVENT` request straight on the side channel, naming any
/// client: answers taskman's errno, if any.
fn forged_delivery(client: Pid, scoid: i32, event: &SigEvent) -> Result<(), Errno> {
    let w = event.to_words();
    let words = [client as u64, scoid as u64, w[0], w[1], w[2], w[3]];
    // SAFETY: this thread's IPC buffer; words 4 and 5 travel there.
    unsafe {
        let buffer = &mut *sel4_sys::ipc_buffer();
        buffer.msg[4] = words[4];
        buffer.msg[5] = words[5];
    }
    let info = sel4_sys::MessageInfo::new(op::DELIVER_EVENT, 0, 0, 6);
    let answer = sel4_sys::call(
        qsoe_abi::layout::slot::TASKMAN,
        info,
        [words[0], words[1], words[2], words[3]],
    );
    match answer.info.label() {
        0 => Ok(()),
        l => match qsoe_abi::ipc::decode_answer(l) {
            qsoe_abi::ipc::Answer::Error(e) => Err(e),
            _ => Err(Errno(0)),
        },
    }
}

pub fn deliver_event_pulse() -> Outcome {
    // Counted with the channel: the first one made this process's reply
    // objects, which stay.
    let chid = ok!(ChannelCreate(0));
    let before = census()?;
    let client = peer("event-client", chid, "", None)?;
    let mut buf = [0u8; 64];
    let mut info = MsgInfo::default();
    let rcvid = ok!(MsgReceive(chid, &mut buf, Some(&mut info)));
    let event = ok!(SigEvent::from_bytes(&buf[..info.msglen]));
    if event.kind() != notify::SIGEV_PULSE || event.notify & notify::SIGEV_64BIT == 0 {
        fail!("the client's event: {event:?}");
    }
    // Replied at once, as QNX servers do: the rcvid still names the
    // client for the event.
    ok!(MsgReply(rcvid, 0, &[]));

    let lacking = SigEvent { coid: 300, ..event };
    expect_err(
        "a coid the client lacks",
        MsgDeliverEvent(rcvid, &lacking),
        EBADF,
    )?;
    let signal = SigEvent {
        notify: notify::SIGEV_64BIT | notify::SIGEV_SIGNAL,
        ..event
    };
    expect_err("a signal event", MsgDeliverEvent(rcvid, &signal), ENOTSUP)?;
    let odd = SigEvent {
        notify: notify::SIGEV_64BIT | 0x3f,
        ..event
    };
    expect_err("an unknown type", MsgDeliverEvent(rcvid, &odd), EINVAL)?;
    let wide = SigEvent {
        code: 1000,
        ..event
    };
    expect_err(
        "a code past a pulse's",
        MsgDeliverEvent(rcvid, &wide),
        EINVAL,
    )?;
    expect_err(
        "a stale rcvid",
        MsgDeliverEvent(rcvid + (1 << 7), &event),
        ESRCH,
    )?;
    expect_err("rcvid 0", MsgDeliverEvent(0, &event), ESRCH)?;
    // Taskman delivers only to a process connected to the caller: init
    // (our parent) is not, whatever the request says.
    let parent = taskman::getppid();
    expect_err("a forged client", forged_delivery(parent, 0, &event), ESRCH)?;
    expect_err("a forged scoid", forged_delivery(client, 1, &event), ESRCH)?;
    ok!(MsgDeliverEvent(rcvid, &SigEvent::default()));

    ok!(MsgDeliverEvent(rcvid, &event));
    let report = ok!(MsgReceive(chid, &mut buf, Some(&mut info)));
    let word = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let (code, value, scoid, own) = (word(0) as i64, word(1), word(2) as i32, word(3) as i32);
    ok!(MsgReply(report, 0, &[]));
    if code != 9 || value != EVENT_VALUE || scoid != own {
        fail!("the client got code {code}, value {value:#x}, scoid {scoid} (its coid {own})");
    }
    reap(client, 0)?;
    expect_err(
        "a client that is gone",
        MsgDeliverEvent(rcvid, &event),
        ESRCH,
    )?;
    no_leak(&before, false)?;
    ok!(ChannelDestroy(chid));
    Ok(())
}

/// What every process gets (`taskman_core::limits::DEFAULT_QUOTAS`).
const UNREPLIED_QUOTA: usize = 32;
const CLIENTS: usize = UNREPLIED_QUOTA + 2;

/// Client `i`'s message: longer than the message registers, so its bytes
/// past them wait in the server's message store while it is held.
fn client_text(i: usize) -> FmtBuf<128> {
    let mut t = FmtBuf::new();
    let _ = write!(t, "client {i:02} ");
    while t.as_bytes().len() < 100 {
        let _ = t.write_char((b'a' + (t.as_bytes().len() + i) as u8 % 26) as char);
    }
    t
}

pub fn unreplied_from_quota() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    // Warm up: the reply objects and the first spawn's memory stay.
    let warm = peer("send", chid, "warm", None)?;
    let mut buf = [0u8; 256];
    let mut info = MsgInfo::default();
    let r = ok!(MsgReceive(chid, &mut buf, Some(&mut info)));
    ok!(MsgReply(r, 4, b"mraw"));
    reap(warm, 0)?;
    let before = census()?;

    let mut pids = [0; CLIENTS];
    for (i, p) in pids.iter_mut().enumerate() {
        *p = peer("send", chid, client_text(i).as_str(), None)?;
    }
    let mut held = [(0i32, 0usize); UNREPLIED_QUOTA];
    for h in held.iter_mut() {
        let rcvid = ok!(MsgReceive(chid, &mut buf, Some(&mut info)));
        let i = (buf[7] - b'0') as usize * 10 + (buf[8] - b'0') as usize;
        *h = (rcvid, i);
    }
    // Every reply object holds a client: the quota is used up.
    expect_err(
        "a receive past the quota",
        MsgReceive(chid, &mut buf, None),
        EBUSY,
    )?;
    // Each held message is still whole, for MsgRead.
    for &(rcvid, i) in held.iter().rev() {
        let want = client_text(i);
        let mut got = [0u8; 128];
        let n = ok!(MsgRead(rcvid, &mut got, 0));
        if &got[..n] != want.as_bytes() {
            fail!(
                "client {i}'s held message reads {n} bytes, not its {}",
                want.as_bytes().len()
            );
        }
        let mut tail = [0u8; 8];
        if ok!(MsgRead(rcvid, &mut tail, 90)) != 8 || tail != want.as_bytes()[90..98] {
            fail!("client {i}'s message at 90: {tail:?}");
        }
        got[..n].reverse();
        ok!(MsgReply(rcvid, n as i32, &got[..n]));
    }
    for _ in UNREPLIED_QUOTA..CLIENTS {
        let rcvid = ok!(MsgReceive(chid, &mut buf, Some(&mut info)));
        let n = info.msglen;
        buf[..n].reverse();
        ok!(MsgReply(rcvid, n as i32, &buf[..n]));
    }
    for pid in pids {
        reap(pid, 0)?;
    }
    no_leak(&before, false)?;
    ok!(ChannelDestroy(chid));
    Ok(())
}
