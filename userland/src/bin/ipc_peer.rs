//! The other side of the IPC tests: `ipc-peer ROLE PID CHID [ARG]`
//! connects to channel CHID of process PID (the test) and then:
//!
//! - `send TEXT`: sends TEXT, expects it back reversed with status = its
//!   length; exits 0 if so.
//! - `expect-error ERRNO`: sends, expects `MsgSend` to fail with ERRNO.
//! - `pulse-then-send TARGET`: sends a pulse (code 1) on CHID to say it is
//!   about to send, then sends to the test's channel TARGET; expects
//!   `EBADF` (the test destroys TARGET).
//! - `serve-once` / `serve-echo N`: creates a channel of its own and sends
//!   its chid to the test; then receives once and exits without replying,
//!   or echoes N messages (reversed, status = length) and exits.
//! - `client-loop N`: PID/CHID is an echo server: N round trips.
//! - `bench-client N RAW`: times N round trips of 8 bytes to the echo
//!   server PID/CHID and prints them against RAW, the cycles of a raw seL4
//!   Call/ReplyRecv round trip measured in the same boot.
#![no_std]
#![no_main]

use libqsoe::errno::Errno;
use libqsoe::neutrino::{
    ChannelCreate, ConnectAttach, MsgReceive, MsgReply, MsgSend, MsgSendPulse,
};
use libqsoe::Pid;
use qsoe_userland::{cycles, parse_int};

libqsoe::main!(main);

fn main() -> i32 {
    let args = libqsoe::args();
    let (Some(role), Some(pid), Some(chid)) = (args.get(1), args.get(2), args.get(3)) else {
        return 2;
    };
    let (Some(pid), Some(chid)) = (parse_int(pid), parse_int(chid)) else {
        return 2;
    };
    let arg = args.get(4).unwrap_or(b"");
    let Ok(coid) = ConnectAttach(0, pid as Pid, chid as i32, 0, 0) else {
        return 3;
    };
    match role {
        b"send" => match round_trip(coid, arg) {
            Ok(true) => 0,
            _ => 1,
        },
        b"expect-error" => {
            let want = parse_int(arg).unwrap_or(0) as u32;
            match MsgSend(coid, b"please", &mut []) {
                Err(Errno(e)) if e == want => 0,
                _ => 1,
            }
        }
        b"pulse-then-send" => {
            let target = parse_int(arg).unwrap_or(0) as i32;
            let Ok(target) = ConnectAttach(0, pid as Pid, target, 0, 0) else {
                return 3;
            };
            if MsgSendPulse(coid, 10, 1, 0).is_err() {
                return 4;
            }
            match MsgSend(target, b"stuck", &mut []) {
                Err(libqsoe::errno::EBADF) => 0,
                _ => 1,
            }
        }
        b"serve-once" | b"serve-echo" => serve(coid, role == b"serve-once", parse_int(arg)),
        b"client-loop" => {
            let n = parse_int(arg).unwrap_or(1);
            for i in 0..n {
                let text = [b'a' + (i % 26) as u8; 40];
                if round_trip(coid, &text) != Ok(true) {
                    return 1;
                }
            }
            0
        }
        b"bench-client" => bench(coid, parse_int(arg).unwrap_or(1), args.get(5)),
        _ => 2,
    }
}

fn bench(coid: i32, rounds: i64, raw: Option<&[u8]>) -> i32 {
    let raw = raw.and_then(parse_int).unwrap_or(0) as u64;
    let mut back = [0u8; 8];
    let start = cycles();
    for _ in 0..rounds {
        if MsgSend(coid, b"12345678", &mut back) != Ok(8) {
            return 1;
        }
    }
    let per = (cycles() - start) / rounds.max(1) as u64;
    libqsoe::println!("bench: msgsend_receive_reply_cycles {per}");
    libqsoe::println!("bench: raw_call_replyrecv_cycles_same_boot {raw}");
    if raw == 0 {
        return 1;
    }
    let hundredths = per * 100 / raw;
    libqsoe::println!(
        "bench: msgsend_vs_raw_call {}.{:02}",
        hundredths / 100,
        hundredths % 100
    );
    0
}

/// Sends `text`; answers whether the echo came back right.
fn round_trip(coid: i32, text: &[u8]) -> Result<bool, Errno> {
    let mut back = [0u8; 256];
    let status = MsgSend(coid, text, &mut back)?;
    let n = text.len();
    Ok(status == n as i32 && back[..n].iter().eq(text.iter().rev()))
}

fn serve(test: i32, once: bool, count: Option<i64>) -> i32 {
    let Ok(chid) = ChannelCreate(0) else {
        return 5;
    };
    if MsgSend(test, &chid.to_le_bytes(), &mut []).is_err() {
        return 6;
    }
    let mut msg = [0u8; 256];
    let rounds = if once { 1 } else { count.unwrap_or(1) };
    for _ in 0..rounds {
        let mut info = Default::default();
        let Ok(rcvid) = MsgReceive(chid, &mut msg, Some(&mut info)) else {
            return 7;
        };
        if once {
            // Dies holding the client: the client must see ESRVRFAULT.
            return 0;
        }
        let n = info.msglen.min(msg.len());
        msg[..n].reverse();
        if rcvid > 0 && MsgReply(rcvid, n as i32, &msg[..n]).is_err() {
            return 8;
        }
    }
    0
}
