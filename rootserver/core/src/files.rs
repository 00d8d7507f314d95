//! What taskman serves as a resource manager, as QNX's process manager
//! does: the console (every process's fds 0, 1 and 2 at birth),
//! `/dev/null`, `/dev/zero`, `/proc` and the boot archive at `/` (after
//! every other server there). The decisions, apart from the messages.

use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EACCES, EINVAL, EISDIR, ENOENT, ENOTDIR, EROFS, ESPIPE};
use qsoe_abi::grants::{Abilities, Grant, Limits};
use qsoe_abi::iomsg::{
    dirent, mode, oflag, resmgr_flag, Stat, IO_FLAG_WR, SEEK_CUR, SEEK_END, SEEK_SET,
};
use qsoe_abi::Pid;

use crate::bootfs;

/// Taskman's registrations in the pathname space: prefix, flags, handle.
pub const REGISTRATIONS: [(&str, u32, u32); 4] = [
    ("/dev/null", 0, handle::NULL),
    ("/dev/zero", 0, handle::ZERO),
    ("/proc", resmgr_flag::DIR, handle::PROC),
    ("/", resmgr_flag::DIR | resmgr_flag::AFTER, handle::BOOT),
];

/// The handles taskman registers its prefixes with.
pub mod handle {
    pub const NULL: u32 = 1;
    pub const ZERO: u32 = 2;
    pub const PROC: u32 = 3;
    pub const BOOT: u32 = 4;
}

/// What an open connection to taskman's resource manager reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Console,
    Null,
    Zero,
    /// The boot archive's file at this index of its sorted names.
    Boot(usize),
    /// A directory of the boot archive ("" for its root).
    BootDir(Vec<u8>),
    /// `/proc`: a directory per process.
    ProcRoot,
    /// `/proc/<pid>`: holds `info`.
    ProcDir(Pid),
    /// `/proc/<pid>/info`: what taskman knows of the process, as text.
    ProcInfo(Pid),
}

/// An open: what it reaches, where it is, how it was opened (QNX's OCB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ocb {
    pub node: Node,
    /// Bytes into a file, or entries into a directory.
    pub offset: u64,
    /// The connect's `ioflag`: `_IO_FLAG_RD`, `_IO_FLAG_WR` and `O_*` bits.
    pub ioflag: u32,
}

impl Ocb {
    pub fn console() -> Self {
        Ocb {
            node: Node::Console,
            offset: 0,
            ioflag: qsoe_abi::iomsg::IO_FLAG_RD | IO_FLAG_WR,
        }
    }

    pub fn readable(&self) -> bool {
        self.ioflag & qsoe_abi::iomsg::IO_FLAG_RD != 0
    }

    pub fn writable(&self) -> bool {
        self.ioflag & IO_FLAG_WR != 0
    }
}

fn parse_pid(s: &[u8]) -> Option<Pid> {
    if s.is_empty() || s.len() > 10 || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    let mut v: i64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as i64;
    }
    Pid::try_from(v).ok().filter(|&p| p > 0)
}

/// Decides an `_IO_CONNECT` open of `rest` (the path under the
/// registration's prefix) through taskman's registration `handle`, asking
/// for `ioflag`. `names` are the archive's sorted names; `alive` says
/// whether a pid is a live process; `caller` is who opens (`/proc/self`).
pub fn open<N: AsRef<[u8]>>(
    handle: u32,
    rest: &[u8],
    ioflag: u32,
    names: &[N],
    alive: impl Fn(Pid) -> bool,
    caller: Pid,
) -> Result<Node, Errno> {
    let writes = ioflag & IO_FLAG_WR != 0 || ioflag & (oflag::O_CREAT | oflag::O_TRUNC) != 0;
    let node = match handle {
        handle::NULL | handle::ZERO if !rest.is_empty() => return Err(ENOTDIR),
        handle::NULL => return Ok(Node::Null),
        handle::ZERO => return Ok(Node::Zero),
        handle::PROC => {
            let mut parts = rest.split(|&b| b == b'/');
            let first = parts.next().filter(|p| !p.is_empty());
            let second = parts.next();
            if parts.next().is_some() {
                return Err(ENOENT);
            }
            match (first, second) {
                (None, _) => Node::ProcRoot,
                (Some(p), second) => {
                    let pid = if p == b"self" {
                        caller
                    } else {
                        parse_pid(p).ok_or(ENOENT)?
                    };
                    if !alive(pid) {
                        return Err(ENOENT);
                    }
                    match second {
                        None => Node::ProcDir(pid),
                        Some(b"info") => Node::ProcInfo(pid),
                        Some(_) => return Err(ENOENT),
                    }
                }
            }
        }
        handle::BOOT => match bootfs::lookup(names, rest) {
            Some(bootfs::Node::File(i)) => Node::Boot(i),
            Some(bootfs::Node::Dir) => Node::BootDir(rest.to_vec()),
            // Nothing can be made here: the archive is read-only.
            None if ioflag & oflag::O_CREAT != 0 => return Err(EROFS),
            None => return Err(ENOENT),
        },
        _ => return Err(ENOENT),
    };
    if writes {
        return Err(match node {
            Node::Boot(_) => EROFS,
            Node::BootDir(_) | Node::ProcRoot | Node::ProcDir(_) => EISDIR,
            _ => EACCES,
        });
    }
    Ok(node)
}

/// Whether `node` is a directory.
pub fn is_dir(node: &Node) -> bool {
    matches!(node, Node::BootDir(_) | Node::ProcRoot | Node::ProcDir(_))
}

/// The offset an `lseek` leads to, for a file of `size` bytes (`None`
/// for a stream, where only the null devices accept one and stay at 0).
pub fn seek(node: &Node, at: u64, size: u64, whence: i16, offset: i64) -> Result<u64, Errno> {
    match node {
        Node::Console => return Err(ESPIPE),
        Node::Null | Node::Zero => return Ok(0),
        _ => {}
    }
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => at as i128,
        SEEK_END => size as i128,
        _ => return Err(EINVAL),
    };
    let to = base + offset as i128;
    if to < 0 || to > i64::MAX as i128 {
        return Err(EINVAL);
    }
    // A directory's offset counts entries; only its start can be sought.
    if is_dir(node) && to != 0 {
        return Err(EINVAL);
    }
    Ok(to as u64)
}

/// `struct stat` for `node`, `size` bytes long, inode `ino`.
pub fn stat(node: &Node, size: u64, ino: u64) -> Stat {
    let kind = match node {
        Node::Console | Node::Null | Node::Zero => mode::S_IFCHR | 0o666,
        Node::Boot(_) | Node::ProcInfo(_) => mode::S_IFREG | 0o444,
        _ => mode::S_IFDIR | 0o555,
    };
    Stat {
        st_ino: ino,
        st_size: size as i64,
        st_mode: kind,
        st_nlink: 1,
        st_blksize: 4096,
        st_blocks: size.div_ceil(512) as i64,
        ..Default::default()
    }
}

/// Fills `out` with `struct dirent` records for the entries from the
/// `skip`th on, as many as fit; answers the bytes written and the
/// entries they hold. Each entry is a name and an inode.
pub fn read_dir<'a>(
    entries: impl Iterator<Item = (&'a [u8], u64)>,
    skip: u64,
    out: &mut [u8],
) -> (usize, u64) {
    let (mut at, mut count) = (0, 0);
    for (name, ino) in entries.skip(skip as usize) {
        let offset = (skip + count) as i64;
        match dirent::put(&mut out[at..], ino, offset, name) {
            Some(n) => {
                at += n;
                count += 1;
            }
            None => break,
        }
    }
    (at, count)
}

/// What `/proc/<pid>/info` says of a process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcInfo<'a> {
    pub pid: Pid,
    pub parent: Pid,
    pub path: &'a str,
    pub state: &'a str,
    pub core: u64,
    pub block_bytes: u64,
    pub threads: usize,
    pub channels: usize,
    pub connections: usize,
    /// What it may do and hold.
    pub grant: Option<Grant>,
}

impl ProcInfo<'_> {
    /// One `key value` line per field; the grant's line is `grant` and
    /// each limit as `key=value`, then `abilities=` and the abilities'
    /// names separated by commas.
    pub fn text(&self) -> Vec<u8> {
        let mut text = alloc::format!(
            "pid {}\nparent {}\npath {}\nstate {}\ncore {}\nmemory {}\nthreads {}\nchannels {}\nconnections {}\n",
            self.pid,
            self.parent,
            self.path,
            self.state,
            self.core,
            self.block_bytes,
            self.threads,
            self.channels,
            self.connections
        );
        if let Some(grant) = self.grant {
            text.push_str("grant");
            for (i, key) in Limits::KEYS.iter().enumerate() {
                let value = grant.limits.get(i).unwrap_or(0);
                text.push_str(&alloc::format!(" {key}={value}"));
            }
            text.push_str(" abilities=");
            let names: Vec<&str> = Abilities::NAMED
                .iter()
                .filter(|(_, a)| grant.abilities.contains(*a))
                .map(|(n, _)| *n)
                .collect();
            text.push_str(&names.join(","));
            text.push_str(&alloc::format!(" devices={:#x}\n", grant.devices.bits()));
        }
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qsoe_abi::iomsg::{ioflag, IO_FLAG_RD};

    const NAMES: [&str; 3] = ["bin/a", "bin/b", "etc/grants"];
    const RD: u32 = IO_FLAG_RD;

    fn open_as(handle: u32, rest: &str, flags: u32) -> Result<Node, Errno> {
        open(handle, rest.as_bytes(), flags, &NAMES, |p| p == 5, 7)
    }

    #[test]
    fn opens_reach_their_nodes() {
        assert_eq!(
            open_as(handle::NULL, "", ioflag(oflag::O_RDWR)),
            Ok(Node::Null)
        );
        assert_eq!(open_as(handle::ZERO, "x", RD), Err(ENOTDIR));
        assert_eq!(open_as(handle::BOOT, "bin/b", RD), Ok(Node::Boot(1)));
        assert_eq!(
            open_as(handle::BOOT, "bin", RD),
            Ok(Node::BootDir(b"bin".to_vec()))
        );
        assert_eq!(open_as(handle::BOOT, "bin/c", RD), Err(ENOENT));
        assert_eq!(open_as(handle::PROC, "", RD), Ok(Node::ProcRoot));
        assert_eq!(open_as(handle::PROC, "5", RD), Ok(Node::ProcDir(5)));
        assert_eq!(open_as(handle::PROC, "5/info", RD), Ok(Node::ProcInfo(5)));
        assert_eq!(open_as(handle::PROC, "6/info", RD), Err(ENOENT));
        assert_eq!(open_as(handle::PROC, "05", RD), Err(ENOENT));
        assert_eq!(open_as(handle::PROC, "5/info/x", RD), Err(ENOENT));
        assert_eq!(open_as(handle::PROC, "5/other", RD), Err(ENOENT));
        assert_eq!(open_as(handle::PROC, "99999999999", RD), Err(ENOENT));
        assert_eq!(open_as(99, "", RD), Err(ENOENT));
    }

    #[test]
    fn read_only_trees_refuse_writes() {
        let w = ioflag(oflag::O_WRONLY);
        assert_eq!(open_as(handle::BOOT, "bin/a", w), Err(EROFS));
        assert_eq!(open_as(handle::BOOT, "bin", w), Err(EISDIR));
        assert_eq!(
            open_as(handle::BOOT, "new", RD | oflag::O_CREAT),
            Err(EROFS)
        );
        assert_eq!(open_as(handle::PROC, "5/info", w), Err(EACCES));
        assert_eq!(
            open_as(handle::BOOT, "bin/a", RD | oflag::O_TRUNC),
            Err(EROFS)
        );
    }

    #[test]
    fn seeks_stay_in_range() {
        let f = Node::Boot(0);
        assert_eq!(seek(&f, 3, 10, SEEK_CUR, 2), Ok(5));
        assert_eq!(seek(&f, 3, 10, SEEK_END, -10), Ok(0));
        assert_eq!(
            seek(&f, 3, 10, SEEK_END, 5),
            Ok(15),
            "past the end is allowed"
        );
        assert_eq!(seek(&f, 3, 10, SEEK_SET, -1), Err(EINVAL));
        assert_eq!(seek(&f, 3, 10, 7, 0), Err(EINVAL));
        assert_eq!(seek(&f, u64::MAX, 0, SEEK_CUR, i64::MAX), Err(EINVAL));
        assert_eq!(seek(&Node::Console, 0, 0, SEEK_SET, 0), Err(ESPIPE));
        assert_eq!(seek(&Node::Null, 0, 0, SEEK_END, 9), Ok(0));
        assert_eq!(seek(&Node::ProcRoot, 4, 0, SEEK_SET, 0), Ok(0));
        assert_eq!(seek(&Node::ProcRoot, 4, 0, SEEK_SET, 1), Err(EINVAL));
    }

    #[test]
    fn directories_read_as_dirents_from_an_entry() {
        let names: [(&[u8], u64); 3] = [(b"a", 1), (b"bb", 2), (b"ccc", 3)];
        let mut out = [0u8; 64];
        let (n, count) = read_dir(names.into_iter(), 1, &mut out);
        assert_eq!((n, count), (48, 2));
        assert_eq!(dirent::get(&out), Some((2, &b"bb"[..], 24)));
        let (n, count) = read_dir(names.into_iter(), 0, &mut out[..30]);
        assert_eq!((n, count), (24, 1), "only whole records");
        assert_eq!(read_dir(names.into_iter(), 3, &mut out), (0, 0));
        assert!(stat(&Node::ProcRoot, 0, 1).is_dir());
        assert_eq!(stat(&Node::Boot(0), 700, 2).st_blocks, 2);
    }

    #[test]
    fn info_is_one_line_per_field() {
        let text = ProcInfo {
            pid: 5,
            parent: 1,
            path: "/bin/x",
            state: "running",
            ..Default::default()
        }
        .text();
        let text = core::str::from_utf8(&text).unwrap();
        assert!(text.starts_with("pid 5\nparent 1\npath /bin/x\nstate running\n"));
        assert_eq!(text.lines().count(), 9);
        let granted = ProcInfo {
            grant: Some(Grant {
                abilities: Abilities::ALL,
                limits: Limits {
                    threads: 3,
                    ..Limits::DEFAULT
                },
                devices: qsoe_abi::grants::Devices::from_bits(0b101),
            }),
            ..Default::default()
        }
        .text();
        let last = core::str::from_utf8(&granted)
            .unwrap()
            .lines()
            .last()
            .unwrap();
        assert_eq!(
            last,
            "grant budget=16777216 threads=3 channels=16 connections=128 children=16 abilities=census,signal,spawn devices=0x5"
        );
    }
}
