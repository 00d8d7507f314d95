//! The two sides of the IPC benchmark, started by `/bin/qsoe-bench`:
//!
//! - `bench-peer serve PID CHID`: makes a passive channel (served by this
//!   thread) and an `_NTO_CHF_FIXED_PRIORITY` one (served by a second
//!   thread, which keeps its own scheduling context), announces both
//!   chids to channel CHID of PID, and serves both until each gets `stop`.
//! - `bench-peer client PID CHID_P CHID_F MODE`: times the series below
//!   against that server and prints `bench:` lines; MODE `same` (the
//!   client on the server's core, also timing spawn) or `cross` (on
//!   another core, `MsgSend` alone).
//!
//! Each server thread has two phases, switched by the client. In the raw
//! phase it answers raw seL4 calls on its channel's endpoint with
//! `seL4_ReplyRecv`, as a bare seL4 server does; a raw call labelled
//! `SWITCH` moves it to the QNX phase, where it answers `MsgSend` with
//! `MsgReceive`/`MsgReply`; the message `raw` moves it back.
//!
//! Every series is `BATCHES` batches of `ROUNDS`, interleaved, and its
//! figure is the fastest batch's mean: a batch that the host slowed (QEMU
//! flushing its soft TLB, another host thread) says nothing about the
//! guest, and the fastest of many repeats from boot to boot.
#![no_std]
#![no_main]

use core::fmt::Display;
use core::sync::atomic::{AtomicI32, Ordering::SeqCst};
use libqsoe::abi::ipc::Coid;
use libqsoe::abi::layout::slot;
use libqsoe::abi::wire::{SpawnPhase, SpawnProfile};
use libqsoe::neutrino::{
    channel_endpoint, chf, flush_reply, reply_alone, reserve_reply_object, ChannelCreate,
    ConnectAttach, MsgInfo, MsgReceive, MsgReply, MsgSend, MsgSendPulse,
};
use libqsoe::println;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::time::{monotonic_ns, sleep_until};
use libqsoe::Pid;
use qsoe_userland::{cycles, parse_int, Ratio};
use sel4_sys::MessageInfo;

libqsoe::main!(main);

const ROUNDS: u64 = 200;
const BATCHES: usize = 40;
/// Spawns of `/bin/true` timed, one at a time.
const SPAWNS: u64 = 50;
/// The raw call that ends a raw phase.
const SWITCH: u64 = 0x53;

fn main() -> i32 {
    let args = libqsoe::args();
    let int = |i: usize| args.get(i).and_then(parse_int);
    match (args.get(1), int(2), int(3)) {
        (Some(b"serve"), Some(pid), Some(chid)) => serve(pid as Pid, chid as i32),
        (Some(b"client"), Some(pid), Some(chid_p)) => match (int(4), args.get(5)) {
            (Some(chid_f), Some(mode)) => client(pid as Pid, [chid_p as i32, chid_f as i32], mode),
            _ => 2,
        },
        (Some(b"sleep"), _, _) => timer_wakeup(args.get(2).unwrap_or(b"")),
        _ => 2,
    }
}

static FIXED_CHID: AtomicI32 = AtomicI32::new(0);

fn serve(pid: Pid, chid: i32) -> i32 {
    let Ok(starter) = ConnectAttach(0, pid, chid, 0, 0) else {
        return 3;
    };
    let Ok(passive) = ChannelCreate(0) else {
        return 4;
    };
    let Ok(fixed_server) = ThreadCreate(0, serve_fixed, 0) else {
        return 5;
    };
    while FIXED_CHID.load(SeqCst) == 0 {
        sel4_sys::yield_now();
    }
    let fixed = FIXED_CHID.load(SeqCst);
    let mut chids = [0u8; 8];
    chids[..4].copy_from_slice(&passive.to_le_bytes());
    chids[4..].copy_from_slice(&fixed.to_le_bytes());
    if fixed < 0 || MsgSend(starter, &chids, &mut []).is_err() {
        return 6;
    }
    let served = serve_on(passive);
    match ThreadJoin(fixed_server) {
        Ok(0) if served => 0,
        _ => 7,
    }
}

extern "C" fn serve_fixed(_: usize) -> usize {
    let Ok(chid) = ChannelCreate(chf::FIXED_PRIORITY) else {
        FIXED_CHID.store(-1, SeqCst);
        return 1;
    };
    FIXED_CHID.store(chid, SeqCst);
    !serve_on(chid) as usize
}

/// Serves channel `chid` in both phases until `stop`; answers whether it
/// ended that way.
fn serve_on(chid: i32) -> bool {
    let (Ok(endpoint), Ok(raw_reply)) = (channel_endpoint(chid), reserve_reply_object()) else {
        return false;
    };
    let mut buf = [0u8; 64];
    loop {
        // The raw phase: the QNX phase's last reply goes out first.
        flush_reply();
        let reply = slot::REPLY_BASE + raw_reply as u64;
        let mut msg = sel4_sys::recv(endpoint, reply);
        while msg.info.label() != SWITCH {
            msg = sel4_sys::reply_recv(endpoint, MessageInfo::new(0, 0, 0, 1), msg.mrs, reply);
        }
        reply_alone(raw_reply, MessageInfo::new(0, 0, 0, 0), [0; 4]);
        // The QNX phase.
        loop {
            let mut info = MsgInfo::default();
            let Ok(rcvid) = MsgReceive(chid, &mut buf, Some(&mut info)) else {
                return false;
            };
            if rcvid == 0 {
                continue;
            }
            let n = info.msglen.min(buf.len());
            if MsgReply(rcvid, n as i32, &buf[..n]).is_err() {
                return false;
            }
            match &buf[..n] {
                b"raw" => break,
                b"stop" => {
                    flush_reply();
                    return true;
                }
                _ => {}
            }
        }
    }
}

/// The fastest batch's mean, in cycles per round, of each series.
#[derive(Clone, Copy)]
struct Fastest([u64; SERIES]);

const SERIES: usize = 5;
const RAW_PASSIVE: usize = 0;
const MSGSEND_PASSIVE: usize = 1;
const RAW_ACTIVE: usize = 2;
const MSGSEND_ACTIVE: usize = 3;
const PULSE_THEN_MSGSEND: usize = 4;

fn client(pid: Pid, chids: [i32; 2], mode: &[u8]) -> i32 {
    let (Ok(passive), Ok(fixed)) = (
        ConnectAttach(0, pid, chids[0], 0, 0),
        ConnectAttach(0, pid, chids[1], 0, 0),
    ) else {
        return 3;
    };
    let cross = mode == b"cross";
    let Some(fastest) = time_series(passive, fixed, cross) else {
        return 4;
    };
    let f = fastest.0;
    let out = Lines::for_this_boot();
    if cross {
        out.figure("msgsend_cross_core", f[MSGSEND_PASSIVE]);
        return 0;
    }
    // Both servers are left in the QNX phase, for the next client.
    for coid in [passive, fixed] {
        let cap = Coid::decode(coid).map_or(0, |c| c.slot());
        sel4_sys::call(cap, MessageInfo::new(SWITCH, 0, 0, 0), [0; 4]);
    }
    out.figure("raw_passive", f[RAW_PASSIVE]);
    out.figure("raw_active", f[RAW_ACTIVE]);
    out.figure("msgsend_passive", f[MSGSEND_PASSIVE]);
    out.figure("msgsend_active", f[MSGSEND_ACTIVE]);
    out.figure(
        "pulse",
        f[PULSE_THEN_MSGSEND].saturating_sub(f[MSGSEND_PASSIVE]),
    );
    out.ratio("raw_active_vs_raw_passive", f[RAW_ACTIVE], f[RAW_PASSIVE]);
    out.ratio(
        "msgsend_active_vs_raw_active",
        f[MSGSEND_ACTIVE],
        f[RAW_ACTIVE],
    );
    out.ratio("msgsend_vs_raw_passive", f[MSGSEND_PASSIVE], f[RAW_PASSIVE]);
    let Some((per_spawn, profile)) = spawn_exit_wait() else {
        return 6;
    };
    out.figure("spawn_exit_wait", per_spawn);
    out.ratio(
        "spawn_exit_wait_in_raw_active_roundtrips",
        per_spawn,
        f[RAW_ACTIVE],
    );
    // Where a spawn's time goes inside taskman, per spawn; the rest is
    // the requests' IPC, scheduling, `/bin/true` itself and `waitpid`.
    let mut inside = 0;
    for phase in SpawnPhase::ALL {
        let per = profile.ticks[phase as usize] / SPAWNS;
        inside += per;
        out.figure(format_args!("spawn_phase_{}", phase.name()), per);
    }
    out.figure("spawn_phase_other", per_spawn.saturating_sub(inside));
    0
}

/// How this boot's lines are named: by what the cycle counter counts.
/// Exact boots (guest instructions, `QSOE_CLOCK=instructions`) print the
/// headline ratios; host-time boots mark theirs `_host_time`.
struct Lines {
    exact: bool,
}

impl Lines {
    fn for_this_boot() -> Self {
        Lines {
            exact: qsoe_userland::counts_instructions(),
        }
    }

    fn figure(&self, name: impl Display, value: u64) {
        let unit = if self.exact { "instructions" } else { "cycles" };
        println!("bench: {name}_{unit} {value}");
    }

    fn ratio(&self, name: &str, a: u64, b: u64) {
        let suffix = if self.exact { "" } else { "_host_time" };
        println!("bench: {name}{suffix} {}", Ratio(a, b));
    }
}

fn time_series(passive: i32, fixed: i32, cross: bool) -> Option<Fastest> {
    let mut fastest = Fastest([u64::MAX; SERIES]);
    let mut keep = |series: usize, batch: Option<u64>| -> Option<()> {
        let b = batch?;
        fastest.0[series] = fastest.0[series].min(b);
        Some(())
    };
    for _ in 0..BATCHES {
        if cross {
            keep(MSGSEND_PASSIVE, msgsend_batch(passive, false, false))?;
            continue;
        }
        // Each server thread waits in its raw phase.
        keep(RAW_PASSIVE, raw_batch(passive))?;
        keep(MSGSEND_PASSIVE, msgsend_batch(passive, false, true))?;
        keep(RAW_ACTIVE, raw_batch(fixed))?;
        keep(MSGSEND_ACTIVE, msgsend_batch(fixed, false, true))?;
        raw_batch(passive)?;
        keep(PULSE_THEN_MSGSEND, msgsend_batch(passive, true, true))?;
    }
    Some(fastest)
}

/// `ROUNDS` raw calls of one word, then the switch to the QNX phase.
fn raw_batch(coid: i32) -> Option<u64> {
    let cap = Coid::decode(coid)?.slot();
    let one_word = MessageInfo::new(0, 0, 0, 1);
    let start = cycles();
    for i in 0..ROUNDS {
        sel4_sys::call(cap, one_word, [i, 0, 0, 0]);
    }
    let per = (cycles() - start) / ROUNDS;
    sel4_sys::call(cap, MessageInfo::new(SWITCH, 0, 0, 0), [0; 4]);
    Some(per)
}

/// `ROUNDS` `MsgSend`s of 8 bytes (each after a pulse, if `pulse`), then
/// the switch back to the raw phase if `to_raw`.
fn msgsend_batch(coid: i32, pulse: bool, to_raw: bool) -> Option<u64> {
    let mut back = [0u8; 8];
    let start = cycles();
    for _ in 0..ROUNDS {
        if pulse {
            MsgSendPulse(coid, 10, 1, 0).ok()?;
        }
        if MsgSend(coid, b"12345678", &mut back) != Ok(8) {
            return None;
        }
    }
    let per = (cycles() - start) / ROUNDS;
    if to_raw {
        MsgSend(coid, b"raw", &mut back).ok()?;
    }
    Some(per)
}

/// Cycles per spawn, exit and wait of `/bin/true` on this core, and
/// taskman's profile of those spawns.
fn spawn_exit_wait() -> Option<(u64, SpawnProfile)> {
    let argv: [&[u8]; 1] = [b"true"];
    let none: [&[u8]; 0] = [];
    let options = SpawnOptions {
        core: Some(0),
        block_bits: 0,
        ..SpawnOptions::default()
    };
    taskman::spawn_profile().ok()?;
    let start = cycles();
    for _ in 0..SPAWNS {
        let pid = taskman::spawn("/bin/true", argv, none, options).ok()?;
        taskman::waitpid(pid, 0).ok()?;
    }
    let per = (cycles() - start) / SPAWNS;
    let profile = taskman::spawn_profile().ok()?;
    (profile.spawns == SPAWNS).then_some((per, profile))
}

/// Sleeps of 1 ms, each woken by taskman's timer path (RTC alarm, the
/// request loop, the sleeper's reply object).
const WAKEUPS: usize = 1_000;

/// How late 1,000 wakeups from 1 ms sleeps are, in µs of host time: the
/// median and the worst, on the line `timer_wakeup_latency_us` followed
/// by `suffix`.
fn timer_wakeup(suffix: &[u8]) -> i32 {
    // The harness samples the host's own 1 ms sleeps from here to the
    // result line.
    println!("bench-phase: wakeups");
    let mut late = [0u64; WAKEUPS];
    for l in late.iter_mut() {
        let deadline = monotonic_ns() + 1_000_000;
        if sleep_until(deadline).is_err() {
            return 3;
        }
        *l = monotonic_ns().saturating_sub(deadline) / 1_000;
    }
    let over = late.iter().filter(|&&l| l > 1_000).count();
    late.sort_unstable();
    let suffix = core::str::from_utf8(suffix).unwrap_or("");
    println!(
        "bench: timer_wakeup_latency_us{suffix} median {} worst {} over_1ms {over}",
        late[WAKEUPS / 2],
        late[WAKEUPS - 1]
    );
    0
}
