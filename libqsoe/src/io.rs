//! POSIX I/O as QNX does it: a file descriptor is a coid. `open` asks
//! taskman's path manager which servers cover the path, connects to each
//! in turn and sends `_IO_CONNECT` with the rest of the path; the first
//! that does not answer `ENOENT` decides. Every other call is one QNX
//! I/O message (`qsoe_abi::iomsg`) on the descriptor's connection.
//!
//! Reads and writes larger than the IPC buffer lend the caller's buffer
//! to the server for the call (`MsgSendv`), up to `MAX_BULK_BYTES` at
//! once: a `read` asks for no more than that (and may answer less, as
//! POSIX allows); a `write` sends larger data in pieces.

use crate::errno::{Errno, EBADF, EINVAL, ENOENT, ENOTDIR};
use crate::neutrino::{ConnectAttach, ConnectDetach, ConnectServerInfo, MsgSend, MsgSendv};
use crate::taskman;
use qsoe_abi::iomsg::{
    connect, dirent, ftype, io, ioflag, short_header, IoConnect, IoDevctl, IoDup, IoLseek,
    IoTransfer,
};
use qsoe_abi::ipc::{cof, Coid, MAX_BULK_BYTES, MAX_MSG_BYTES};
use qsoe_abi::path::{normalise, remainder};
use qsoe_abi::wire::{self, op, Resolved, MAX_RESOLVED, MAX_WORDS};
use sel4_sys::Word;

pub use qsoe_abi::iomsg::oflag::*;
pub use qsoe_abi::iomsg::{dcmd, mode, Stat, SEEK_CUR, SEEK_END, SEEK_SET};

/// Every registration covering `path`, in the order to try them, into
/// `out`; answers how many.
pub fn resolve(path: &[u8], out: &mut [Resolved; MAX_RESOLVED]) -> Result<usize, Errno> {
    let mut words = [0 as Word; MAX_WORDS];
    let n = wire::encode_path_resolve(&mut words, path)?;
    let r = taskman::request(op::PATH_RESOLVE, &words[..n])?;
    let count = (r[0] as usize).min(MAX_RESOLVED);
    for (i, slot) in out.iter_mut().enumerate().take(count) {
        let at = 1 + i * Resolved::WORDS;
        *slot = r
            .get(at..at + Resolved::WORDS)
            .and_then(Resolved::from_words)
            .ok_or(EINVAL)?;
    }
    Ok(count)
}

/// Sends an `_IO_CONNECT` for `path` to each server covering it until
/// one takes it; answers the connection it took it on.
pub(crate) fn connect_path(
    path: &[u8],
    subtype: u16,
    oflag: u32,
    mode: u32,
    file_type: u32,
) -> Result<i32, Errno> {
    let path = normalise(path)?;
    let mut found = [Resolved::default(); MAX_RESOLVED];
    let count = resolve(path, &mut found)?;
    let mut msg = [0u8; MAX_MSG_BYTES];
    let mut last = ENOENT;
    for r in &found[..count] {
        let header = IoConnect {
            subtype,
            file_type,
            handle: r.handle,
            ioflag: ioflag(oflag),
            mode,
            ..Default::default()
        };
        let len = header.encode(remainder(path, r.prefix_len as usize), &mut msg)?;
        // A server that ended since it resolved is like one that says no.
        let Ok(coid) = ConnectAttach(0, r.pid, r.chid, 0, 0) else {
            continue;
        };
        match MsgSend(coid, &msg[..len], &mut []) {
            Ok(_) => return Ok(coid),
            Err(e) => {
                let _ = ConnectDetach(coid);
                if e != ENOENT {
                    return Err(e);
                }
                last = e;
            }
        }
    }
    Err(last)
}

/// `open`: a descriptor for `path`, opened with `oflag`.
pub fn open(path: &str, oflag: u32) -> Result<i32, Errno> {
    connect_path(path.as_bytes(), connect::OPEN, oflag, 0o666, ftype::ANY)
}

/// `unlink`: asks the server of `path` to remove it.
pub fn unlink(path: &str) -> Result<(), Errno> {
    let coid = connect_path(path.as_bytes(), connect::UNLINK, 0, 0, ftype::ANY)?;
    let _ = ConnectDetach(coid);
    Ok(())
}

/// `close`: the server hears `_IO_CLOSE`, then the connection goes.
pub fn close(fd: i32) -> Result<(), Errno> {
    let closed = MsgSend(fd, &short_header(io::CLOSE)[..4], &mut []);
    // A server that is gone cannot close; the connection still goes.
    ConnectDetach(fd)?;
    closed.map(drop).or_else(|e| match e {
        crate::errno::ESRVRFAULT | EBADF => Ok(()),
        e => Err(e),
    })
}

/// `read`: up to `buf.len()` bytes (at most `MAX_BULK_BYTES` at once).
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    let want = buf.len().min(MAX_BULK_BYTES);
    let header = IoTransfer {
        nbytes: want as u32,
        xtype: 0,
    }
    .encode(io::READ);
    let n = MsgSend(fd, &header, &mut buf[..want])?;
    usize::try_from(n).map(|n| n.min(want)).map_err(|_| EINVAL)
}

/// `write`: all of `data`, in pieces that fit a message, unless the
/// server takes less of one.
pub fn write(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    const PIECE: usize = MAX_BULK_BYTES - IoTransfer::BYTES;
    let mut done = 0;
    loop {
        let piece = &data[done..data.len().min(done + PIECE)];
        let header = IoTransfer {
            nbytes: piece.len() as u32,
            xtype: 0,
        }
        .encode(io::WRITE);
        let n = MsgSendv(fd, &[&header, piece], &mut [])?;
        let n = usize::try_from(n).map_err(|_| EINVAL)?.min(piece.len());
        done += n;
        if n < piece.len() || done == data.len() {
            return Ok(done);
        }
    }
}

/// `lseek`: the new offset.
pub fn lseek(fd: i32, offset: i64, whence: i16) -> Result<i64, Errno> {
    let mut reply = [0u8; 8];
    MsgSend(fd, &IoLseek { whence, offset }.encode(), &mut reply)?;
    Ok(i64::from_le_bytes(reply))
}

/// `fstat`.
pub fn fstat(fd: i32) -> Result<Stat, Errno> {
    let mut reply = [0u8; Stat::BYTES];
    MsgSend(fd, &short_header(io::STAT), &mut reply)?;
    Stat::from_bytes(&reply)
}

/// `devctl`: command `dcmd` with `data` (sent if the command goes to the
/// device, filled if it comes from it); answers the command's own value.
pub fn devctl(fd: i32, dcmd: u32, data: &mut [u8]) -> Result<i32, Errno> {
    let n = data.len().min(MAX_MSG_BYTES - IoDevctl::BYTES);
    let header = IoDevctl {
        dcmd,
        nbytes: n as u32,
    }
    .encode();
    let mut msg = [0u8; MAX_MSG_BYTES];
    msg[..IoDevctl::BYTES].copy_from_slice(&header);
    let mut len = IoDevctl::BYTES;
    if dcmd & dcmd::TO_DEVICE != 0 {
        msg[len..len + n].copy_from_slice(&data[..n]);
        len += n;
    }
    let mut head = [0u8; IoDevctl::REPLY_BYTES];
    MsgSendv(fd, &[&msg[..len]], &mut [&mut head[..], &mut data[..n]])?;
    Ok(IoDevctl::decode_reply(&head)?.0)
}

/// `dup`: a new descriptor sharing `fd`'s open (its offset included).
pub fn dup(fd: i32) -> Result<i32, Errno> {
    let server = ConnectServerInfo(0, fd)?;
    let new = ConnectAttach(0, server.pid, server.chid, 0, 0)?;
    share_open(fd, new)
}

/// `dup2`: `newfd` becomes a descriptor for the open `fd` names (after
/// `newfd` is closed, if it was open); answers `newfd`. `EBADF` if `fd` is
/// not open or `newfd` is no regular descriptor; `EBUSY` if `newfd`'s
/// slot holds another descriptor (one of the same slot in another
/// generation, which this system's descriptors carry).
pub fn dup2(fd: i32, newfd: i32) -> Result<i32, Errno> {
    let server = ConnectServerInfo(0, fd)?;
    if fd == newfd {
        return Ok(newfd);
    }
    if Coid::decode(newfd).is_none_or(|c| c.side) {
        return Err(EBADF);
    }
    if ConnectServerInfo(0, newfd).is_ok() {
        close(newfd)?;
    }
    let new = ConnectAttach(0, server.pid, server.chid, newfd, cof::EXACT_COID)?;
    share_open(fd, new)
}

/// Asks the server of connection `new` (the same as `fd`'s) to let it share
/// `fd`'s open (`_IO_DUP`): its offset and mode. Detaches `new` if it will
/// not.
fn share_open(fd: i32, new: i32) -> Result<i32, Errno> {
    let msg = IoDup {
        pid: taskman::getpid(),
        scoid: fd,
        coid: fd,
    }
    .encode();
    match MsgSend(new, &msg, &mut []) {
        Ok(_) => Ok(new),
        Err(e) => {
            let _ = ConnectDetach(new);
            Err(e)
        }
    }
}

/// An open directory (`DIR`): entries are read from the server a
/// buffer at a time.
pub struct Dir {
    fd: i32,
    buf: [u8; 512],
    len: usize,
    at: usize,
}

/// `opendir`.
pub fn opendir(path: &str) -> Result<Dir, Errno> {
    let fd = open(path, O_RDONLY)?;
    match fstat(fd) {
        Ok(st) if st.is_dir() => Ok(Dir {
            fd,
            buf: [0; 512],
            len: 0,
            at: 0,
        }),
        other => {
            let _ = close(fd);
            Err(other.err().unwrap_or(ENOTDIR))
        }
    }
}

impl Dir {
    /// `readdir`: the next entry's inode and name, `None` at the end.
    pub fn read(&mut self) -> Result<Option<(u64, &[u8])>, Errno> {
        if self.at >= self.len {
            self.len = read(self.fd, &mut self.buf)?;
            self.at = 0;
            if self.len == 0 {
                return Ok(None);
            }
        }
        let (ino, _, reclen) = dirent::get(&self.buf[self.at..self.len]).ok_or(EINVAL)?;
        let start = self.at;
        self.at += reclen;
        let (_, name, _) = dirent::get(&self.buf[start..self.len]).ok_or(EINVAL)?;
        Ok(Some((ino, name)))
    }

    /// `rewinddir`.
    pub fn rewind(&mut self) -> Result<(), Errno> {
        lseek(self.fd, 0, SEEK_SET)?;
        self.len = 0;
        self.at = 0;
        Ok(())
    }

    /// `closedir`.
    pub fn close(self) -> Result<(), Errno> {
        close(self.fd)
    }
}
