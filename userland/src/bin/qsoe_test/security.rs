//! What a hostile or greedy process can try against taskman: forged
//! identities, requests it is not granted, and asking for more of
//! everything until refused. Each must end in a clean errno, with the
//! system still serving and nothing leaked.

use super::{census, expect_exit, expect_signal, no_leak, run, spawn, Outcome, Why};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use libqsoe::abi::ipc::{decode_answer, Answer, MAX_CHANNELS, MAX_CONNECTIONS};
use libqsoe::abi::layout::{slot, MAX_THREADS};
use libqsoe::abi::wire::op;
use libqsoe::errno::{Errno, EAGAIN, EPERM, ESRCH};
use libqsoe::neutrino::{
    ChannelCreate, ChannelDestroy, ConnectAttach, ConnectDetach, MsgReceive, MsgReply, MsgSend,
    MsgSendPulse,
};
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::Pid;
use sel4_sys::MessageInfo;

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), Errno::name(e)),
        }
    };
}

/// A request sent straight on the side channel, bypassing libqsoe; answers
/// the errno taskman answered with, if any.
fn raw_side_request(label: u64, words: [u64; 4], len: u64) -> Result<(), Errno> {
    let answer = sel4_sys::call(slot::TASKMAN, MessageInfo::new(label, 0, 0, len), words);
    match answer.info.label() {
        0 => Ok(()),
        l => match decode_answer(l) {
            Answer::Error(e) => Err(e),
            _ => Err(Errno(0)),
        },
    }
}

static RELEASE: AtomicBool = AtomicBool::new(false);

/// Waits for `RELEASE`, then answers `arg`.
extern "C" fn wait_for_release(arg: usize) -> usize {
    while !RELEASE.load(Ordering::Acquire) {
        sel4_sys::yield_now();
    }
    arg
}

/// Thread requests name no thread: taskman takes the caller's thread from
/// the badge of its fault endpoint. Sent on the side channel (which every
/// thread shares, so its badge names only the process), an exit or a join
/// naming another thread is refused and changes nothing.
pub fn forged_tid_rejected() -> Outcome {
    RELEASE.store(false, Ordering::Release);
    let victim = ok!(ThreadCreate(0, wait_for_release, 77));
    // The old request shape (tid, value) and the new (value), and a join.
    for (what, label, words, len) in [
        (
            "exit naming the victim",
            op::THREAD_EXIT,
            [victim as u64, 5, 0, 0],
            2,
        ),
        ("exit of the caller", op::THREAD_EXIT, [5, 0, 0, 0], 1),
        (
            "join of the victim",
            op::THREAD_JOIN,
            [victim as u64, 0, 0, 0],
            1,
        ),
        (
            "channel for the victim",
            op::CHANNEL_CREATE,
            [0, victim as u64, 0, 0],
            2,
        ),
    ] {
        match raw_side_request(label, words, len) {
            Err(EPERM) => {}
            other => fail!("{what} on the side channel: {other:?}, not EPERM"),
        }
    }
    // The victim is untouched: it runs, ends with its own value, and is
    // joined once.
    RELEASE.store(true, Ordering::Release);
    let value = ok!(ThreadJoin(victim));
    if value != 77 {
        fail!("the victim ended with {value}, not 77");
    }
    if ThreadJoin(victim) != Err(ESRCH) {
        fail!("the victim could be joined twice");
    }
    // And its slot serves the next thread.
    RELEASE.store(true, Ordering::Release);
    let next = ok!(ThreadCreate(0, wait_for_release, 9));
    if ok!(ThreadJoin(next)) != 9 {
        fail!("a thread after the forgeries did not run");
    }
    Ok(())
}

/// The census is a whole-system slot scan: only processes whose manifest
/// entry grants it (and whose parent holds it) may ask.
pub fn census_needs_grant() -> Outcome {
    let before = census()?;
    let status = run("/bin/greedy", &[b"greedy", b"census"])?;
    expect_exit(status, EPERM.0 as i32)?;
    let status = run("/bin/greedy-granted", &[b"greedy", b"census"])?;
    expect_exit(status, 0)?;
    // The spawn profile (timing of the whole system) needs the same grant.
    let status = run("/bin/greedy", &[b"greedy", b"spawn-profile"])?;
    expect_exit(status, EPERM.0 as i32)?;
    let status = run("/bin/greedy-granted", &[b"greedy", b"spawn-profile"])?;
    expect_exit(status, 0)?;
    // A granted program started by a parent without the grant gets none.
    let argv: [&[u8]; 4] = [b"greedy", b"spawn", b"/bin/greedy-granted", b"census"];
    let status = run("/bin/greedy", &argv)?;
    expect_exit(status, EPERM.0 as i32)?;
    no_leak(&before, false)
}

/// Channels until refused: `EAGAIN` at the quota, then all destroyed.
/// The first round makes every channel cell (they stay, for reuse) and
/// grows taskman's tables to their size; the second must change nothing.
pub fn exhaust_channels() -> Outcome {
    channels_until_refused()?;
    let before = census()?;
    channels_until_refused()?;
    no_leak(&before, true)
}

fn channels_until_refused() -> Outcome {
    let mut chids = [0; MAX_CHANNELS + 1];
    let mut made = 0;
    let refusal = loop {
        match ChannelCreate(0) {
            Ok(c) if made < chids.len() => {
                chids[made] = c;
                made += 1;
            }
            Ok(_) => fail!("more than {} channels", chids.len()),
            Err(e) => break e,
        }
    };
    // Still serving: a channel comes back once one is gone.
    let again = match chids[..made].first() {
        Some(&c) => ChannelDestroy(c).and_then(|()| ChannelCreate(0)),
        None => Err(refusal),
    };
    if let Ok(c) = again {
        chids[0] = c;
    }
    for &c in &chids[..made] {
        ok!(ChannelDestroy(c));
    }
    if refusal != EAGAIN || made != MAX_CHANNELS {
        fail!("refused with {} after {made} channels", refusal.name());
    }
    if let Err(e) = again {
        fail!("no channel after one was destroyed: {}", e.name());
    }
    Ok(())
}

/// Connections until refused, on the process's own channel; the first
/// round grows the connection table, the second must change nothing.
pub fn exhaust_connections() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let outcome = connections_until_refused(chid).and_then(|()| {
        let before = census()?;
        connections_until_refused(chid)?;
        no_leak(&before, true)
    });
    ok!(ChannelDestroy(chid));
    outcome
}

fn connections_until_refused(chid: i32) -> Outcome {
    let me = taskman::getpid();
    let mut coids = [0; MAX_CONNECTIONS];
    let mut made = 0;
    let refusal = loop {
        match ConnectAttach(0, me, chid, 0, 0) {
            Ok(c) if made < coids.len() => {
                coids[made] = c;
                made += 1;
            }
            Ok(_) => fail!("more than {} connections", coids.len()),
            Err(e) => break e,
        }
    };
    // The side channel's index range is separate and still has room.
    let side =
        ConnectAttach(0, me, chid, libqsoe::abi::ipc::SIDE_CHANNEL, 0).and_then(ConnectDetach);
    for &c in &coids[..made] {
        ok!(ConnectDetach(c));
    }
    if refusal != EAGAIN || made < 400 {
        fail!("refused with {} after {made} connections", refusal.name());
    }
    if let Err(e) = side {
        fail!(
            "no side-channel connection once the others ran out: {}",
            e.name()
        );
    }
    Ok(())
}

/// Threads until refused; all joined. Twice, as for channels.
pub fn exhaust_threads() -> Outcome {
    threads_until_refused()?;
    let before = census()?;
    threads_until_refused()?;
    no_leak(&before, false)
}

fn threads_until_refused() -> Outcome {
    RELEASE.store(false, Ordering::Release);
    let mut tids = [0; MAX_THREADS + 1];
    let mut made = 0;
    let refusal = loop {
        match ThreadCreate(0, wait_for_release, made) {
            Ok(t) if made < tids.len() => {
                tids[made] = t;
                made += 1;
            }
            Ok(_) => fail!("more than {} threads", tids.len()),
            Err(e) => break e,
        }
    };
    RELEASE.store(true, Ordering::Release);
    for (i, &t) in tids[..made].iter().enumerate() {
        if ok!(ThreadJoin(t)) != i {
            fail!("thread {t} ended with the wrong value");
        }
    }
    if refusal != EAGAIN || made != MAX_THREADS {
        fail!("refused with {} after {made} threads", refusal.name());
    }
    Ok(())
}

/// Pulses at a channel whose owner does not receive: the queue fills,
/// senders get `EAGAIN`, nothing else changes, and the owner can still
/// take every queued pulse.
pub fn pulse_flood() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let outcome = flood(chid);
    ok!(ChannelDestroy(chid));
    outcome
}

fn flood(chid: i32) -> Outcome {
    let coid = ok!(ConnectAttach(0, taskman::getpid(), chid, 0, 0));
    let before = census()?;
    let mut queued = 0;
    for i in 0..10_000u32 {
        match MsgSendPulse(coid, 10, 5, i) {
            Ok(()) => queued += 1,
            Err(EAGAIN) => {}
            Err(e) => fail!("pulse {i}: {}", e.name()),
        }
    }
    if queued == 0 || queued > 64 {
        fail!("{queued} pulses were queued");
    }
    for i in 0..queued {
        let mut buf = [0u8; 24];
        match MsgReceive(chid, &mut buf, None) {
            Ok(0) => {}
            other => fail!("pulse {i} of {queued}: {other:?}"),
        }
    }
    no_leak(&before, false)?;
    ok!(ConnectDetach(coid));
    Ok(())
}

/// A tree of processes that each spawn copies of themselves with 16 MiB
/// blocks (up to 1,093 of them, where RAM holds about 190) until refused,
/// then reap them all: the tree is refused, every refusal is a clean
/// errno, every process is reaped, and the system still serves.
pub fn fork_bomb() -> Outcome {
    let before = census()?;
    let status = run("/bin/greedy", &[b"greedy", b"bomb", b"24"])?;
    expect_exit(status, 0)?;
    expect_exit(run("/bin/true", &[b"true"])?, 0)?;
    no_leak(&before, false)
}

/// Processes alive at once: the target, or as many as RAM and ASIDs allow.
const TARGET_PROCESSES: usize = 10_000;
/// Children each holder keeps (under the children quota).
const PER_HOLDER: usize = 250;

/// Ten thousand processes alive at once (holders, each with 250 paused
/// children), then all killed and reaped.
pub fn processes_10000() -> Outcome {
    // The first channel makes this process's reply objects, which stay.
    ok!(ChannelDestroy(ok!(ChannelCreate(0))));
    let before = census()?;
    let chid = ok!(ChannelCreate(0));
    let me = taskman::getpid();
    let mut held = 0;
    let mut holders: [(Pid, i32); 64] = [(0, 0); 64];
    let mut count = 0;
    let mut chid_arg = [0u8; 20];
    let mut me_arg = [0u8; 20];
    let chid_arg = qsoe_userland::decimal(&mut chid_arg, chid as u64);
    let me_arg = qsoe_userland::decimal(&mut me_arg, me as u64);
    while held + count < TARGET_PROCESSES && count < holders.len() {
        let argv: [&[u8]; 5] = [b"greedy", b"hold", b"250", me_arg, chid_arg];
        let pid = match spawn("/bin/greedy", &argv, SpawnOptions::default()) {
            Ok(p) => p,
            Err(_) => break,
        };
        let mut ready = [0u8; 16];
        let rcvid = ok!(MsgReceive(chid, &mut ready, None));
        ok!(MsgReply(rcvid, 0, &[]));
        let children = u64::from_le_bytes(ready[..8].try_into().unwrap_or([0; 8])) as usize;
        let own = u64::from_le_bytes(ready[8..].try_into().unwrap_or([0; 8])) as i32;
        holders[count] = (pid, own);
        count += 1;
        held += children;
        libqsoe::println!(
            "qsoe-test: mem::processes_10000: {} processes alive",
            held + count + 2
        );
        if children < PER_HOLDER {
            break;
        }
    }
    for &(pid, own) in &holders[..count] {
        let coid = ok!(ConnectAttach(0, pid, own, 0, 0));
        ok!(MsgSend(coid, b"go", &mut []));
        ok!(ConnectDetach(coid));
        match taskman::waitpid(pid, 0) {
            Ok((_, s)) => expect_exit(s, 0)?,
            Err(e) => fail!("waitpid({pid}): {}", e.name()),
        }
    }
    ok!(ChannelDestroy(chid));
    if held + count < TARGET_PROCESSES {
        let c = census()?;
        if c.largest_free_bits > 20 {
            fail!(
                "only {} processes, with 2^{} bytes still free",
                held + count,
                c.largest_free_bits
            );
        }
    }
    no_leak(&before, false)
}

/// On the release kernel, which has no debug system calls, a process that
/// makes one is killed (`SIGSYS`) and the system goes on; each of the
/// eight calls, `DebugHalt` included, in a process of its own.
pub fn debug_calls_refused() -> Outcome {
    for n in 0..8u8 {
        let arg = [b'0' + n];
        let status = run("/bin/greedy", &[b"greedy", b"debug-call", &arg])?;
        if let Err(why) = expect_signal(status, libqsoe::signal::SIGSYS) {
            fail!("debug call {n}: {}", why.as_str());
        }
    }
    expect_exit(run("/bin/true", &[b"true"])?, 0)
}
