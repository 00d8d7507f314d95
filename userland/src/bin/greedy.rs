//! `greedy ROLE ...`: a process that asks taskman for too much, for the
//! security tests.
//!
//! - `census`: asks for a census; exits 0 if it got one, else the errno.
//! - `spawn-profile`: the same for taskman's spawn profile.
//! - `spawn [threads=N] [budget=B] [bits=B] PATH ARG...`: runs PATH with
//!   the arguments and exits with its exit status (128 + the signal if it
//!   was killed; 200 + the errno if the spawn was refused). `threads` and
//!   `budget` narrow the child's grant to N threads and B bytes, `bits`
//!   asks for a block of 2^B bytes.
//! - `count WHAT`: makes threads, channels, connections or children
//!   (`/bin/pause`) until refused, gives them all back, and exits with how
//!   many it held at the refusal (connections: fds 0 to 2 included), plus
//!   `BUDGET_REFUSED` if the refusal was `ENOMEM`; 200 if it was neither
//!   that nor `EAGAIN`, 2 if WHAT is none of those.
//! - `bomb BITS [DEPTH CHID]`: spawns copies of itself (three at most,
//!   six levels deep), each with an untyped block of 2^BITS bytes, until
//!   taskman refuses; each copy does the same. A copy that is done (its
//!   own copies reaped) tells its parent on the parent's channel CHID and
//!   waits for the answer, which the parent gives once it is done
//!   spawning: so memory comes back only when a whole subtree is done.
//!   Exits 0 if the tree was refused somewhere, every refusal was `EAGAIN`
//!   (a quota) or `ENOMEM`, and every copy ended well; 1 if it was never
//!   refused.
//! - `hold N PID CHID`: spawns N `/bin/pause` children (fewer if refused),
//!   makes a channel, and sends `[children, chid]` (two words) to channel
//!   CHID of process PID. When a message comes on its channel it replies,
//!   kills its children, reaps them and exits 0.
//! - `debug-call N`: makes debug system call N (0: `DebugPutChar`, ...,
//!   7: `DebugGetThreadAffinity`); on a kernel without them the process is
//!   killed (SIGSYS), so exit 0 means the call ran.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};
use libqsoe::errno::{EAGAIN, ENOMEM};
use libqsoe::neutrino::{
    ChannelCreate, ChannelDestroy, ConnectAttach, ConnectDetach, MsgReceive, MsgReply, MsgSend,
};
use libqsoe::signal::SIGKILL;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::wait::{WEXITSTATUS, WIFEXITED, WTERMSIG};
use libqsoe::Pid;
use qsoe_userland::{decimal, parse_int};

libqsoe::main!(main);

const NO_ENV: [&[u8]; 0] = [];

fn main() -> i32 {
    let args = libqsoe::args();
    let arg = |i| args.get(i).unwrap_or(b"");
    let int = |i| parse_int(arg(i));
    match arg(1) {
        b"census" => match taskman::census() {
            Ok(_) => 0,
            Err(e) => e.0 as i32,
        },
        b"spawn-profile" => match taskman::spawn_profile() {
            Ok(_) => 0,
            Err(e) => e.0 as i32,
        },
        b"spawn" => {
            let mut options = SpawnOptions::default();
            let mut at = 2;
            while let Some((key, value)) = option(arg(at)) {
                match key {
                    b"threads" => options.grant.limits.threads = value,
                    b"budget" => options.grant.limits.budget = value,
                    b"bits" => options.block_bits = value.min(255) as u8,
                    _ => return 2,
                }
                at += 1;
            }
            let Some(path) = args.get(at).and_then(|p| core::str::from_utf8(p).ok()) else {
                return 2;
            };
            // The path stands as the child's argv[0].
            let argv = args.iter().skip(at);
            match taskman::spawn(path, argv, NO_ENV, options) {
                Ok(pid) => match taskman::waitpid(pid, 0) {
                    Ok((_, s)) if WIFEXITED(s) => WEXITSTATUS(s),
                    Ok((_, s)) => 128 + WTERMSIG(s) as i32,
                    Err(_) => 3,
                },
                Err(e) => 200 + e.0 as i32 % 50,
            }
        }
        b"bomb" => match (int(2), int(3), int(4)) {
            (Some(bits), depth, chid) if (12..40).contains(&bits) => bomb(
                arg(2),
                bits as u8,
                depth.unwrap_or(BOMB_DEPTH),
                chid.map(|c| c as i32),
            ),
            _ => 2,
        },
        b"hold" => match (int(2), int(3), int(4)) {
            (Some(n), Some(pid), Some(chid)) => hold(n as usize, pid as Pid, chid as i32),
            _ => 2,
        },
        b"count" => count(arg(2)),
        b"debug-call" => match int(2) {
            Some(n) if (0..DEBUG_CALLS as i64).contains(&n) => debug_call(n as isize),
            _ => 2,
        },
        _ => 2,
    }
}

/// `key=value` with a decimal value.
fn option(arg: &[u8]) -> Option<(&[u8], u64)> {
    let at = arg.iter().position(|&b| b == b'=')?;
    let value = parse_int(&arg[at + 1..])?;
    Some((&arg[..at], u64::try_from(value).ok()?))
}

/// Added to `count`'s exit status when the refusal was `ENOMEM` (the
/// budget), not `EAGAIN` (a quota).
const BUDGET_REFUSED: i32 = 64;
/// The most of anything `count` holds: more than any quota allows.
const COUNT_MAX: usize = 512;

/// Threads `count` makes wait here until it is done.
static RELEASE: AtomicBool = AtomicBool::new(false);

extern "C" fn wait_for_release(arg: usize) -> usize {
    while !RELEASE.load(Ordering::Acquire) {
        sel4_sys::yield_now();
    }
    arg
}

fn count(what: &[u8]) -> i32 {
    let mut held = [0i32; COUNT_MAX];
    let mut made = 0;
    let mut chid = None;
    if what == b"connections" {
        match ChannelCreate(0) {
            Ok(c) => chid = Some(c),
            Err(_) => return 3,
        }
    }
    let me = taskman::getpid();
    let refusal = loop {
        let next = match what {
            b"threads" => ThreadCreate(0, wait_for_release, made),
            b"channels" => ChannelCreate(0),
            b"connections" => ConnectAttach(0, me, chid.unwrap_or(0), 0, 0),
            b"children" => taskman::spawn(
                "/bin/pause",
                [b"pause".as_slice()],
                NO_ENV,
                Default::default(),
            ),
            _ => return 2,
        };
        match next {
            Ok(h) if made < held.len() => {
                held[made] = h;
                made += 1;
            }
            Ok(_) => return 4,
            Err(e) => break e,
        }
    };
    RELEASE.store(true, Ordering::Release);
    for &h in &held[..made] {
        let given_back = match what {
            b"threads" => ThreadJoin(h).map(drop),
            b"channels" => ChannelDestroy(h),
            b"connections" => ConnectDetach(h),
            _ => taskman::kill(h, SIGKILL).and_then(|()| taskman::waitpid(h, 0).map(drop)),
        };
        if given_back.is_err() {
            return 5;
        }
    }
    if let Some(c) = chid {
        let _ = ChannelDestroy(c);
    }
    // fds 0, 1 and 2 are connections too.
    let held = if what == b"connections" {
        made + 3
    } else {
        made
    };
    libqsoe::println!(
        "greedy: held {held} {}, then {}",
        core::str::from_utf8(what).unwrap_or("?"),
        refusal.name()
    );
    match refusal {
        EAGAIN => held as i32,
        ENOMEM => BUDGET_REFUSED + held as i32,
        _ => 200,
    }
}

/// Children a copy in the bomb spawns at most, and the depth of the tree:
/// 1,093 processes at most, many more than RAM holds with big blocks.
const BOMB_FAN_OUT: usize = 3;
const BOMB_DEPTH: i64 = 6;

/// Exit status of a bomb copy whose tree was refused somewhere (the
/// point), of one whose tree never was, and of the errors.
const REFUSED: i32 = 0;
const NEVER_REFUSED: i32 = 1;

fn bomb(bits_arg: &[u8], bits: u8, depth: i64, parent_chid: Option<i32>) -> i32 {
    let own = match ChannelCreate(0) {
        Ok(c) => c,
        Err(_) => return 5,
    };
    let options = SpawnOptions {
        core: None,
        block_bits: bits,
        ..SpawnOptions::default()
    };
    let mut chid_arg = [0u8; 20];
    let mut depth_arg = [0u8; 20];
    let chid_arg = decimal(&mut chid_arg, own as u64);
    let depth_arg = decimal(&mut depth_arg, depth.saturating_sub(1).max(0) as u64);
    let argv: [&[u8]; 5] = [b"greedy", b"bomb", bits_arg, depth_arg, chid_arg];
    // 1. Copies, until refused.
    let mut children = 0;
    let mut refusal = None;
    while depth > 0 && children < BOMB_FAN_OUT {
        match taskman::spawn("/bin/greedy", argv, NO_ENV, options) {
            Ok(_) => children += 1,
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let mut status = match refusal {
        None => NEVER_REFUSED,
        Some(EAGAIN | ENOMEM) => REFUSED,
        Some(_) => 3,
    };
    // 2. Each child, done with its own tree, waits for word from here: so
    //    nothing of this tree is given back while it could still spawn.
    for _ in 0..children {
        match MsgReceive(own, &mut [], None) {
            Ok(rcvid) if rcvid > 0 => {
                let _ = MsgReply(rcvid, 0, &[]);
            }
            _ => status = 6,
        }
    }
    // 3. Every child reaped.
    for _ in 0..children {
        match taskman::waitpid(-1, 0) {
            Ok((_, s)) if WIFEXITED(s) && WEXITSTATUS(s) == REFUSED => {
                if status == NEVER_REFUSED {
                    status = REFUSED;
                }
            }
            Ok((_, s)) if WIFEXITED(s) && WEXITSTATUS(s) == NEVER_REFUSED => {}
            _ => status = 4,
        }
    }
    // 4. Tell the parent, and wait for its word.
    if let Some(chid) = parent_chid {
        let sent = ConnectAttach(0, taskman::getppid(), chid, 0, 0)
            .and_then(|coid| MsgSend(coid, b"done", &mut []));
        if sent.is_err() {
            status = 7;
        }
    }
    status
}

fn hold(n: usize, pid: Pid, chid: i32) -> i32 {
    let mut children: [Pid; 256] = [0; 256];
    let mut held = 0;
    for c in children.iter_mut().take(n) {
        match taskman::spawn(
            "/bin/pause",
            [b"pause".as_slice()],
            NO_ENV,
            Default::default(),
        ) {
            Ok(p) => {
                *c = p;
                held += 1;
            }
            Err(_) => break,
        }
    }
    let (Ok(own), Ok(coid)) = (ChannelCreate(0), ConnectAttach(0, pid, chid, 0, 0)) else {
        return 3;
    };
    let mut ready = [0u8; 16];
    ready[..8].copy_from_slice(&(held as u64).to_le_bytes());
    ready[8..].copy_from_slice(&(own as u64).to_le_bytes());
    if MsgSend(coid, &ready, &mut []).is_err() {
        return 4;
    }
    let rcvid = match MsgReceive(own, &mut [], None) {
        Ok(r) if r > 0 => r,
        _ => return 5,
    };
    let _ = MsgReply(rcvid, 0, &[]);
    let mut status = 0;
    for &c in &children[..held] {
        if taskman::kill(c, SIGKILL).is_err() {
            status = 6;
        }
    }
    for &c in &children[..held] {
        match taskman::waitpid(c, 0) {
            Ok((_, s)) if !WIFEXITED(s) && WTERMSIG(s) == SIGKILL => {}
            _ => status = 7,
        }
    }
    status
}

/// The kernel's debug system calls, `DebugPutChar` (-12) down to
/// `DebugGetThreadAffinity` (-19).
const DEBUG_CALLS: usize = 8;

fn debug_call(n: isize) -> i32 {
    let number = sel4_sys::sys::DEBUG_PUT_CHAR - n;
    // Harmless arguments where the call has any: a character, the
    // process's own TCB, an empty name.
    let arg = match n {
        0 => b'.' as usize,
        _ => libqsoe::abi::layout::slot::TCB as usize,
    };
    // SAFETY: a system call that, on a debug kernel, prints, reports or
    // names this process's own TCB; on a release kernel it faults.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") arg => _,
            lateout("a1") _,
            lateout("a2") _,
            lateout("a3") _,
            lateout("a4") _,
            lateout("a5") _,
            lateout("a6") _,
            in("a7") number,
        );
    }
    0
}
