//! A resource manager for the pathname-space tests:
//! `resmgr-peer PID CHID ROLE ARG...` attaches, tells the test on its
//! channel CHID of process PID that it is ready (a message `ready`, or
//! the errno its attach failed with), then:
//!
//! - `files PREFIX FLAGS NAME=TEXT...`: serves PREFIX (with
//!   `_RESMGR_FLAG_*` FLAGS) as the files NAME (an empty NAME is the
//!   prefix itself), each starting as TEXT, readable and writable (up to
//!   256 bytes); other names are `ENOENT`.
//! - `pool PREFIX`: two threads serve PREFIX; a read waits (up to a few
//!   seconds) until two reads are in the server at once, then answers
//!   `pool`, or `alone` if the other never came.
//! - `name NAME`: `name_attach(NAME)`; answers `_IO_CONNECT` and echoes
//!   every other message reversed.
//! - `big PREFIX`: serves PREFIX as one file of up to `BIG_BYTES`, empty
//!   at first (and after an `O_TRUNC` open), read and written through
//!   lent buffers.
//! - `offsets NAME`: `name_attach(NAME)`; checks each lent message's
//!   bytes (byte i is `pattern(i)`) with `MsgRead` at offsets in and past
//!   the IPC buffer's reach, and replies as many bytes of
//!   `pattern(i + 1)` with `MsgWrite` at offsets in and past it; a
//!   mismatch is answered `EIO`.
//! - `keep NAME`: `name_attach(NAME)`; remembers who lent its first
//!   message, and answers each later one with how many of the 256 lease
//!   ids still let it read that client's memory.
//! - `try PREFIX`: only attaches, and exits with 0 or the errno.
//!
//! It serves until it is killed.
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use libqsoe::abi::iomsg::{io, message_type};
use libqsoe::errno::{Errno, EINVAL, ENOENT, ENOSPC};
use libqsoe::io::{Stat, O_TRUNC};
use libqsoe::neutrino::{
    read_lent, ConnectAttach, MsgError, MsgInfo, MsgRead, MsgReceive, MsgReply, MsgSend, MsgWrite,
};
use libqsoe::resmgr::{Client, Dispatch, Ocb, ReadReply, ResourceManager, WriteData};
use libqsoe::thread::ThreadCreate;
use libqsoe::Pid;
use qsoe_userland::parse_int;

libqsoe::main!(main);

const FILES: usize = 4;
const NAME_MAX: usize = 32;
const TEXT_MAX: usize = 256;

/// A file's bytes, shared by the server's threads without a lock.
struct File {
    name: [u8; NAME_MAX],
    name_len: usize,
    text: [AtomicU8; TEXT_MAX],
    len: AtomicUsize,
}

struct Files {
    files: [File; FILES],
    count: usize,
}

impl Files {
    fn find(&self, name: &[u8]) -> Option<usize> {
        self.files[..self.count]
            .iter()
            .position(|f| &f.name[..f.name_len] == name)
    }
}

impl ResourceManager for Files {
    type Attr = usize;

    fn open(&self, _handle: u32, path: &[u8], ioflag: u32, _c: Client) -> Result<usize, Errno> {
        let i = self.find(path).ok_or(ENOENT)?;
        if ioflag & O_TRUNC != 0 {
            self.files[i].len.store(0, Ordering::Release);
        }
        Ok(i)
    }

    fn read(&self, ocb: &Ocb<usize>, reply: &mut ReadReply) -> Result<(), Errno> {
        let f = &self.files[ocb.attr];
        let len = f.len.load(Ordering::Acquire);
        let from = (ocb.offset as usize).min(len);
        let mut out = [0u8; TEXT_MAX];
        for (o, b) in out.iter_mut().zip(&f.text[from..len]) {
            *o = b.load(Ordering::Relaxed);
        }
        reply.write(&out[..len - from]).map(drop)
    }

    fn write(&self, ocb: &Ocb<usize>, data: &mut WriteData) -> Result<usize, Errno> {
        let f = &self.files[ocb.attr];
        let at = ocb.offset as usize;
        if at >= TEXT_MAX {
            return Err(ENOSPC);
        }
        let mut bytes = [0u8; TEXT_MAX];
        let n = data.read(&mut bytes[..TEXT_MAX - at])?;
        for (b, &d) in f.text[at..at + n].iter().zip(&bytes) {
            b.store(d, Ordering::Relaxed);
        }
        f.len.fetch_max(at + n, Ordering::AcqRel);
        Ok(n)
    }

    fn size(&self, attr: &usize) -> u64 {
        self.files[*attr].len.load(Ordering::Acquire) as u64
    }
}

/// The pool role's manager: reads meet.
struct Meeting {
    inside: AtomicU32,
}

impl ResourceManager for Meeting {
    type Attr = ();

    fn open(&self, _: u32, path: &[u8], _: u32, _: Client) -> Result<(), Errno> {
        if path.is_empty() {
            Ok(())
        } else {
            Err(ENOENT)
        }
    }

    fn read(&self, ocb: &Ocb<()>, reply: &mut ReadReply) -> Result<(), Errno> {
        if ocb.offset != 0 {
            return Ok(());
        }
        self.inside.fetch_add(1, Ordering::AcqRel);
        let mut met = false;
        for _ in 0..200_000 {
            if self.inside.load(Ordering::Acquire) >= 2 {
                met = true;
                break;
            }
            sel4_sys::yield_now();
        }
        let text: &[u8] = if met { b"pool" } else { b"alone" };
        reply.write(text).map(drop)
    }

    fn stat(&self, _: &Ocb<()>) -> Stat {
        Stat::default()
    }
}

/// The most the `big` role's file holds.
const BIG_BYTES: usize = 3 << 19;

/// The `big` role's file: one thread serves it, so no lock.
struct Big {
    bytes: UnsafeCell<[u8; BIG_BYTES]>,
    len: AtomicUsize,
}

// SAFETY: only the one serving thread touches the bytes.
unsafe impl Sync for Big {}

static BIG: Big = Big {
    bytes: UnsafeCell::new([0; BIG_BYTES]),
    len: AtomicUsize::new(0),
};

impl ResourceManager for &'static Big {
    type Attr = ();

    fn open(&self, _: u32, path: &[u8], ioflag: u32, _: Client) -> Result<(), Errno> {
        if !path.is_empty() {
            return Err(ENOENT);
        }
        if ioflag & O_TRUNC != 0 {
            self.len.store(0, Ordering::Release);
        }
        Ok(())
    }

    fn read(&self, ocb: &Ocb<()>, reply: &mut ReadReply) -> Result<(), Errno> {
        let len = self.len.load(Ordering::Acquire);
        let from = (ocb.offset as usize).min(len);
        // SAFETY: one thread serves, and nothing writes while it reads.
        let bytes = unsafe { &*self.bytes.get() };
        reply.write(&bytes[from..len]).map(drop)
    }

    fn write(&self, ocb: &Ocb<()>, data: &mut WriteData) -> Result<usize, Errno> {
        let at = (ocb.offset as usize).min(BIG_BYTES);
        // SAFETY: as in `read`.
        let bytes = unsafe { &mut *self.bytes.get() };
        let n = data.read(&mut bytes[at..])?;
        self.len.fetch_max(at + n, Ordering::AcqRel);
        Ok(n)
    }

    fn size(&self, _: &()) -> u64 {
        self.len.load(Ordering::Acquire) as u64
    }
}

/// What the `offsets` role and its test agree a message's byte `i` is.
pub fn pattern(i: usize) -> u8 {
    (i * 7 + 3) as u8
}

/// Tells the test we are ready (status 0) or why not.
fn report(pid: Pid, chid: i32, result: Result<(), Errno>) {
    let Ok(coid) = ConnectAttach(0, pid, chid, 0, 0) else {
        return;
    };
    let status = match result {
        Ok(()) => [0u8; 4],
        Err(e) => e.0.to_le_bytes(),
    };
    let _ = MsgSend(coid, &status, &mut []);
}

fn main() -> i32 {
    let args = libqsoe::args();
    let (Some(pid), Some(chid), Some(role)) = (
        args.get(1).and_then(parse_int),
        args.get(2).and_then(parse_int),
        args.get(3),
    ) else {
        return 2;
    };
    let (pid, chid) = (pid as Pid, chid as i32);
    let arg = |i: usize| args.str(i).unwrap_or("");
    match role {
        b"files" => serve_files(pid, chid, arg(4), parse_int(arg(5).as_bytes()), &args),
        b"pool" => serve_pool(pid, chid, arg(4)),
        b"name" => serve_name(pid, chid, arg(4)),
        b"big" => {
            let d = match Dispatch::<&'static Big, 8>::new(&BIG) {
                Ok(d) => d,
                Err(e) => return e.0 as i32,
            };
            let attached = d.attach(arg(4), 0, 0).map(drop);
            report(pid, chid, attached);
            if attached.is_err() {
                return 1;
            }
            d.run()
        }
        b"offsets" => serve_offsets(pid, chid, arg(4)),
        b"keep" => serve_keep(pid, chid, arg(4)),
        b"try" => {
            let r = Dispatch::<Meeting, 1>::new(Meeting {
                inside: AtomicU32::new(0),
            })
            .and_then(|d| d.attach(arg(4), 0, 0));
            match r {
                Ok(_) => 0,
                Err(e) => e.0 as i32,
            }
        }
        _ => 2,
    }
}

fn serve_files(
    pid: Pid,
    chid: i32,
    prefix: &str,
    flags: Option<i64>,
    args: &libqsoe::args::Args,
) -> i32 {
    let mut files = Files {
        files: core::array::from_fn(|_| File {
            name: [0; NAME_MAX],
            name_len: 0,
            text: [const { AtomicU8::new(0) }; TEXT_MAX],
            len: AtomicUsize::new(0),
        }),
        count: 0,
    };
    for a in (6..args.len()).filter_map(|i| args.get(i)) {
        let Some(eq) = a.iter().position(|&b| b == b'=') else {
            return 2;
        };
        let (name, text) = (&a[..eq], &a[eq + 1..]);
        if files.count == FILES || name.len() > NAME_MAX || text.len() > TEXT_MAX {
            return 2;
        }
        let f = &mut files.files[files.count];
        f.name[..name.len()].copy_from_slice(name);
        f.name_len = name.len();
        for (b, &t) in f.text.iter().zip(text) {
            b.store(t, Ordering::Relaxed);
        }
        f.len.store(text.len(), Ordering::Relaxed);
        files.count += 1;
    }
    let Some(flags) = flags else { return 2 };
    let dispatch = match Dispatch::<Files, 16>::new(files) {
        Ok(d) => d,
        Err(e) => return e.0 as i32,
    };
    let attached = dispatch.attach(prefix, flags as u32, 0).map(drop);
    report(pid, chid, attached);
    if attached.is_err() {
        return 1;
    }
    dispatch.run()
}

/// The pool role's dispatch, for its second thread to reach.
static mut POOL: Option<Dispatch<Meeting, 8>> = None;

extern "C" fn pool_thread(_: usize) -> usize {
    // SAFETY: set before the thread was made, never changed after.
    let d = unsafe { (*core::ptr::addr_of!(POOL)).as_ref() };
    match d {
        Some(d) => d.run(),
        None => 1,
    }
}

fn serve_pool(pid: Pid, chid: i32, prefix: &str) -> i32 {
    let d = match Dispatch::new(Meeting {
        inside: AtomicU32::new(0),
    }) {
        Ok(d) => d,
        Err(e) => return e.0 as i32,
    };
    // SAFETY: no other thread runs yet.
    unsafe { *core::ptr::addr_of_mut!(POOL) = Some(d) };
    // SAFETY: as in `pool_thread`.
    let Some(d) = (unsafe { (*core::ptr::addr_of!(POOL)).as_ref() }) else {
        return 1;
    };
    let attached = d
        .attach(prefix, 0, 0)
        .map(drop)
        .and_then(|()| ThreadCreate(0, pool_thread, 0).map(drop));
    report(pid, chid, attached);
    if attached.is_err() {
        return 1;
    }
    d.run()
}

/// Attaches `name`, reports, then answers every `_IO_CONNECT` itself and
/// hands each other message (its rcvid, its info, its bytes) to `answer`.
fn name_server(
    pid: Pid,
    chid: i32,
    name: &str,
    mut answer: impl FnMut(i32, &MsgInfo, &mut [u8]),
) -> i32 {
    let attach = libqsoe::name::name_attach(name);
    report(pid, chid, attach.map(drop));
    let Ok(attach) = attach else { return 1 };
    let mut buf = [0u8; 256];
    loop {
        let mut info = MsgInfo::default();
        let Ok(rcvid) = MsgReceive(attach.chid, &mut buf, Some(&mut info)) else {
            continue;
        };
        if rcvid == 0 {
            continue;
        }
        let n = info.msglen.min(buf.len());
        if message_type(&buf[..n]) == Some(io::CONNECT) {
            let _ = MsgReply(rcvid, 0, &[]);
            continue;
        }
        answer(rcvid, &info, &mut buf[..n]);
    }
}

fn serve_name(pid: Pid, chid: i32, name: &str) -> i32 {
    name_server(pid, chid, name, |rcvid, _, msg| {
        let _ = if msg.is_empty() {
            MsgError(rcvid, EINVAL)
        } else {
            msg.reverse();
            MsgReply(rcvid, msg.len() as i32, msg)
        };
    })
}

/// Whether the lent message `rcvid` of `total` bytes holds the pattern,
/// read back at offsets around the IPC buffer's reach and page edges.
fn check_offsets(rcvid: i32, total: usize) -> bool {
    let offsets = [
        0,
        5,
        959,
        960,
        961,
        4095,
        4096,
        9000,
        total.saturating_sub(2),
    ];
    offsets.iter().filter(|&&o| o < total).all(|&o| {
        let mut got = [0u8; 3];
        let want = (total - o).min(3);
        MsgRead(rcvid, &mut got, o) == Ok(want) && (0..want).all(|k| got[k] == pattern(o + k))
    })
}

/// Replies `total` bytes of `pattern(i + 1)`, written in three parts:
/// one within the IPC buffer's reach, one across it, one past it.
fn reply_offsets(rcvid: i32, total: usize) -> Result<(), Errno> {
    let mut chunk = [0u8; 4096];
    let cuts = [0, 100.min(total), 5000.min(total), total];
    for w in cuts.windows(2) {
        let mut at = w[0];
        while at < w[1] {
            let n = (w[1] - at).min(chunk.len());
            for (k, c) in chunk[..n].iter_mut().enumerate() {
                *c = pattern(at + k + 1);
            }
            MsgWrite(rcvid, &chunk[..n], at)?;
            at += n;
        }
    }
    MsgReply(rcvid, total as i32, &[])
}

fn serve_offsets(pid: Pid, chid: i32, name: &str) -> i32 {
    name_server(pid, chid, name, |rcvid, info, _| {
        let total = info.srcmsglen;
        if !check_offsets(rcvid, total) || reply_offsets(rcvid, total).is_err() {
            let _ = MsgError(rcvid, libqsoe::errno::EIO);
        }
    })
}

fn serve_keep(pid: Pid, chid: i32, name: &str) -> i32 {
    let mut lender: Option<(Pid, i32, i32)> = None;
    name_server(pid, chid, name, |rcvid, info, _| {
        let mut b = [0u8; 1];
        let status = match lender {
            None if info.srcmsglen > info.msglen => {
                lender = Some((info.pid, info.scoid, rcvid));
                // Reachable while the call lasts.
                MsgRead(rcvid, &mut b, info.srcmsglen - 1).map_or(-1, |n| n as i32)
            }
            None => -2,
            Some((client, scoid, old)) => {
                let by_rcvid = MsgRead(old, &mut b, 2000).is_ok() as i32;
                let by_lease = (0..=255u8)
                    .filter(|&l| read_lent(client, scoid, l, 0, &mut b).is_ok())
                    .count() as i32;
                by_rcvid + by_lease
            }
        };
        let _ = MsgReply(rcvid, status, &[]);
    })
}
