//! Threads: `ThreadCreate` / `ThreadJoin`, threads serving IPC, and
//! threads ending with their process. `/bin/ipc-peer` plays the processes
//! that end with threads still running.

use super::{census, expect_exit, expect_signal, no_leak, spawn, Outcome, Why};
use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};
use libqsoe::abi::ipc::{error_label, Pulse, PULSE_BYTES};
use libqsoe::errno::{Errno, EBADF, EDEADLK, ESRCH};
use libqsoe::neutrino::*;
use libqsoe::signal::SIGSEGV;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::thread::{gettid, ThreadCreate, ThreadJoin};
use sel4_sys::MessageInfo;

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), Errno::name(e)),
        }
    };
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Counts, checks its tid is not the first thread's, and answers
/// `2 * arg + 1`.
extern "C" fn double_plus_one(arg: usize) -> usize {
    STARTED.fetch_add(1, Ordering::Relaxed);
    if gettid() <= 1 {
        return 0;
    }
    2 * arg + 1
}

/// A system call on an empty slot from a thread after the first: the
/// cap fault must be answered on this thread, not on the first.
extern "C" fn empty_slot_call(_: usize) -> usize {
    let answer = sel4_sys::call(4000, MessageInfo::new(0, 0, 0, 0), [0; 4]);
    (answer.info.label() == error_label(EBADF)) as usize
}

pub fn create_join() -> Outcome {
    STARTED.store(0, Ordering::Relaxed);
    let mut tids = [0; 4];
    for (i, t) in tids.iter_mut().enumerate() {
        *t = ok!(ThreadCreate(0, double_plus_one, 10 + i));
    }
    for (i, &t) in tids.iter().enumerate() {
        let value = ok!(ThreadJoin(t));
        if value != 2 * (10 + i) + 1 {
            fail!("thread {t} ended with {value}, not {}", 2 * (10 + i) + 1);
        }
    }
    if STARTED.load(Ordering::Relaxed) != 4 {
        fail!("{} threads ran, not 4", STARTED.load(Ordering::Relaxed));
    }
    for (what, r, want) in [
        ("joined twice", ThreadJoin(tids[0]), ESRCH),
        ("joined itself", ThreadJoin(gettid()), EDEADLK),
        ("joined no thread", ThreadJoin(77), ESRCH),
    ] {
        if r != Err(want) {
            fail!("{what}: {r:?}, not {}", want.name());
        }
    }
    let faulting = ok!(ThreadCreate(0, empty_slot_call, 0));
    if ok!(ThreadJoin(faulting)) != 1 {
        fail!("a thread's call on an empty slot did not answer EBADF");
    }
    Ok(())
}

const ECHOES: usize = 200;

/// Serves `ECHOES` messages on channel `arg`: echoed back reversed.
extern "C" fn echo_server(chid: usize) -> usize {
    let mut buf = [0u8; 64];
    for _ in 0..ECHOES {
        let mut info = MsgInfo::default();
        let Ok(rcvid) = MsgReceive(chid as i32, &mut buf, Some(&mut info)) else {
            return 0;
        };
        let n = info.msglen.min(buf.len());
        buf[..n].reverse();
        if MsgReply(rcvid, n as i32, &buf[..n]).is_err() {
            return 0;
        }
    }
    ECHOES
}

/// A thread serves the process's channel while the first thread and
/// another are its clients.
pub fn serve_in_thread() -> Outcome {
    extern "C" fn client(coid: usize) -> usize {
        let mut back = [0u8; 16];
        let mut good = 0;
        for i in 0..ECHOES / 2 {
            let text = [b'a' + (i % 26) as u8, b'x', b'y'];
            if MsgSend(coid as i32, &text, &mut back) == Ok(3) && back[..3] == [b'y', b'x', text[0]]
            {
                good += 1;
            }
        }
        good
    }
    let chid = ok!(ChannelCreate(0));
    let server = ok!(ThreadCreate(0, echo_server, chid as usize));
    let coid = ok!(ConnectAttach(0, taskman::getpid(), chid, 0, 0));
    let other = ok!(ThreadCreate(0, client, coid as usize));
    let mine = client(coid as usize);
    let theirs = ok!(ThreadJoin(other));
    let served = ok!(ThreadJoin(server));
    ok!(ConnectDetach(coid));
    ok!(ChannelDestroy(chid));
    if (mine, theirs, served) != (ECHOES / 2, ECHOES / 2, ECHOES) {
        fail!(
            "echoes right: {mine} and {theirs} of {}; served {served}",
            ECHOES / 2
        );
    }
    Ok(())
}

/// Creates a channel, sends its chid to channel `arg` of this process and
/// answers the value of the first pulse it receives on it (0 on error).
extern "C" fn pulse_receiver(announce_to: usize) -> usize {
    let Ok(chid) = ChannelCreate(0) else {
        return 0;
    };
    let me = taskman::getpid();
    let told = ConnectAttach(0, me, announce_to as i32, 0, 0)
        .and_then(|coid| MsgSend(coid, &chid.to_le_bytes(), &mut []).map(|_| coid))
        .and_then(ConnectDetach);
    let mut buf = [0u8; PULSE_BYTES];
    let value = match (told, MsgReceive(chid, &mut buf, None)) {
        (Ok(()), Ok(0)) => Pulse::from_bytes(&buf).value as usize,
        _ => 0,
    };
    let _ = ChannelDestroy(chid);
    value
}

/// Each thread's first channel gets pulses, woken on that thread.
pub fn pulse_channel_per_thread() -> Outcome {
    let mine = ok!(ChannelCreate(0));
    let other = ok!(ThreadCreate(0, pulse_receiver, mine as usize));
    let mut buf = [0u8; 8];
    let mut info = MsgInfo::default();
    let rcvid = ok!(MsgReceive(mine, &mut buf, Some(&mut info)));
    ok!(MsgReply(rcvid, 0, &[]));
    let theirs = i32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let me = taskman::getpid();
    let to_theirs = ok!(ConnectAttach(0, me, theirs, 0, 0));
    let to_mine = ok!(ConnectAttach(0, me, mine, 0, 0));
    ok!(MsgSendPulse(to_mine, 10, 3, 111));
    ok!(MsgSendPulse(to_theirs, 10, 4, 222));
    let mut pulse = [0u8; PULSE_BYTES];
    if ok!(MsgReceive(mine, &mut pulse, None)) != 0 || Pulse::from_bytes(&pulse).value != 111 {
        fail!("this thread's pulse: {:?}", Pulse::from_bytes(&pulse));
    }
    let got = ok!(ThreadJoin(other));
    ok!(ConnectDetach(to_mine));
    ok!(ConnectDetach(to_theirs));
    ok!(ChannelDestroy(mine));
    if got != 222 {
        fail!("the other thread's channel got pulse value {got}, not 222");
    }
    Ok(())
}

pub fn thread_cycles_1000() -> Outcome {
    // Warm up: the first join may take a spare reply object.
    let t = ok!(ThreadCreate(0, double_plus_one, 0));
    ok!(ThreadJoin(t));
    let before = census()?;
    for i in 0..1000 {
        let t = match ThreadCreate(0, double_plus_one, i) {
            Ok(t) => t,
            Err(e) => fail!("cycle {i}: ThreadCreate: {}", e.name()),
        };
        match ThreadJoin(t) {
            Ok(v) if v == 2 * i + 1 => {}
            other => fail!("cycle {i}: ThreadJoin: {other:?}"),
        }
    }
    no_leak(&before, false)
}

/// A process that ends (by exit or by a fault in one thread) with
/// threads blocked or running: all of it goes.
pub fn process_end_takes_threads() -> Outcome {
    let before = census()?;
    for (role, killed_by) in [("threads-then-exit", None), ("thread-fault", Some(SIGSEGV))] {
        let argv = [b"ipc-peer".as_slice(), role.as_bytes()];
        let pid = ok!(spawn("/bin/ipc-peer", &argv, SpawnOptions::default()));
        let (_, status) = ok!(taskman::waitpid(pid, 0));
        match killed_by {
            None => expect_exit(status, 0)?,
            Some(signal) => expect_signal(status, signal)?,
        }
    }
    no_leak(&before, false)
}
