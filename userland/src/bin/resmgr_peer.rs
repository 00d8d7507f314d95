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
//! - `try PREFIX`: only attaches, and exits with 0 or the errno.
//!
//! It serves until it is killed.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use libqsoe::errno::{Errno, EINVAL, ENOENT, ENOSPC};
use libqsoe::io::{Stat, O_TRUNC};
use libqsoe::neutrino::{ConnectAttach, MsgReceive, MsgReply, MsgSend};
use libqsoe::resmgr::{Client, Dispatch, Ocb, ResourceManager};
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

    fn read(&self, ocb: &Ocb<usize>, out: &mut [u8]) -> Result<usize, Errno> {
        let f = &self.files[ocb.attr];
        let len = f.len.load(Ordering::Acquire);
        let from = (ocb.offset as usize).min(len);
        let n = (len - from).min(out.len());
        for (o, b) in out[..n].iter_mut().zip(&f.text[from..]) {
            *o = b.load(Ordering::Relaxed);
        }
        Ok(n)
    }

    fn write(&self, ocb: &Ocb<usize>, data: &[u8]) -> Result<usize, Errno> {
        let f = &self.files[ocb.attr];
        let at = ocb.offset as usize;
        if at >= TEXT_MAX {
            return Err(ENOSPC);
        }
        let n = data.len().min(TEXT_MAX - at);
        for (b, &d) in f.text[at..at + n].iter().zip(data) {
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

    fn read(&self, ocb: &Ocb<()>, out: &mut [u8]) -> Result<usize, Errno> {
        if ocb.offset != 0 {
            return Ok(0);
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
        let n = text.len().min(out.len());
        out[..n].copy_from_slice(&text[..n]);
        Ok(n)
    }

    fn stat(&self, _: &Ocb<()>) -> Stat {
        Stat::default()
    }
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

fn serve_name(pid: Pid, chid: i32, name: &str) -> i32 {
    let attach = libqsoe::name::name_attach(name);
    report(pid, chid, attach.map(drop));
    let Ok(attach) = attach else { return 1 };
    let mut buf = [0u8; 256];
    loop {
        let mut info = libqsoe::neutrino::MsgInfo::default();
        let Ok(rcvid) = MsgReceive(attach.chid, &mut buf, Some(&mut info)) else {
            continue;
        };
        if rcvid == 0 {
            continue;
        }
        let n = info.msglen.min(buf.len());
        let connect =
            libqsoe::abi::iomsg::message_type(&buf[..n]) == Some(libqsoe::abi::iomsg::io::CONNECT);
        let r = if connect {
            MsgReply(rcvid, 0, &[])
        } else if n == 0 {
            libqsoe::neutrino::MsgError(rcvid, EINVAL)
        } else {
            buf[..n].reverse();
            MsgReply(rcvid, n as i32, &buf[..n])
        };
        let _ = r;
    }
}
