//! QNX's I/O messages (`sys/iomsg.h`): what a client sends a resource
//! manager, with QNX's type numbers and header layouts, little-endian as
//! on every QNX target.
//!
//! Headers are decoded from the bytes a server received and encoded into
//! the bytes a client sends; decoding is total, since any process can
//! send any bytes: a message shorter than its header, or whose path runs
//! past its end, is `EINVAL`.

use crate::errno::{Errno, EINVAL};

/// Message types (`_IO_*`): the first 16 bits of every I/O message.
pub mod io {
    pub const CONNECT: u16 = 0x100;
    pub const READ: u16 = 0x101;
    pub const WRITE: u16 = 0x102;
    pub const STAT: u16 = 0x104;
    pub const NOTIFY: u16 = 0x105;
    pub const DEVCTL: u16 = 0x106;
    pub const PATHCONF: u16 = 0x108;
    pub const LSEEK: u16 = 0x109;
    pub const CHMOD: u16 = 0x10a;
    pub const CHOWN: u16 = 0x10b;
    pub const DUP: u16 = 0x115;
    pub const CLOSE: u16 = 0x116;
}

/// `_IO_CONNECT` subtypes (`_IO_CONNECT_*`).
pub mod connect {
    pub const COMBINE: u16 = 0;
    pub const COMBINE_CLOSE: u16 = 1;
    pub const OPEN: u16 = 2;
    pub const UNLINK: u16 = 3;
    pub const RENAME: u16 = 4;
    pub const MKNOD: u16 = 5;
    pub const READLINK: u16 = 6;
    pub const LINK: u16 = 7;
}

/// File types a connect asks for (`_FTYPE_*`).
pub mod ftype {
    pub const ANY: u32 = 0;
    pub const FILE: u32 = 1;
    /// What `name_open` asks for: a server attached with `name_attach`.
    pub const NAME: u32 = 12;
}

/// `_RESMGR_FLAG_*`: how a registration joins the pathname space.
pub mod resmgr_flag {
    /// Tried before the others at the same prefix.
    pub const BEFORE: u32 = 0x0001;
    /// Tried after the others at the same prefix.
    pub const AFTER: u32 = 0x0002;
    /// A directory: it covers every path under its prefix too.
    pub const DIR: u32 = 0x0100;
    /// Every flag a registration may carry.
    pub const KNOWN: u32 = BEFORE | AFTER | DIR;
}

/// `_IO_FLAG_RD` / `_IO_FLAG_WR`: the access an open asks for, in a
/// connect's `ioflag` (which carries the `O_*` flags with the access mode
/// as `(oflag & O_ACCMODE) + 1`, as QNX's `_connect` rewrites it).
pub const IO_FLAG_RD: u32 = 1;
pub const IO_FLAG_WR: u32 = 2;

/// `open` flags (`fcntl.h`).
pub mod oflag {
    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 1;
    pub const O_RDWR: u32 = 2;
    /// QNX 7's mask (it also holds `O_EXEC`, 3).
    pub const O_ACCMODE: u32 = 7;
    pub const O_APPEND: u32 = 0x08;
    pub const O_NONBLOCK: u32 = 0x80;
    pub const O_CREAT: u32 = 0x100;
    pub const O_TRUNC: u32 = 0x200;
    pub const O_EXCL: u32 = 0x400;
}

/// The connect's `ioflag` for `open` flags `oflag`.
pub fn ioflag(oflag: u32) -> u32 {
    (oflag & !oflag::O_ACCMODE) | ((oflag & oflag::O_ACCMODE) + 1) & oflag::O_ACCMODE
}

/// `lseek` whence values.
pub const SEEK_SET: i16 = 0;
pub const SEEK_CUR: i16 = 1;
pub const SEEK_END: i16 = 2;

/// File modes (`sys/stat.h`).
pub mod mode {
    pub const S_IFMT: u32 = 0xf000;
    pub const S_IFCHR: u32 = 0x2000;
    pub const S_IFDIR: u32 = 0x4000;
    pub const S_IFNAM: u32 = 0x5000;
    pub const S_IFREG: u32 = 0x8000;
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The type of an I/O message: its first 16 bits.
pub fn message_type(msg: &[u8]) -> Option<u16> {
    (msg.len() >= 2).then(|| u16_at(msg, 0))
}

/// `struct _io_connect`: open, unlink and the other path operations,
/// followed by the path (`path_len` bytes with its NUL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoConnect {
    pub subtype: u16,
    pub file_type: u32,
    pub reply_max: u16,
    pub handle: u32,
    pub ioflag: u32,
    pub mode: u32,
    pub path_len: u16,
}

impl IoConnect {
    pub const BYTES: usize = 40;

    /// The header and the path after it (without its NUL).
    pub fn decode(msg: &[u8]) -> Result<(Self, &[u8]), Errno> {
        if msg.len() < Self::BYTES || u16_at(msg, 0) != io::CONNECT {
            return Err(EINVAL);
        }
        let c = IoConnect {
            subtype: u16_at(msg, 2),
            file_type: u32_at(msg, 4),
            reply_max: u16_at(msg, 8),
            handle: u32_at(msg, 16),
            ioflag: u32_at(msg, 20),
            mode: u32_at(msg, 24),
            path_len: u16_at(msg, 34),
        };
        let path = msg
            .get(Self::BYTES..Self::BYTES + c.path_len as usize)
            .ok_or(EINVAL)?;
        // The path ends at its NUL, which must be there.
        let (nul, path) = path.split_last().ok_or(EINVAL)?;
        if *nul != 0 || path.contains(&0) {
            return Err(EINVAL);
        }
        Ok((c, path))
    }

    /// Writes the header for `path` into `out`; answers the message's
    /// length (header, path, NUL).
    pub fn encode(mut self, path: &[u8], out: &mut [u8]) -> Result<usize, Errno> {
        let len = Self::BYTES + path.len() + 1;
        if out.len() < len || path.len() >= u16::MAX as usize {
            return Err(crate::errno::ENAMETOOLONG);
        }
        self.path_len = path.len() as u16 + 1;
        out[..Self::BYTES].fill(0);
        put16(out, 0, io::CONNECT);
        put16(out, 2, self.subtype);
        put32(out, 4, self.file_type);
        put16(out, 8, self.reply_max);
        put32(out, 16, self.handle);
        put32(out, 20, self.ioflag);
        put32(out, 24, self.mode);
        put16(out, 34, self.path_len);
        out[Self::BYTES..len - 1].copy_from_slice(path);
        out[len - 1] = 0;
        Ok(len)
    }
}

/// `struct _io_read` and `struct _io_write` share their header: type,
/// `combine_len`, `nbytes`, `xtype`, zero. A write's data follows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoTransfer {
    pub nbytes: u32,
    pub xtype: u32,
}

impl IoTransfer {
    pub const BYTES: usize = 16;

    pub fn decode(msg: &[u8]) -> Result<Self, Errno> {
        if msg.len() < Self::BYTES {
            return Err(EINVAL);
        }
        Ok(IoTransfer {
            nbytes: u32_at(msg, 4),
            xtype: u32_at(msg, 8),
        })
    }

    pub fn encode(self, kind: u16) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        put16(&mut b, 0, kind);
        put32(&mut b, 4, self.nbytes);
        put32(&mut b, 8, self.xtype);
        b
    }
}

/// `struct _io_lseek`: type, `combine_len`, whence, zero, offset. The
/// reply is the new offset, 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoLseek {
    pub whence: i16,
    pub offset: i64,
}

impl IoLseek {
    pub const BYTES: usize = 16;

    pub fn decode(msg: &[u8]) -> Result<Self, Errno> {
        if msg.len() < Self::BYTES {
            return Err(EINVAL);
        }
        Ok(IoLseek {
            whence: u16_at(msg, 4) as i16,
            offset: u64_at(msg, 8) as i64,
        })
    }

    pub fn encode(self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        put16(&mut b, 0, io::LSEEK);
        put16(&mut b, 4, self.whence as u16);
        put64(&mut b, 8, self.offset as u64);
        b
    }
}

/// `struct _io_devctl`: type, `combine_len`, `dcmd`, `nbytes`, zero; the
/// command's data follows. Its reply (`struct _io_devctl_reply`): zero,
/// `ret_val`, `nbytes`, zero, then data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoDevctl {
    pub dcmd: u32,
    pub nbytes: u32,
}

impl IoDevctl {
    pub const BYTES: usize = 16;
    pub const REPLY_BYTES: usize = 16;

    pub fn decode(msg: &[u8]) -> Result<Self, Errno> {
        if msg.len() < Self::BYTES {
            return Err(EINVAL);
        }
        Ok(IoDevctl {
            dcmd: u32_at(msg, 4),
            nbytes: u32_at(msg, 8),
        })
    }

    pub fn encode(self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        put16(&mut b, 0, io::DEVCTL);
        put32(&mut b, 4, self.dcmd);
        put32(&mut b, 8, self.nbytes);
        b
    }

    /// The reply header: the command's return value and data bytes.
    pub fn reply(ret_val: i32, nbytes: u32) -> [u8; Self::REPLY_BYTES] {
        let mut b = [0; Self::REPLY_BYTES];
        put32(&mut b, 4, ret_val as u32);
        put32(&mut b, 8, nbytes);
        b
    }

    /// `ret_val` and `nbytes` of a reply header.
    pub fn decode_reply(b: &[u8]) -> Result<(i32, u32), Errno> {
        if b.len() < Self::REPLY_BYTES {
            return Err(EINVAL);
        }
        Ok((u32_at(b, 4) as i32, u32_at(b, 8)))
    }
}

/// Direction bits of a devctl command (`__DIOF`, `__DIOT`, `__DIOTF`),
/// and the size of its data in bits 16..30.
pub mod dcmd {
    pub const FROM_DEVICE: u32 = 0x4000_0000;
    pub const TO_DEVICE: u32 = 0x8000_0000;

    pub const fn diof(class: u32, cmd: u32, size: u32) -> u32 {
        FROM_DEVICE | (size & 0x3fff) << 16 | class << 8 | cmd
    }

    pub const fn diot(class: u32, cmd: u32, size: u32) -> u32 {
        TO_DEVICE | (size & 0x3fff) << 16 | class << 8 | cmd
    }

    /// The data size a command names.
    pub const fn size(dcmd: u32) -> u32 {
        (dcmd >> 16) & 0x3fff
    }

    /// `DCMD_ALL_GETFLAGS`: the open's flags (an `int`).
    pub const ALL_GETFLAGS: u32 = diof(1, 0x01, 4);
}

/// The pieces of QNX's `struct _msg_info` that `_IO_DUP` carries: who
/// opened the connection being duplicated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoDup {
    /// The process holding the original, and its connection (the server's
    /// scoid for it).
    pub pid: i32,
    pub scoid: i32,
    pub coid: i32,
}

impl IoDup {
    /// type, `combine_len`, `struct _msg_info` (48 bytes), reserved, key.
    pub const BYTES: usize = 60;
    /// Where the `_msg_info` fields sit: after nd and srcnd come pid,
    /// tid, chid, scoid, coid.
    const INFO: usize = 4;

    pub fn decode(msg: &[u8]) -> Result<Self, Errno> {
        if msg.len() < Self::BYTES {
            return Err(EINVAL);
        }
        Ok(IoDup {
            pid: u32_at(msg, Self::INFO + 8) as i32,
            scoid: u32_at(msg, Self::INFO + 20) as i32,
            coid: u32_at(msg, Self::INFO + 24) as i32,
        })
    }

    pub fn encode(self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        put16(&mut b, 0, io::DUP);
        put32(&mut b, Self::INFO + 8, self.pid as u32);
        put32(&mut b, Self::INFO + 20, self.scoid as u32);
        put32(&mut b, Self::INFO + 24, self.coid as u32);
        b
    }
}

/// A header of a type and `combine_len` only: `_IO_CLOSE`; `_IO_STAT`
/// adds a zero word.
pub fn short_header(kind: u16) -> [u8; 8] {
    let mut b = [0; 8];
    put16(&mut b, 0, kind);
    b
}

/// QNX 7's `struct stat` for 64-bit targets (120 bytes), the fields this
/// system fills; the rest (the old 32-bit times, the timespecs) travel as
/// zeros until there is a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub st_ino: u64,
    pub st_size: i64,
    pub st_dev: u32,
    pub st_rdev: u32,
    pub st_uid: i32,
    pub st_gid: i32,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_blksize: i32,
    pub st_blocks: i64,
}

impl Stat {
    pub const BYTES: usize = 120;

    pub fn to_bytes(&self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        put64(&mut b, 0, self.st_ino);
        put64(&mut b, 8, self.st_size as u64);
        put32(&mut b, 16, self.st_dev);
        put32(&mut b, 20, self.st_rdev);
        put32(&mut b, 24, self.st_uid as u32);
        put32(&mut b, 28, self.st_gid as u32);
        put32(&mut b, 44, self.st_mode);
        put32(&mut b, 48, self.st_nlink);
        put32(&mut b, 60, self.st_blksize as u32);
        put64(&mut b, 64, self.st_blocks as u64);
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, Errno> {
        if b.len() < Self::BYTES {
            return Err(EINVAL);
        }
        Ok(Stat {
            st_ino: u64_at(b, 0),
            st_size: u64_at(b, 8) as i64,
            st_dev: u32_at(b, 16),
            st_rdev: u32_at(b, 20),
            st_uid: u32_at(b, 24) as i32,
            st_gid: u32_at(b, 28) as i32,
            st_mode: u32_at(b, 44),
            st_nlink: u32_at(b, 48),
            st_blksize: u32_at(b, 60) as i32,
            st_blocks: u64_at(b, 64) as i64,
        })
    }

    pub fn is_dir(&self) -> bool {
        self.st_mode & mode::S_IFMT == mode::S_IFDIR
    }
}

/// `struct dirent`: what a read of a directory answers, records laid end
/// to end: `d_ino` (64), `d_offset` (64), `d_reclen` (16), `d_namelen`
/// (16), the name and its NUL, padded to 8 bytes.
pub mod dirent {
    use super::*;

    pub const HEADER: usize = 20;

    /// The bytes one entry for `name` takes.
    pub fn record_len(name: &[u8]) -> usize {
        (HEADER + name.len() + 1).next_multiple_of(8)
    }

    /// Writes an entry at the start of `out`; answers its length, or
    /// `None` if it does not fit.
    pub fn put(out: &mut [u8], ino: u64, offset: i64, name: &[u8]) -> Option<usize> {
        let len = record_len(name);
        if out.len() < len || name.len() > u16::MAX as usize {
            return None;
        }
        out[..len].fill(0);
        put64(out, 0, ino);
        put64(out, 8, offset as u64);
        put16(out, 16, len as u16);
        put16(out, 18, name.len() as u16);
        out[HEADER..HEADER + name.len()].copy_from_slice(name);
        Some(len)
    }

    /// The entry at the start of `b`: its inode, name and length; `None`
    /// where the bytes do not hold a whole one.
    pub fn get(b: &[u8]) -> Option<(u64, &[u8], usize)> {
        if b.len() < HEADER {
            return None;
        }
        let reclen = u16_at(b, 16) as usize;
        let namelen = u16_at(b, 18) as usize;
        if reclen < HEADER + namelen || reclen > b.len() {
            return None;
        }
        Some((u64_at(b, 0), &b[HEADER..HEADER + namelen], reclen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_round_trips_with_its_path() {
        let c = IoConnect {
            subtype: connect::OPEN,
            file_type: ftype::ANY,
            handle: 7,
            ioflag: ioflag(oflag::O_RDWR),
            mode: 0o644,
            ..Default::default()
        };
        let mut buf = [0u8; 64];
        let n = c.encode(b"a/b", &mut buf).unwrap();
        assert_eq!(n, 44);
        let (d, path) = IoConnect::decode(&buf[..n]).unwrap();
        assert_eq!(path, b"a/b");
        assert_eq!(d.handle, 7);
        assert_eq!(d.ioflag & 3, IO_FLAG_RD | IO_FLAG_WR);
        assert_eq!(d.path_len, 4);
        assert_eq!(IoConnect::decode(&buf[..n - 1]), Err(EINVAL), "cut short");
        buf[n - 1] = b'x';
        assert_eq!(IoConnect::decode(&buf[..n]), Err(EINVAL), "no NUL");
        assert!(c.encode(&[b'a'; 30], &mut buf).is_err(), "too long");
    }

    #[test]
    fn headers_are_qnx_sized_and_refuse_short_messages() {
        let w = IoTransfer {
            nbytes: 5,
            xtype: 0,
        }
        .encode(io::WRITE);
        assert_eq!(message_type(&w), Some(io::WRITE));
        assert_eq!(IoTransfer::decode(&w).unwrap().nbytes, 5);
        assert_eq!(IoTransfer::decode(&w[..15]), Err(EINVAL));
        let l = IoLseek {
            whence: SEEK_END,
            offset: -3,
        };
        assert_eq!(IoLseek::decode(&l.encode()), Ok(l));
        let d = IoDup {
            pid: 9,
            scoid: 1027,
            coid: 1027,
        };
        assert_eq!(IoDup::decode(&d.encode()), Ok(d));
        assert_eq!(IoDup::decode(&d.encode()[..59]), Err(EINVAL));
        assert_eq!(message_type(&[1]), None);
        assert_eq!(dcmd::ALL_GETFLAGS, 0x4004_0101);
        assert_eq!(dcmd::size(dcmd::ALL_GETFLAGS), 4);
    }

    #[test]
    fn stat_and_dirents_round_trip() {
        let s = Stat {
            st_ino: 3,
            st_size: 4096,
            st_mode: mode::S_IFREG | 0o444,
            st_nlink: 1,
            ..Default::default()
        };
        assert_eq!(Stat::from_bytes(&s.to_bytes()), Ok(s));
        assert!(!s.is_dir());
        let mut buf = [0u8; 64];
        let n = dirent::put(&mut buf, 5, 1, b"hello").unwrap();
        assert_eq!(n, 32);
        assert_eq!(dirent::get(&buf[..n]), Some((5, &b"hello"[..], 32)));
        assert_eq!(dirent::get(&buf[..n - 1]), None);
        assert_eq!(dirent::put(&mut buf[..20], 5, 1, b"x"), None);
    }
}
