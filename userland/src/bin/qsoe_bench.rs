//! Benchmarks that need processes. Prints `bench:` lines; never fails on
//! a number. The IPC series run between the same two processes,
//! `/bin/bench-peer serve` and `/bin/bench-peer client` (see there): both
//! on core 0, then the client again on core 1.

#![no_std]
#![no_main]

use libqsoe::fmt::FmtBuf;
use libqsoe::neutrino::{ChannelCreate, ChannelDestroy, MsgInfo, MsgReceive, MsgReply};
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
    let client_core = if qsoe_userland::cores() > 1 { 1 } else { 0 };
    for (mode, core) in [(&b"same"[..], 0), (b"cross", client_core)] {
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
    wait_ok(server)
}

fn spawn(argv: &[&[u8]], core: u64) -> Result<Pid, libqsoe::errno::Errno> {
    let none: [&[u8]; 0] = [];
    let options = SpawnOptions {
        core: Some(core),
        block_bits: 0,
    };
    taskman::spawn("/bin/bench-peer", argv.iter().copied(), none, options)
}

fn wait_ok(pid: Pid) -> Result<(), &'static str> {
    match taskman::waitpid(pid, 0) {
        Ok((_, 0)) => Ok(()),
        _ => Err("a benchmark peer failed"),
    }
}

/// Starts the server on core 0; answers its pid and its two chids
/// (passive, fixed priority), which it announces on a channel made here.
fn start_server() -> Result<(Pid, [i32; 2]), &'static str> {
    let chid = ChannelCreate(0).map_err(|_| "ChannelCreate")?;
    let me = FmtBuf::<16>::from_display(taskman::getpid());
    let chid_s = FmtBuf::<16>::from_display(chid);
    let argv = [
        b"bench-peer".as_slice(),
        b"serve",
        me.as_bytes(),
        chid_s.as_bytes(),
    ];
    let server = spawn(&argv, 0).map_err(|_| "spawn the server")?;
    let mut buf = [0u8; 8];
    let mut info = MsgInfo::default();
    let rcvid = MsgReceive(chid, &mut buf, Some(&mut info)).map_err(|_| "MsgReceive")?;
    if info.pid != server || info.msglen != 8 {
        return Err("the server's announcement");
    }
    MsgReply(rcvid, 0, &[]).map_err(|_| "MsgReply")?;
    ChannelDestroy(chid).map_err(|_| "ChannelDestroy")?;
    let word = |i: usize| i32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    Ok((server, [word(0), word(4)]))
}
