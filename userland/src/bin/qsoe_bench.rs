//! Benchmarks that need processes. Prints `bench:` lines; never fails on
//! a number. Taskman measured the raw seL4 round trip in the same boot and
//! passes it in `QSOE_RAW_ROUND_TRIP_CYCLES`, so costs come out as ratios.

#![no_std]
#![no_main]

use libqsoe::fmt::FmtBuf;
use libqsoe::println;
use libqsoe::taskman::{self, SpawnOptions};
use qsoe_userland::{cycles, start_ipc_server};

libqsoe::main!(main);

const ROUNDS: u64 = 200;

fn main() -> i32 {
    let args = libqsoe::args();
    let raw = args
        .getenv("QSOE_RAW_ROUND_TRIP_CYCLES")
        .and_then(|c| qsoe_userland::parse_int(c.as_bytes()))
        .unwrap_or(0) as u64;
    let argv: [&[u8]; 1] = [b"true"];
    let none: [&[u8]; 0] = [];
    // Same core as the measurement of the raw round trip.
    let options = SpawnOptions {
        core: Some(0),
        block_bits: 0,
    };
    let start = cycles();
    for _ in 0..ROUNDS {
        let ok = taskman::spawn("/bin/true", argv, none, options)
            .and_then(|pid| taskman::waitpid(pid, 0));
        if let Err(e) = ok {
            println!("qsoe-bench: spawn /bin/true: {e}");
            return 1;
        }
    }
    let per_cycle = (cycles() - start) / ROUNDS;
    println!("bench: spawn_exit_wait_cycles {per_cycle}");
    if raw == 0 {
        println!("qsoe-bench: no raw round trip from taskman; no ratio");
        return 1;
    }
    println!("bench: spawn_exit_wait_in_roundtrips {}", per_cycle / raw);
    match msgsend(raw) {
        Ok(()) => 0,
        Err(why) => {
            println!("qsoe-bench: MsgSend benchmark: {why}");
            1
        }
    }
}

/// MsgSend/MsgReceive/MsgReply round trips between two processes on
/// core 0, against raw seL4 Call/ReplyRecv between the same two processes
/// on the same caps: a server and a timing client, both `/bin/ipc-peer`.
fn msgsend(raw: u64) -> Result<(), &'static str> {
    // Per batch; the peers run ten batches of each kind.
    const SENDS: u64 = 200;
    let core0 = SpawnOptions {
        core: Some(0),
        block_bits: 0,
    };
    let none: [&[u8]; 0] = [];
    let sends = FmtBuf::<16>::from_display(SENDS);
    let (server, server_chid) = start_ipc_server(b"bench-serve", sends.as_bytes(), core0.core)
        .map_err(|e| {
            println!("qsoe-bench: {e}");
            "start the server"
        })?;
    let server_chid = FmtBuf::<16>::from_display(server_chid);
    let server_s = FmtBuf::<16>::from_display(server);
    let raw_s = FmtBuf::<24>::from_display(raw);
    let client_argv = [
        b"ipc-peer".as_slice(),
        b"bench-client",
        server_s.as_bytes(),
        server_chid.as_bytes(),
        sends.as_bytes(),
        raw_s.as_bytes(),
    ];
    let client =
        taskman::spawn("/bin/ipc-peer", client_argv, none, core0).map_err(|_| "spawn client")?;
    for pid in [client, server] {
        match taskman::waitpid(pid, 0) {
            Ok((_, 0)) => {}
            _ => return Err("a peer failed"),
        }
    }
    Ok(())
}
