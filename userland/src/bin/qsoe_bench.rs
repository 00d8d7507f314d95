//! Benchmarks that need processes. Prints `bench:` lines; never fails on
//! a number. The IPC series run between the same two processes,
//! `/bin/bench-peer serve` and `/bin/bench-peer client` (see there): both
//! on core 0, then, if there is a second core, the client again on core 1.

#![no_std]
#![no_main]

use libqsoe::fmt::FmtBuf;
use libqsoe::neutrino::{ConnectAttach, MsgSend};
use libqsoe::println;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::Pid;

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
    wait_ok(server)
}

fn spawn(argv: &[&[u8]], core: u64) -> Result<Pid, libqsoe::errno::Errno> {
    let options = SpawnOptions {
        core: Some(core),
        block_bits: 0,
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
