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
//! - `event-client`: makes a channel and a connection to it, sends the
//!   test a `SIGEV_PULSE` event for that connection (code 9, value
//!   `EVENT_VALUE`), waits for the pulse, and sends the test what arrived:
//!   the pulse's code, value and scoid, and the connection's coid.
//! - `plain-send`: sends on the connection with raw `seL4_Send` and
//!   `seL4_NBSend` instead of `Call` (lending the server no scheduling
//!   context, and wanting no reply), then waits to be killed.
//! - `threads-then-exit` (no PID/CHID): starts threads that wait for
//!   ever (in `MsgReceive`, in `ThreadJoin`, yielding) and exits 0.
//! - `thread-fault` (no PID/CHID): one thread waits in `MsgReceive`,
//!   another dereferences NULL while the first waits to join it.
#![no_std]
#![no_main]

use libqsoe::abi::event::{SigEvent, SIGEV_PULSE_PRIO_INHERIT};
use libqsoe::abi::ipc::{Coid, Pulse, PULSE_BYTES};
use libqsoe::errno::Errno;
use libqsoe::neutrino::{
    ChannelCreate, ConnectAttach, MsgReceive, MsgReply, MsgSend, MsgSendPulse,
};
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::Pid;
use qsoe_userland::parse_int;
use sel4_sys::MessageInfo;

libqsoe::main!(main);

fn main() -> i32 {
    let args = libqsoe::args();
    match args.get(1) {
        Some(b"threads-then-exit") => return threads_then_exit(),
        Some(b"thread-fault") => return thread_fault(),
        _ => {}
    }
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
        b"event-client" => event_client(coid),
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
        b"plain-send" => {
            let Some(c) = Coid::decode(coid) else {
                return 1;
            };
            let text = u64::from_le_bytes(*b"plain!!!");
            let info = MessageInfo::new(8, 0, 0, 1);
            sel4_sys::send(c.slot(), info, [text, 0, 0, 0]);
            sel4_sys::nb_send(c.slot(), info, [text, 0, 0, 0]);
            libqsoe::taskman::pause();
            0
        }
        _ => 2,
    }
}

/// The value `event-client` asks for: all 64 bits of a `union sigval`.
const EVENT_VALUE: u64 = 0x1234_5678_9abc_def0;

fn event_client(server: i32) -> i32 {
    let Ok(chid) = ChannelCreate(0) else {
        return 5;
    };
    let Ok(own) = ConnectAttach(0, libqsoe::taskman::getpid(), chid, 0, 0) else {
        return 6;
    };
    let event = SigEvent::pulse(own, SIGEV_PULSE_PRIO_INHERIT, 9, EVENT_VALUE);
    if MsgSend(server, &event.to_bytes(), &mut []).is_err() {
        return 7;
    }
    let mut buf = [0u8; PULSE_BYTES];
    if MsgReceive(chid, &mut buf, None) != Ok(0) {
        return 8;
    }
    let p = Pulse::from_bytes(&buf);
    let mut report = [0u8; 32];
    for (i, w) in [p.code as i64 as u64, p.value, p.scoid as u64, own as u64]
        .iter()
        .enumerate()
    {
        report[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    match MsgSend(server, &report, &mut []) {
        Ok(_) => 0,
        Err(_) => 9,
    }
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
    serve_on(chid, once, count.unwrap_or(1))
}

fn serve_on(chid: i32, once: bool, count: i64) -> i32 {
    let mut msg = [0u8; 256];
    let rounds = if once { 1 } else { count };
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

extern "C" fn receive_for_ever(_: usize) -> usize {
    let Ok(chid) = ChannelCreate(0) else {
        return 1;
    };
    let mut buf = [0u8; 8];
    loop {
        let _ = MsgReceive(chid, &mut buf, None);
    }
}

extern "C" fn yield_for_ever(_: usize) -> usize {
    loop {
        sel4_sys::yield_now();
    }
}

extern "C" fn join_for_ever(tid: usize) -> usize {
    ThreadJoin(tid as i32).unwrap_or(0)
}

extern "C" fn null_deref(_: usize) -> usize {
    // SAFETY: none; the fault is the point.
    unsafe { core::ptr::read_volatile(core::ptr::null::<usize>()) }
}

fn threads_then_exit() -> i32 {
    let started = ThreadCreate(0, receive_for_ever, 0)
        .and_then(|_| ThreadCreate(0, yield_for_ever, 0))
        .and_then(|spinner| ThreadCreate(0, join_for_ever, spinner as usize));
    match started {
        Ok(_) => 0,
        Err(_) => 1,
    }
}

fn thread_fault() -> i32 {
    let faulting = ThreadCreate(0, receive_for_ever, 0)
        .and_then(|_| ThreadCreate(0, null_deref, 0))
        .and_then(ThreadJoin);
    // The fault ends the process while this thread waits.
    match faulting {
        Ok(_) => 1,
        Err(_) => 2,
    }
}
