//! Benchmarks that need processes. Prints `bench:` lines; never fails on
//! a number. The IPC series run between the same two processes,
//! `/bin/bench-peer serve` and `/bin/bench-peer client` (see there): both
//! on core 0, then, if there is a second core, the client again on core 1.
//!
//! Then bulk data: a 1 MiB `read` from a resource manager
//! (`/bin/resmgr-peer big`, whose reply taskman copies straight into this
//! process's lent buffer: one copy) against a 1 MiB `memcpy` between two
//! buffers of this process, each the fastest of `BULK_ROUNDS`, after one
//! round that maps the pages into taskman's direct map.

#![no_std]
#![no_main]

use libqsoe::fmt::FmtBuf;
use libqsoe::io::{close, lseek, open, read, write, O_RDWR, O_TRUNC, SEEK_SET};
use libqsoe::neutrino::{
    ChannelCreate, ChannelDestroy, ConnectAttach, MsgReceive, MsgReply, MsgSend,
};
use libqsoe::println;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::Pid;
use qsoe_userland::cycles;

libqsoe::main!(main);

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("qsoe-bench: {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let (server, chids) = start_server()?;
    let cross = (qsoe_userland::cores() > 1).then_some((&b"cross"[..], 1));
    for (mode, core) in [(&b"same"[..], 0)].into_iter().chain(cross) {
        let pid = FmtBuf::<16>::from_display(server);
        let p = FmtBuf::<16>::from_display(chids[0]);
        let f = FmtBuf::<16>::from_display(chids[1]);
        let argv = [
            b"bench-peer".as_slice(),
            b"client",
            pid.as_bytes(),
            p.as_bytes(),
            f.as_bytes(),
            mode,
        ];
        let client = spawn(&argv, core).map_err(|_| "spawn the client")?;
        wait_ok(client)?;
    }
    // Each client leaves both server threads in their QNX phase.
    for chid in chids {
        let coid = ConnectAttach(0, server, chid, 0, 0).map_err(|_| "attach to the server")?;
        MsgSend(coid, b"stop", &mut []).map_err(|_| "stop the server")?;
    }
    wait_ok(server)?;
    bulk()?;
    timer_wakeup()
}

/// Wakeup latency, measured by a sleeper on taskman's core (0) and, with
/// more than one core, by one on core 1 (whose wakeup needs an IPI). Not
/// in the exact boot, whose instruction-counted time the board's clock
/// alarm does not follow.
fn timer_wakeup() -> Result<(), &'static str> {
    if qsoe_userland::counts_instructions() {
        return Ok(());
    }
    let cross = (qsoe_userland::cores() > 1).then_some((&b"_cross_core"[..], 1));
    for (suffix, core) in [(&b""[..], 0)].into_iter().chain(cross) {
        let sleeper =
            spawn(&[b"bench-peer", b"sleep", suffix], core).map_err(|_| "spawn the sleeper")?;
        wait_ok(sleeper)?;
    }
    Ok(())
}

const MIB: usize = 1 << 20;
const BULK_ROUNDS: usize = 8;
/// Where the bulk server attaches: under `/dev/name/local`, where every
/// process may.
const BULK_PATH: &str = "/dev/name/local/bench-bulk";

struct BulkBuffers {
    file: [u8; MIB],
    read: [u8; MIB],
    copy: [u8; MIB],
}

static mut BULK: BulkBuffers = BulkBuffers {
    file: [0; MIB],
    read: [0; MIB],
    copy: [0; MIB],
};

fn bulk() -> Result<(), &'static str> {
    // SAFETY: this is the program's only thread, and the only reference.
    let b = unsafe { &mut *core::ptr::addr_of_mut!(BULK) };
    for (i, x) in b.file.iter_mut().enumerate() {
        *x = (i * 13 + (i >> 12)) as u8;
    }
    let server = start_bulk_server()?;
    let fd = open(BULK_PATH, O_RDWR | O_TRUNC).map_err(|_| "open the bulk file")?;
    if write(fd, &b.file) != Ok(MIB) {
        return Err("write the bulk file");
    }
    let (mut read_best, mut copy_best) = (u64::MAX, u64::MAX);
    // Round 0 warms up: taskman maps the pages it copies through once.
    for round in 0..=BULK_ROUNDS {
        lseek(fd, 0, SEEK_SET).map_err(|_| "seek the bulk file")?;
        let start = cycles();
        let n = read(fd, &mut b.read);
        let took = cycles() - start;
        if n != Ok(MIB) || b.read != b.file {
            return Err("read the bulk file back");
        }
        let start = cycles();
        // SAFETY: two distinct static buffers of MIB bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(
                core::hint::black_box(b.file.as_ptr()),
                core::hint::black_box(b.copy.as_mut_ptr()),
                MIB,
            )
        };
        let copied = cycles() - start;
        core::hint::black_box(&b.copy);
        if round > 0 {
            read_best = read_best.min(took);
            copy_best = copy_best.min(copied);
        }
    }
    let _ = close(fd);
    let exact = qsoe_userland::counts_instructions();
    let unit = if exact { "instructions" } else { "cycles" };
    let suffix = if exact { "" } else { "_host_time" };
    println!("bench: read_1mib_{unit} {read_best}");
    println!("bench: memcpy_1mib_{unit} {copy_best}");
    println!(
        "bench: read_1mib_vs_memcpy{suffix} {}",
        qsoe_userland::Ratio(read_best, copy_best)
    );
    let _ = taskman::kill(server, libqsoe::signal::SIGKILL);
    let _ = taskman::waitpid(server, 0);
    Ok(())
}

/// `/bin/resmgr-peer PID CHID big BULK_PATH`, once it says it attached.
fn start_bulk_server() -> Result<Pid, &'static str> {
    let chid = ChannelCreate(0).map_err(|_| "ChannelCreate")?;
    let me = FmtBuf::<16>::from_display(taskman::getpid());
    let ch = FmtBuf::<16>::from_display(chid);
    let argv = [
        b"resmgr-peer".as_slice(),
        me.as_bytes(),
        ch.as_bytes(),
        b"big",
        BULK_PATH.as_bytes(),
    ];
    let options = SpawnOptions {
        core: Some(0),
        block_bits: 0,
        ..SpawnOptions::default()
    };
    let none: [&[u8]; 0] = [];
    let server = taskman::spawn("/bin/resmgr-peer", argv, none, options)
        .map_err(|_| "spawn the bulk server")?;
    let mut status = [0u8; 4];
    let rcvid = MsgReceive(chid, &mut status, None).map_err(|_| "hear the bulk server")?;
    let _ = MsgReply(rcvid, 0, &[]);
    let _ = ChannelDestroy(chid);
    if status != [0; 4] {
        return Err("the bulk server could not attach");
    }
    Ok(server)
}

fn spawn(argv: &[&[u8]], core: u64) -> Result<Pid, libqsoe::errno::Errno> {
    let options = SpawnOptions {
        core: Some(core),
        block_bits: 0,
        ..SpawnOptions::default()
    };
    // The environment says what the cycle counter counts (`QSOE_CLOCK`).
    let env = libqsoe::args().env();
    taskman::spawn("/bin/bench-peer", argv.iter().copied(), env, options)
}

fn wait_ok(pid: Pid) -> Result<(), &'static str> {
    match taskman::waitpid(pid, 0) {
        Ok((_, 0)) => Ok(()),
        _ => Err("a benchmark peer failed"),
    }
}

/// Starts the server on core 0; answers its pid and its two chids
/// (passive, fixed priority), which it announces.
fn start_server() -> Result<(Pid, [i32; 2]), &'static str> {
    let mut chids = [0u8; 8];
    let server =
        qsoe_userland::start_server(b"/bin/bench-peer", b"serve", b"", Some(0), &mut chids)
            .map_err(|e| {
                println!("qsoe-bench: {e}");
                "start the server"
            })?;
    let word = |i: usize| i32::from_le_bytes([chids[i], chids[i + 1], chids[i + 2], chids[i + 3]]);
    Ok((server, [word(0), word(4)]))
}
