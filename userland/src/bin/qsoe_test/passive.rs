//! Passive servers: a thread of this process serves a channel (a scripted
//! server) and `/bin/ipc-peer` processes are its clients; the kernel is
//! asked (`taskman::thread_state`) whether the server holds a scheduling
//! context while it waits. Also the lazy FPU.

use super::ipc::{expect_err, peer_to, reap};
use super::{Outcome, Why};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};
use libqsoe::abi::ipc::{Pulse, PULSE_BYTES};
use libqsoe::errno::{EAGAIN, EPERM, ESRCH};
use libqsoe::fmt::FmtBuf;
use libqsoe::neutrino::*;
use libqsoe::signal::SIGKILL;
use libqsoe::taskman;
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::wait::{WIFSIGNALED, WTERMSIG};
use libqsoe::Pid;

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), e.name()),
        }
    };
}

/// What the scripted server shares with the test.
static CHID: AtomicI32 = AtomicI32::new(0);
static PULSES: AtomicU32 = AtomicU32::new(0);
static SERVED: AtomicU32 = AtomicU32::new(0);
static HELD: AtomicBool = AtomicBool::new(false);
static GO: AtomicBool = AtomicBool::new(false);

/// A server thread on a channel made with the flags it is given. It echoes
/// messages reversed (status = length) and counts pulses; `hold` makes it
/// wait, running, until the test says go; `work` makes it compute for
/// several of its client's time slices; `stop` ends it.
extern "C" fn scripted_server(flags: usize) -> usize {
    let Ok(chid) = ChannelCreate(flags as u32) else {
        CHID.store(-1, SeqCst);
        return 1;
    };
    CHID.store(chid, SeqCst);
    let mut buf = [0u8; 64];
    loop {
        let mut info = MsgInfo::default();
        let Ok(rcvid) = MsgReceive(chid, &mut buf, Some(&mut info)) else {
            return 2;
        };
        if rcvid == 0 {
            PULSES.fetch_add(1, SeqCst);
            continue;
        }
        let n = info.msglen.min(buf.len());
        match &buf[..n] {
            b"stop" => {
                let _ = MsgReply(rcvid, 0, &[]);
                let _ = ChannelDestroy(chid);
                return 0;
            }
            b"hold" => {
                HELD.store(true, SeqCst);
                while !GO.load(SeqCst) {
                    sel4_sys::yield_now();
                }
            }
            b"work" => {
                // Well past the client's 10 ms budget under QEMU.
                let start = qsoe_userland::cycles();
                while qsoe_userland::cycles() - start < 300_000_000 {
                    core::hint::spin_loop();
                }
            }
            _ => {}
        }
        buf[..n].reverse();
        let _ = MsgReply(rcvid, n as i32, &buf[..n]);
        SERVED.fetch_add(1, SeqCst);
    }
}

/// A running scripted server: its tid, chid and this thread's coid.
struct Server {
    tid: i32,
    chid: i32,
    coid: i32,
}

fn start_server(flags: u32) -> Result<Server, Why> {
    CHID.store(0, SeqCst);
    PULSES.store(0, SeqCst);
    SERVED.store(0, SeqCst);
    HELD.store(false, SeqCst);
    GO.store(false, SeqCst);
    let tid = ok!(ThreadCreate(0, scripted_server, flags as usize));
    if !eventually(|| CHID.load(SeqCst) != 0) || CHID.load(SeqCst) < 0 {
        fail!("the server thread made no channel");
    }
    let chid = CHID.load(SeqCst);
    let coid = ok!(ConnectAttach(0, taskman::getpid(), chid, 0, 0));
    Ok(Server { tid, chid, coid })
}

impl Server {
    fn echo(&self, text: &[u8]) -> Outcome {
        let mut back = [0u8; 64];
        let n = ok!(MsgSend(self.coid, text, &mut back));
        if n != text.len() as i32 || !back[..text.len()].iter().eq(text.iter().rev()) {
            fail!("echo of {} bytes came back as {n}", text.len());
        }
        Ok(())
    }

    /// Whether the kernel says the server thread holds a scheduling
    /// context; asked until `want` or for a while.
    fn holds_context(&self, want: bool) -> Result<bool, Why> {
        let mut last = !want;
        for _ in 0..200 {
            last = ok!(taskman::thread_state(self.tid)).sched_context;
            if last == want {
                break;
            }
            sel4_sys::yield_now();
        }
        Ok(last)
    }

    fn expect_waiting_passively(&self, when: &str) -> Outcome {
        if self.holds_context(false)? {
            fail!("{when}: the waiting server holds a scheduling context");
        }
        Ok(())
    }

    fn stop(self) -> Outcome {
        ok!(MsgSend(self.coid, b"stop", &mut []));
        if ok!(ThreadJoin(self.tid)) != 0 {
            fail!("the server thread failed");
        }
        ok!(ConnectDetach(self.coid));
        Ok(())
    }
}

/// Yields until `done`, for a bounded while; answers whether it happened.
fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..200_000 {
        if done() {
            return true;
        }
        sel4_sys::yield_now();
    }
    done()
}

/// `ipc-peer ROLE me CHID ARG` on `core`.
fn client(role: &str, chid: i32, arg: &str, core: Option<u64>) -> Result<Pid, Why> {
    peer_to(role, taskman::getpid(), chid, arg, core)
}

pub(super) fn kill_and_reap(pid: Pid) -> Outcome {
    ok!(taskman::kill(pid, SIGKILL));
    let (_, status) = ok!(taskman::waitpid(pid, 0));
    if !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL {
        fail!("status {status:#x} instead of SIGKILL");
    }
    Ok(())
}

pub fn passive_server_fastpath() -> Outcome {
    let s = start_server(0)?;
    s.expect_waiting_passively("before any call")?;
    for i in 0..200u32 {
        s.echo(&i.to_le_bytes())?;
    }
    s.expect_waiting_passively("after 200 calls")?;
    let state = ok!(taskman::thread_state(s.tid));
    if state.fpu {
        fail!("a thread that never used floats has its FPU on");
    }
    s.stop()
}

pub fn fixed_priority_channel() -> Outcome {
    let s = start_server(chf::FIXED_PRIORITY)?;
    for i in 0..50u32 {
        s.echo(&i.to_le_bytes())?;
    }
    if !s.holds_context(true)? {
        fail!("a fixed-priority server waits without its scheduling context");
    }
    s.stop()
}

pub fn passive_deferred_replies() -> Outcome {
    // This thread serves: three clients held at once, answered out of
    // order, one with MsgError; each answer but the last goes out alone.
    let chid = ok!(ChannelCreate(0));
    let want = FmtBuf::<8>::from_display(EPERM.0);
    let clients = [
        client("send", chid, "first", None)?,
        client("expect-error", chid, want.as_str(), None)?,
        client("send", chid, "third one", None)?,
    ];
    let mut held = [(0, [0u8; 16], 0usize, 0); 3];
    for h in held.iter_mut() {
        let mut info = MsgInfo::default();
        h.0 = ok!(MsgReceive(chid, &mut h.1, Some(&mut info)));
        h.2 = info.msglen;
        h.3 = info.pid;
    }
    held.sort_unstable_by_key(|h| clients.iter().position(|&c| c == h.3));
    for &(rcvid, mut buf, n, _) in [held[2], held[0]].iter() {
        buf[..n].reverse();
        ok!(MsgReply(rcvid, n as i32, &buf[..n]));
    }
    ok!(MsgError(held[1].0, EPERM));
    // A call to taskman flushes the last one alone, too.
    if taskman::getpid() <= 0 {
        fail!("getpid after the replies");
    }
    for c in clients {
        reap(c, 0)?;
    }
    ok!(ChannelDestroy(chid));
    Ok(())
}

pub fn passive_pulse_while_busy() -> Outcome {
    let s = start_server(0)?;
    // While it waits with no scheduling context: the pulse lends it its own.
    ok!(MsgSendPulse(s.coid, 10, 3, 0));
    if !eventually(|| PULSES.load(SeqCst) == 1) {
        fail!("no pulse while waiting");
    }
    s.expect_waiting_passively("after the pulse")?;
    // While it runs on a client's: it takes the pulse when it replies.
    let c = client("send", s.chid, "hold", None)?;
    if !eventually(|| HELD.load(SeqCst)) {
        fail!("the client's call never arrived");
    }
    ok!(MsgSendPulse(s.coid, 10, 4, 0));
    GO.store(true, SeqCst);
    reap(c, 0)?;
    if !eventually(|| PULSES.load(SeqCst) == 2) {
        fail!("no pulse while busy");
    }
    s.expect_waiting_passively("after the busy pulse")?;
    s.stop()
}

pub fn passive_client_dies_mid_call() -> Outcome {
    let s = start_server(0)?;
    // The server runs on the client's scheduling context when the client
    // is killed: the context goes with the client's block.
    let c = client("send", s.chid, "hold", None)?;
    if !eventually(|| HELD.load(SeqCst)) {
        fail!("the client's call never arrived");
    }
    kill_and_reap(c)?;
    GO.store(true, SeqCst);
    if !eventually(|| SERVED.load(SeqCst) == 1) {
        fail!("the server is stranded after its client died");
    }
    s.echo(b"still there")?;
    s.expect_waiting_passively("after the client died")?;
    s.stop()
}

pub fn passive_plain_send_cannot_strand() -> Outcome {
    let s = start_server(0)?;
    // The client sends with seL4_Send and seL4_NBSend, lending nothing,
    // and stays alive.
    let c = client("plain-send", s.chid, "", None)?;
    if !eventually(|| SERVED.load(SeqCst) >= 1) {
        fail!("the server never got the plain send");
    }
    s.echo(b"after a plain send")?;
    kill_and_reap(c)?;
    s.echo(b"after its sender died")?;
    s.expect_waiting_passively("after plain sends")?;
    s.stop()
}

pub fn passive_cross_core() -> Outcome {
    let s = start_server(0)?;
    let cores = qsoe_userland::cores();
    let mut clients = [0; 3];
    for (i, c) in clients.iter_mut().enumerate() {
        let core = (i as u64 + 1) % cores;
        *c = client("client-loop", s.chid, "200", Some(core))?;
    }
    // Pulses while the server migrates with its clients' contexts.
    for i in 0..50 {
        loop {
            match MsgSendPulse(s.coid, 10, 5, i) {
                Err(EAGAIN) => sel4_sys::yield_now(),
                r => {
                    ok!(r);
                    break;
                }
            }
        }
    }
    for c in clients {
        reap(c, 0)?;
    }
    if !eventually(|| PULSES.load(SeqCst) == 50) {
        fail!("{} of 50 pulses arrived", PULSES.load(SeqCst));
    }
    s.expect_waiting_passively("after cross-core clients")?;
    s.stop()
}

pub fn passive_budget_runs_out() -> Outcome {
    let s = start_server(0)?;
    s.echo(b"work")?;
    s.expect_waiting_passively("after a long call")?;
    s.stop()
}

/// This thread serves a client, which is killed while held.
fn held_then_killed(flags: u32) -> Result<(i32, i32, i32), Why> {
    let chid = ok!(ChannelCreate(flags));
    let me = ok!(ConnectAttach(0, taskman::getpid(), chid, 0, 0));
    let c = client("send", chid, "never answered", None)?;
    let mut buf = [0u8; 32];
    let rcvid = ok!(MsgReceive(chid, &mut buf, None));
    kill_and_reap(c)?;
    Ok((chid, me, rcvid))
}

pub fn reply_to_dead_client_esrch() -> Outcome {
    let (chid, me, rcvid) = held_then_killed(0)?;
    // The news of the death comes with the next receive.
    ok!(MsgSendPulse(me, 10, 6, 0));
    let mut buf = [0u8; 32];
    if ok!(MsgReceive(chid, &mut buf, None)) != 0 {
        fail!("expected the pulse");
    }
    expect_err("MsgReply", MsgReply(rcvid, 0, b"late"), ESRCH)?;
    expect_err("MsgError after", MsgError(rcvid, EPERM), ESRCH)?;
    ok!(ConnectDetach(me));
    ok!(ChannelDestroy(chid));
    Ok(())
}

pub fn unblock_pulse_on_client_death() -> Outcome {
    let (chid, me, rcvid) = held_then_killed(chf::UNBLOCK)?;
    let mut buf = [0u8; PULSE_BYTES];
    if ok!(MsgReceive(chid, &mut buf, None)) != 0 {
        fail!("expected a pulse");
    }
    let p = Pulse::from_bytes(&buf);
    if p.code != pulse_code::UNBLOCK || p.value != rcvid as u32 as u64 {
        fail!("{p:?} instead of an unblock pulse for rcvid {rcvid}");
    }
    expect_err("MsgError", MsgError(rcvid, EPERM), ESRCH)?;
    ok!(ConnectDetach(me));
    ok!(ChannelDestroy(chid));
    Ok(())
}

static SUM_BITS: AtomicU32 = AtomicU32::new(0);

extern "C" fn compute_with_doubles(terms: usize) -> usize {
    let mut sum = 0.0f64;
    for i in 1..=core::hint::black_box(terms) {
        let x = i as f64;
        sum += 1.0 / (x * x);
    }
    SUM_BITS.store((sum * 1e6) as u32, SeqCst);
    // Stay alive (and FPU-enabled) until told.
    while !GO.load(SeqCst) {
        sel4_sys::yield_now();
    }
    0
}

extern "C" fn compute_with_integers(n: usize) -> usize {
    let mut sum = 0usize;
    for i in 0..core::hint::black_box(n) {
        sum = sum.wrapping_add(i * i);
    }
    core::hint::black_box(sum);
    while !GO.load(SeqCst) {
        sel4_sys::yield_now();
    }
    0
}

pub fn lazy_enable() -> Outcome {
    GO.store(false, SeqCst);
    SUM_BITS.store(0, SeqCst);
    let floats = ok!(ThreadCreate(0, compute_with_doubles, 10_000));
    let ints = ok!(ThreadCreate(0, compute_with_integers, 10_000));
    let done = eventually(|| SUM_BITS.load(SeqCst) != 0);
    let (f, i) = (
        ok!(taskman::thread_state(floats)),
        ok!(taskman::thread_state(ints)),
    );
    GO.store(true, SeqCst);
    ok!(ThreadJoin(floats));
    ok!(ThreadJoin(ints));
    // The sum of 1/i² to 10,000 terms is pi²/6 - 1/10,000 or so.
    let sum = SUM_BITS.load(SeqCst);
    if !done || !(1_644_800..=1_644_850).contains(&sum) {
        fail!("the sum came out {sum} millionths");
    }
    if !f.fpu {
        fail!("the thread that computed with doubles has its FPU off");
    }
    if i.fpu {
        fail!("the thread that never used floats has its FPU on");
    }
    Ok(())
}
