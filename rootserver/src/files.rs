//! Taskman as a resource manager: the I/O messages that come on its
//! own connections (`TaskmanBadge::File`), for the console, the null
//! devices, `/proc` and the boot archive (`taskman_core::files` decides
//! what each open reaches). A process's opens live with its process
//! entry, one per connection index, so they go when it does.

use crate::{bulk, Taskman};
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use qsoe_abi::errno::{Errno, EBADF, EBUSY, EINVAL, ENOSYS, ENOTTY, EROFS, ESRCH};
use qsoe_abi::iomsg::{
    connect, dcmd, io, message_type, IoConnect, IoDevctl, IoDup, IoLseek, IoTransfer,
};
use qsoe_abi::ipc::{error_label, message_lease, reply_label, Coid, MAX_MSG_BYTES};
use qsoe_abi::Pid;
use sel4_root_task::println;
use sel4_sys::{Received, Word};
use taskman_core::channels::Target;
use taskman_core::files::{self, Node, Ocb, ProcInfo};
use taskman_core::leases::Lease;

/// A process's opens on its connections to taskman, by connection
/// index; a dup shares one.
pub type Opens = BTreeMap<u16, Rc<RefCell<Ocb>>>;

/// The opens a process is born with: the console on fds 0, 1 and 2.
pub fn at_birth() -> Opens {
    (0..3)
        .map(|fd| (fd, Rc::new(RefCell::new(Ocb::console()))))
        .collect()
}

/// Answers an I/O message on connection `index` of `pid`: the reply's
/// label and words.
pub fn message(
    tm: &mut Taskman,
    pid: Pid,
    index: u16,
    msg: &Received,
    words: &[Word],
) -> (Word, Vec<Word>) {
    let label = msg.info.label();
    let bytes = qsoe_abi::ipc::message_bytes(label).min(words.len() * 8);
    let data: Vec<u8> = words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .take(bytes)
        .collect();
    // A message lent whole: its lease, and its full size.
    let lent = message_lease(label).and_then(|(id, total)| {
        let lease = bulk::lent_to_taskman(tm, pid, index, id)?;
        Some(Lent { lease, total })
    });
    match serve(tm, pid, index, &data, lent.as_ref()) {
        Ok((status, reply)) => {
            let label = reply_label(status, reply.len());
            let words = reply
                .chunks(8)
                .map(|c| {
                    let mut w = [0u8; 8];
                    w[..c.len()].copy_from_slice(c);
                    Word::from_le_bytes(w)
                })
                .collect();
            (label, words)
        }
        Err(e) => (error_label(e), Vec::new()),
    }
}

type Reply = Result<(i32, Vec<u8>), Errno>;

/// What a client lent for a message larger than the registers.
struct Lent {
    lease: Lease,
    /// The message's full size.
    total: usize,
}

/// The most a lent write to the console takes at once.
const CONSOLE_WRITE_MAX: usize = 64 << 10;

fn serve(tm: &mut Taskman, pid: Pid, index: u16, msg: &[u8], lent: Option<&Lent>) -> Reply {
    let kind = message_type(msg).ok_or(EINVAL)?;
    if kind == io::CONNECT {
        return open(tm, pid, index, msg);
    }
    if kind == io::DUP {
        return dup(tm, pid, index, msg);
    }
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    let ocb = p.ipc.opens.get(&index).cloned().ok_or(EBADF)?;
    match kind {
        io::READ => read(tm, pid, &ocb, msg, lent),
        io::WRITE => write(tm, pid, &ocb, msg, lent),
        io::LSEEK => {
            let l = IoLseek::decode(msg)?;
            let size = size_of(tm, &ocb.borrow().node);
            let mut o = ocb.borrow_mut();
            o.offset = files::seek(&o.node, o.offset, size, l.whence, l.offset)?;
            Ok((0, o.offset.to_le_bytes().to_vec()))
        }
        io::STAT => {
            let node = ocb.borrow().node.clone();
            let st = files::stat(&node, size_of(tm, &node), inode(&node));
            Ok((0, st.to_bytes().to_vec()))
        }
        io::DEVCTL => {
            let d = IoDevctl::decode(msg)?;
            if d.dcmd != dcmd::ALL_GETFLAGS {
                return Err(ENOTTY);
            }
            // The open's flags as `open` took them: the access mode is
            // ioflag's minus one.
            let ioflag = ocb.borrow().ioflag;
            let oflag = (ioflag & !3) | ((ioflag & 3) - 1);
            let mut reply = IoDevctl::reply(0, 4).to_vec();
            reply.extend(oflag.to_le_bytes());
            Ok((0, reply))
        }
        io::CLOSE => {
            if let Some(p) = tm.processes.get_mut(pid) {
                p.ipc.opens.remove(&index);
            }
            Ok((0, Vec::new()))
        }
        _ => Err(ENOSYS),
    }
}

/// `_IO_CONNECT` on a connection without an open yet.
fn open(tm: &mut Taskman, pid: Pid, index: u16, msg: &[u8]) -> Reply {
    let (c, rest) = IoConnect::decode(msg)?;
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    if p.ipc.opens.contains_key(&index) {
        return Err(EBUSY);
    }
    match c.subtype {
        connect::OPEN | connect::COMBINE | connect::COMBINE_CLOSE => {}
        // Nothing taskman serves can be removed, renamed or made.
        connect::UNLINK | connect::RENAME | connect::MKNOD | connect::LINK => return Err(EROFS),
        _ => return Err(ENOSYS),
    }
    if c.file_type == qsoe_abi::iomsg::ftype::NAME {
        // `name_open`: taskman serves no names.
        return Err(qsoe_abi::errno::ENOENT);
    }
    let alive = |q: Pid| tm.processes.get(q).is_some();
    let node = files::open(c.handle, rest, c.ioflag, &tm.archive.names, alive, pid)?;
    let ocb = Ocb {
        node,
        offset: 0,
        ioflag: c.ioflag,
    };
    if let Some(p) = tm.processes.get_mut(pid) {
        p.ipc.opens.insert(index, Rc::new(RefCell::new(ocb)));
    }
    Ok((0, Vec::new()))
}

/// `_IO_DUP`: connection `index` shares the open of the caller's
/// connection the message names.
fn dup(tm: &mut Taskman, pid: Pid, index: u16, msg: &[u8]) -> Reply {
    let d = IoDup::decode(msg)?;
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    let from = Coid::decode(d.coid).ok_or(EBADF)?;
    let ours = d.pid == pid
        && !from.side
        && p.ipc.connections.get(d.coid).map(|(_, t)| t) == Some(Target::Files);
    if !ours || p.ipc.opens.contains_key(&index) {
        return Err(EBADF);
    }
    let ocb = p.ipc.opens.get(&from.index).cloned().ok_or(EBADF)?;
    p.ipc.opens.insert(index, ocb);
    Ok((0, Vec::new()))
}

fn read(
    tm: &mut Taskman,
    pid: Pid,
    ocb: &Rc<RefCell<Ocb>>,
    msg: &[u8],
    lent: Option<&Lent>,
) -> Reply {
    let t = IoTransfer::decode(msg)?;
    if !ocb.borrow().readable() {
        return Err(EBADF);
    }
    let node = ocb.borrow().node.clone();
    // A lent reply takes a file's bytes whole; a directory's come a
    // message at a time.
    let room = match lent {
        Some(l) if !files::is_dir(&node) => l.lease.recv_bytes() as usize,
        _ => MAX_MSG_BYTES,
    };
    let want = (t.nbytes as usize).min(room);
    let at = ocb.borrow().offset;
    let mut out = alloc::vec![0u8; want];
    let (n, advance) = match &node {
        Node::Console | Node::Null => (0, 0),
        Node::Zero => (want, 0),
        Node::Boot(_) | Node::ProcInfo(_) => {
            let contents = contents(tm, &node);
            let from = contents.get(at as usize..).unwrap_or(&[]);
            let n = from.len().min(want);
            out[..n].copy_from_slice(&from[..n]);
            (n, n as u64)
        }
        dir => {
            let entries = dir_entries(tm, dir);
            let named = entries.iter().map(|(n, i)| (n.as_slice(), *i));
            files::read_dir(named, at, &mut out)
        }
    };
    ocb.borrow_mut().offset += advance;
    out.truncate(n);
    if let (Some(l), true) = (lent, n > MAX_MSG_BYTES) {
        bulk::deliver(tm, pid, &l.lease, &out)?;
        return Ok((n as i32, Vec::new()));
    }
    Ok((n as i32, out))
}

fn write(
    tm: &mut Taskman,
    pid: Pid,
    ocb: &Rc<RefCell<Ocb>>,
    msg: &[u8],
    lent: Option<&Lent>,
) -> Reply {
    let t = IoTransfer::decode(msg)?;
    if !ocb.borrow().writable() {
        return Err(EBADF);
    }
    let carried = match lent {
        Some(l) => l.total.saturating_sub(IoTransfer::BYTES),
        None => msg.len() - IoTransfer::BYTES,
    };
    let n = (t.nbytes as usize).min(carried);
    let node = ocb.borrow().node.clone();
    match node {
        Node::Console => {
            let n = n.min(CONSOLE_WRITE_MAX);
            let data = match lent {
                Some(l) => bulk::collect(tm, pid, &l.lease, IoTransfer::BYTES as u64, n as u64)?,
                None => msg[IoTransfer::BYTES..IoTransfer::BYTES + n].to_vec(),
            };
            let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
            p.ipc.console_line.write(data.iter().copied(), |line| {
                println!("{}", alloc::string::String::from_utf8_lossy(line));
            });
            Ok((data.len() as i32, Vec::new()))
        }
        // Taken whole, and never looked at.
        Node::Null | Node::Zero => Ok((n as i32, Vec::new())),
        _ => Err(EBADF),
    }
}

/// The bytes of a file node (the archive's file, or `info` made now).
fn contents(tm: &Taskman, node: &Node) -> Vec<u8> {
    match node {
        Node::Boot(i) => tm.archive.file(*i).to_vec(),
        Node::ProcInfo(pid) => info(tm, *pid),
        _ => Vec::new(),
    }
}

fn size_of(tm: &Taskman, node: &Node) -> u64 {
    match node {
        Node::Boot(i) => tm.archive.file(*i).len() as u64,
        Node::ProcInfo(pid) => info(tm, *pid).len() as u64,
        _ => 0,
    }
}

/// Inode numbers: stable for as long as what they name exists.
fn inode(node: &Node) -> u64 {
    match node {
        Node::Console => 1,
        Node::Null => 2,
        Node::Zero => 3,
        Node::ProcRoot => 4,
        Node::BootDir(_) => 5,
        Node::Boot(i) => 0x1_0000 + *i as u64,
        Node::ProcDir(pid) => (*pid as u32 as u64) << 8 | 1,
        Node::ProcInfo(pid) => (*pid as u32 as u64) << 8 | 2,
    }
}

/// A directory's entries, each a name and an inode.
fn dir_entries(tm: &Taskman, dir: &Node) -> Vec<(Vec<u8>, u64)> {
    match dir {
        Node::BootDir(path) => taskman_core::bootfs::entries(&tm.archive.names, path)
            .map(|(name, is_dir)| {
                let ino = if is_dir { 5 } else { 0x1_0000 };
                (name.to_vec(), ino)
            })
            .collect(),
        Node::ProcRoot => tm
            .processes
            .alive()
            .map(|(pid, _)| {
                let name = alloc::format!("{pid}").into_bytes();
                (name, inode(&Node::ProcDir(pid)))
            })
            .collect(),
        Node::ProcDir(pid) => alloc::vec![(b"info".to_vec(), inode(&Node::ProcInfo(*pid)))],
        _ => Vec::new(),
    }
}

/// `/proc/<pid>/info`.
fn info(tm: &Taskman, pid: Pid) -> Vec<u8> {
    let Some(p) = tm.processes.get(pid) else {
        return Vec::new();
    };
    ProcInfo {
        pid,
        parent: tm.processes.parent(pid).unwrap_or(0),
        path: &p.path,
        state: if p.signals.stopped() {
            "stopped"
        } else if p.parked.is_some() {
            "blocked"
        } else {
            "running"
        },
        core: p.core,
        block_bytes: p.block_bytes,
        threads: 1 + p.threads.iter_running().count(),
        channels: p.ipc.cells.iter().flatten().count(),
        connections: p.ipc.connections.len(),
        grant: Some(p.grant),
    }
    .text()
}

/// A connection to taskman went (`ConnectDetach`): its open goes too.
pub fn detached(tm: &mut Taskman, pid: Pid, index: u16) {
    if let Some(p) = tm.processes.get_mut(pid) {
        p.ipc.opens.remove(&index);
    }
}
