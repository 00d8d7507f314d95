//! QNX IPC tests: this process is the server or the client, `/bin/ipc-peer`
//! the other side.

use super::{census, expect_exit, no_leak, spawn, Outcome, Why};
use core::fmt::Write;
use libqsoe::abi as qsoe_abi;
use libqsoe::errno::{Errno, E2BIG, EAGAIN, EBADF, EINVAL, ENOSYS, EPERM, ESRCH, ESRVRFAULT};
use libqsoe::fmt::FmtBuf;
use libqsoe::neutrino::*;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::Pid;
use qsoe_abi::ipc::{Pulse, PULSE_BYTES};
use qsoe_abi::wire::{Resolved, MAX_RESOLVED};

/// Unwraps an IPC call's result or fails the test naming the call.
macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), e.name()),
        }
    };
}

pub(super) fn expect_err<T>(what: &str, r: Result<T, Errno>, want: Errno) -> Outcome {
    match r {
        Err(e) if e == want => Ok(()),
        Err(e) => fail!("{what}: {} instead of {}", e.name(), want.name()),
        Ok(_) => fail!("{what}: succeeded instead of {}", want.name()),
    }
}

/// Starts `ipc-peer ROLE` connected to our channel `chid`.
pub(super) fn peer(role: &str, chid: i32, arg: &str, core: Option<u64>) -> Result<Pid, Why> {
    peer_to(role, taskman::getpid(), chid, arg, core)
}

/// Starts `ipc-peer ROLE` connected to channel `chid` of process `pid`.
pub(super) fn peer_to(
    role: &str,
    pid: Pid,
    chid: i32,
    arg: &str,
    core: Option<u64>,
) -> Result<Pid, Why> {
    let pid_s = FmtBuf::<16>::from_display(pid);
    let chid_s = FmtBuf::<16>::from_display(chid);
    let argv = [
        b"ipc-peer".as_slice(),
        role.as_bytes(),
        pid_s.as_bytes(),
        chid_s.as_bytes(),
        arg.as_bytes(),
    ];
    let options = SpawnOptions {
        core,
        ..Default::default()
    };
    Ok(ok!(spawn("/bin/ipc-peer", &argv, options)))
}

pub(super) fn reap(pid: Pid, code: i32) -> Outcome {
    let (_, status) = ok!(taskman::waitpid(pid, 0));
    expect_exit(status, code)
}

/// Receives one message; answers its rcvid, info and bytes.
fn receive(chid: i32, buf: &mut [u8]) -> Result<(i32, MsgInfo), Why> {
    let mut info = MsgInfo::default();
    let rcvid = ok!(MsgReceive(chid, buf, Some(&mut info)));
    Ok((rcvid, info))
}

/// Reverses the first `n` bytes and replies with them, status `n`.
fn echo(rcvid: i32, buf: &mut [u8], n: usize) -> Outcome {
    buf[..n].reverse();
    ok!(MsgReply(rcvid, n as i32, &buf[..n]));
    Ok(())
}

pub fn send_receive_reply() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let client = peer("send", chid, "hello, server", None)?;
    let mut buf = [0u8; 64];
    let (rcvid, info) = receive(chid, &mut buf)?;
    if rcvid <= 0 || info.pid != client || info.msglen != 13 {
        fail!("rcvid {rcvid}, {info:?}, expected a message of 13 from {client}");
    }
    let mut head = [0u8; 5];
    if ok!(MsgRead(rcvid, &mut head, 7)) != 5 || &head != b"serve" {
        fail!("MsgRead at 7 gave {head:?}");
    }
    echo(rcvid, &mut buf, info.msglen)?;
    expect_err("second reply", MsgReply(rcvid, 0, &[]), ESRCH)?;
    reap(client, 0)?;
    ok!(ChannelDestroy(chid));
    Ok(())
}

pub fn deferred_out_of_order_reply() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let texts = ["one", "two two", "three 3 3"];
    let mut clients = [0; 3];
    for (c, t) in clients.iter_mut().zip(texts) {
        *c = peer("send", chid, t, None)?;
    }
    let mut held = [(0, [0u8; 16], 0usize); 3];
    for h in held.iter_mut() {
        let (rcvid, info) = receive(chid, &mut h.1)?;
        *h = (rcvid, h.1, info.msglen);
    }
    // Three clients wait at once; answer them last first, with MsgWrite
    // for one of them.
    let (r0, mut b0, n0) = held[0];
    b0[..n0].reverse();
    ok!(MsgWrite(r0, &b0[..n0], 0));
    for &(rcvid, mut buf, n) in held[1..].iter().rev() {
        echo(rcvid, &mut buf, n)?;
    }
    ok!(MsgReply(r0, n0 as i32, &[]));
    for c in clients {
        reap(c, 0)?;
    }
    ok!(ChannelDestroy(chid));
    Ok(())
}

pub fn msg_error() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let mut want = FmtBuf::<8>::new();
    let _ = write!(want, "{}", EPERM.0);
    let client = peer("expect-error", chid, want.as_str(), None)?;
    let mut buf = [0u8; 16];
    let (rcvid, _) = receive(chid, &mut buf)?;
    ok!(MsgError(rcvid, EPERM));
    expect_err("MsgError twice", MsgError(rcvid, EPERM), ESRCH)?;
    reap(client, 0)?;
    ok!(ChannelDestroy(chid));
    Ok(())
}

fn take_pulse(chid: i32) -> Result<Pulse, Why> {
    let mut buf = [0u8; PULSE_BYTES];
    let (rcvid, info) = receive(chid, &mut buf)?;
    if rcvid != 0 || info.msglen != PULSE_BYTES {
        fail!("expected a pulse, got rcvid {rcvid}");
    }
    Ok(Pulse::from_bytes(&buf))
}

pub fn pulse() -> Outcome {
    let chid = ok!(ChannelCreate(chf::DISCONNECT | chf::COID_DISCONNECT));
    let coid = ok!(ConnectAttach(0, taskman::getpid(), chid, 0, 0));
    ok!(MsgSendPulse(coid, 10, 5, 0xdead_beef));
    let p = take_pulse(chid)?;
    if p.code != 5 || p.value != 0xdead_beef || p.scoid != coid {
        fail!("pulse {p:?}");
    }
    expect_err("negative code", MsgSendPulse(coid, 10, -1, 0), EINVAL)?;
    // The queue holds 16; the 17th is refused, and all 16 arrive in order.
    for i in 0..16 {
        ok!(MsgSendPulse(coid, 10, 7, i));
    }
    expect_err("pulse 17", MsgSendPulse(coid, 10, 7, 16), EAGAIN)?;
    for i in 0..16 {
        let p = take_pulse(chid)?;
        if p.code != 7 || p.value != i {
            fail!("pulse {i} came as {p:?}");
        }
    }
    // The channel asked for disconnect pulses.
    ok!(ConnectDetach(coid));
    let p = take_pulse(chid)?;
    if p.code != pulse_code::DISCONNECT || p.scoid != coid {
        fail!("expected a disconnect pulse, got {p:?}");
    }
    // It asked for coid-death pulses too: the channel behind one of our
    // connections ends, by ChannelDestroy and by its server's death.
    let other = ok!(ChannelCreate(0));
    let doomed = ok!(ConnectAttach(0, taskman::getpid(), other, 0, 0));
    ok!(ChannelDestroy(other));
    expect_coid_death(chid, doomed)?;
    let (server, _, served) = server_peer("serve-echo", "1", None)?;
    if ok!(MsgSend(served, b"last", &mut [0; 4])) != 4 {
        fail!("echo before the server's exit");
    }
    reap(server, 0)?;
    expect_coid_death(chid, served)?;
    for c in [doomed, served] {
        ok!(ConnectDetach(c));
    }
    ok!(ChannelDestroy(chid));
    Ok(())
}

fn expect_coid_death(chid: i32, coid: i32) -> Outcome {
    let p = take_pulse(chid)?;
    if p.code != pulse_code::COIDDEATH || p.value != coid as u32 as u64 {
        fail!("expected a coid-death pulse for {coid}, got {p:?}");
    }
    Ok(())
}

pub fn side_channel_coid() -> Outcome {
    if SYSMGR_COID != 1 << 30 || _NTO_SIDE_CHANNEL != 1 << 30 {
        fail!("SYSMGR_COID {SYSMGR_COID:#x}");
    }
    let info = ok!(ConnectServerInfo(0, SYSMGR_COID));
    if info.pid != 0 || info.coid != SYSMGR_COID {
        fail!("side channel leads to {info:?}");
    }
    // fds 0..2 lead to the console: its driver's channel once it runs.
    let mut found = [Resolved::default(); MAX_RESOLVED];
    // (Taskman's `/` covers it too: the first registration is the one.)
    ok!(libqsoe::io::resolve(b"/dev/console", &mut found));
    let console = (found[0].pid, found[0].chid);
    for fd in 0..3 {
        let info = ok!(ConnectServerInfo(0, fd));
        if (info.pid, info.chid) != console || info.coid != fd {
            fail!("fd {fd} leads to {info:?}, not the console {console:?}");
        }
    }
    // Taskman answers a QNX message it does not speak with an error.
    expect_err(
        "MsgSend to taskman",
        MsgSend(SYSMGR_COID, b"hi", &mut []),
        ENOSYS,
    )?;
    let chid = ok!(ChannelCreate(0));
    let me = taskman::getpid();
    let regular = ok!(ConnectAttach(0, me, chid, 0, 0));
    let side = ok!(ConnectAttach(0, me, chid, _NTO_SIDE_CHANNEL, 0));
    if regular < 3 || regular & _NTO_SIDE_CHANNEL != 0 {
        fail!("regular coid {regular}");
    }
    if side & _NTO_SIDE_CHANNEL == 0 || side == SYSMGR_COID {
        fail!("side coid {side:#x}");
    }
    expect_err("detach the side channel", ConnectDetach(SYSMGR_COID), EPERM)?;
    ok!(ConnectDetach(regular));
    ok!(ConnectDetach(side));
    ok!(ChannelDestroy(chid));
    // The side channel still works.
    if taskman::getpid() != me {
        fail!("getpid changed");
    }
    Ok(())
}

/// Starts a server peer and connects to it; answers its pid, its chid
/// and the coid.
fn server_peer(role: &str, arg: &str, core: Option<u64>) -> Result<(Pid, i32, i32), Why> {
    let (server, its_chid) =
        match qsoe_userland::start_ipc_server(role.as_bytes(), arg.as_bytes(), core) {
            Ok(s) => s,
            Err(e) => fail!("{e}"),
        };
    let coid = ok!(ConnectAttach(0, server, its_chid, 0, 0));
    Ok((server, its_chid, coid))
}

pub fn server_death_esrvrfault() -> Outcome {
    let (server, _, coid) = server_peer("serve-once", "", None)?;
    expect_err(
        "MsgSend",
        MsgSend(coid, b"are you there", &mut []),
        ESRVRFAULT,
    )?;
    reap(server, 0)?;
    // Its channel is gone with it.
    expect_err("MsgSend again", MsgSend(coid, b"x", &mut []), EBADF)?;
    ok!(ConnectDetach(coid));
    Ok(())
}

pub fn channel_destroy_unblocks_clients() -> Outcome {
    // The clients pulse on one channel just before they send on the other,
    // which this process never receives on; then that channel goes.
    let signals = ok!(ChannelCreate(0));
    let chid = ok!(ChannelCreate(0));
    let mut target = FmtBuf::<16>::new();
    let _ = write!(target, "{chid}");
    let clients = [
        peer("pulse-then-send", signals, target.as_str(), Some(1))?,
        peer("pulse-then-send", signals, target.as_str(), Some(2))?,
    ];
    for _ in clients {
        take_pulse(signals)?;
    }
    for _ in 0..100 {
        sel4_sys::yield_now();
    }
    ok!(ChannelDestroy(chid));
    for c in clients {
        reap(c, 0)?;
    }
    ok!(ChannelDestroy(signals));
    Ok(())
}

pub fn stale_coid_rejected() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let me = taskman::getpid();
    let old = ok!(ConnectAttach(0, me, chid, 0, 0));
    ok!(ConnectDetach(old));
    expect_err(
        "MsgSend on a detached coid",
        MsgSend(old, b"x", &mut []),
        EBADF,
    )?;
    expect_err("detach twice", ConnectDetach(old), EBADF)?;
    let new = ok!(ConnectAttach(0, me, chid, 0, 0));
    if new == old {
        fail!("coid {new} reused without a new generation");
    }
    expect_err("old coid after reuse", MsgSendPulse(old, 1, 1, 1), EBADF)?;
    ok!(MsgSendPulse(new, 1, 1, 1));
    take_pulse(chid)?;
    ok!(ConnectDetach(new));
    ok!(ChannelDestroy(chid));
    expect_err("destroy twice", ChannelDestroy(chid), EINVAL)?;
    expect_err(
        "attach to a dead chid",
        ConnectAttach(0, me, chid, 0, 0),
        ESRCH,
    )?;
    let again = ok!(ChannelCreate(0));
    if again == chid {
        fail!("chid {chid} reused without a new generation");
    }
    expect_err("stale chid", ConnectAttach(0, me, chid, 0, 0), ESRCH)?;
    ok!(ChannelDestroy(again));
    Ok(())
}

pub fn cross_core() -> Outcome {
    const ROUNDS: usize = 100;
    let mut total = FmtBuf::<8>::new();
    let _ = write!(total, "{}", 3 * ROUNDS);
    let (server, its_chid, coid) = server_peer("serve-echo", total.as_str(), Some(1))?;
    ok!(ConnectDetach(coid));
    let mut rounds = FmtBuf::<8>::new();
    let _ = write!(rounds, "{ROUNDS}");
    // The server on core 1, a client on each other core: all four busy.
    let mut clients = [0; 3];
    for (c, core) in clients.iter_mut().zip([0, 2, 3]) {
        *c = peer_to("client-loop", server, its_chid, rounds.as_str(), Some(core))?;
    }
    for c in clients {
        reap(c, 0)?;
    }
    reap(server, 0)
}

pub fn channel_cycles_10000() -> Outcome {
    // The first channel makes the process's reply objects, which stay.
    ok!(ChannelDestroy(ok!(ChannelCreate(0))));
    let before = census()?;
    for i in 0..10_000 {
        match ChannelCreate(0).and_then(ChannelDestroy) {
            Ok(()) => {}
            Err(e) => fail!("cycle {i}: {}", e.name()),
        }
    }
    no_leak(&before, true)
}

pub fn connect_cycles_10000() -> Outcome {
    let chid = ok!(ChannelCreate(0));
    let me = taskman::getpid();
    let before = census()?;
    for i in 0..10_000 {
        match ConnectAttach(0, me, chid, 0, 0).and_then(ConnectDetach) {
            Ok(()) => {}
            Err(e) => fail!("cycle {i}: {}", e.name()),
        }
    }
    no_leak(&before, true)?;
    ok!(ChannelDestroy(chid));
    Ok(())
}

pub fn hostile_client() -> Outcome {
    // The first channel makes this process's reply objects, which stay.
    ok!(ChannelDestroy(ok!(ChannelCreate(0))));
    let before = census()?;
    let (server, its_chid, coid) = server_peer("serve-echo", "3", None)?;
    // Garbage to taskman: every label, short and long messages.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..400u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let label = if i % 2 == 0 {
            x
        } else {
            qsoe_abi::wire::op::TAG | (x % 20)
        };
        let len = (x >> 8) % 121;
        // Requests that would end, block or grow this very process are
        // left out: they are not malformed.
        use qsoe_abi::wire::op;
        if [
            op::EXIT,
            op::PAUSE,
            op::WAITPID,
            op::SPAWN,
            op::CHANNEL_CREATE,
            op::THREAD_CREATE,
        ]
        .contains(&label)
        {
            continue;
        }
        let info = sel4_sys::MessageInfo::new(label, 0, 0, len);
        let answer = sel4_sys::call(qsoe_abi::layout::slot::TASKMAN, info, [x, !x, x >> 3, 7]);
        if !matches!(
            qsoe_abi::ipc::decode_answer(answer.info.label()),
            qsoe_abi::ipc::Answer::Error(_)
        ) && answer.info.label() != 0
        {
            fail!(
                "taskman answered {label:#x} with {:#x}",
                answer.info.label()
            );
        }
    }
    // Someone else's channel: can be connected to, not destroyed or
    // drained; and a made-up one cannot be received on.
    expect_err("destroy a foreign channel", ChannelDestroy(its_chid), EPERM)?;
    let take = [its_chid as u64];
    let r = sel4_sys::call(
        qsoe_abi::layout::slot::TASKMAN,
        sel4_sys::MessageInfo::new(qsoe_abi::wire::op::PULSE_TAKE, 0, 0, 1),
        [take[0], 0, 0, 0],
    );
    if r.info.label() == 0 {
        fail!("took a pulse from a foreign channel");
    }
    expect_err(
        "receive on a foreign chid",
        MsgReceive(its_chid, &mut [], None),
        EBADF,
    )?;
    // A raw receive on a slot that holds nothing returns EBADF, not death.
    let junk = sel4_sys::recv(900, 0);
    if !matches!(
        qsoe_abi::ipc::decode_answer(junk.info.label()),
        qsoe_abi::ipc::Answer::Error(EBADF)
    ) {
        fail!("receive on an empty slot: label {:#x}", junk.info.label());
    }
    // To the server: more than a lease can carry is refused here; a raw
    // short message with a lying label still gets a framed reply.
    let b = super::bulk::buffers();
    let oversized = MsgSendv(coid, &[&b.out[..], &b.back[..]], &mut []);
    expect_err("oversized", oversized, E2BIG)?;
    let slot = qsoe_abi::ipc::Coid::decode(coid).map_or(0, |c| c.slot());
    let r = sel4_sys::call(slot, sel4_sys::MessageInfo::new(900, 0, 0, 1), [7, 0, 0, 0]);
    if !matches!(
        qsoe_abi::ipc::decode_answer(r.info.label()),
        qsoe_abi::ipc::Answer::Reply { .. }
    ) {
        fail!("server answered a lying label with {:#x}", r.info.label());
    }
    let mut back = [0u8; 8];
    ok!(MsgSend(coid, b"ok", &mut back));
    ok!(MsgSend(coid, b"bye", &mut back));
    reap(server, 0)?;
    ok!(ConnectDetach(coid));
    no_leak(&before, false)
}
