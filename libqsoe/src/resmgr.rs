//! Resource managers, in the shape of QNX's `resmgr_attach`, dispatch
//! loop and `iofunc` layer: a server is a `ResourceManager` (a handful of
//! callbacks, each with a POSIX default) behind a `Dispatch`, which
//! receives on one channel, keeps an OCB per open (its offset and access
//! mode) bound to each client connection, and answers every I/O message.
//!
//! Any number of the process's threads may call `Dispatch::serve` on the
//! same dispatch (a thread pool): its tables are shared under a lock that
//! no callback runs under. A callback gets a copy of the OCB, and the
//! dispatch stores back the offset it moved.
//!
//! Connections are known by the client's pid and coid (the scoid); the
//! channel asks for `_PULSE_CODE_DISCONNECT`, so an open whose client
//! detached or died without closing goes too.

use crate::errno::{Errno, EBADF, EBUSY, EINVAL, ENFILE, ENOSYS, ENOTTY};
use crate::lock::SpinLock;
use crate::name::{path_attach, path_detach};
use crate::neutrino::{
    ChannelCreate, MsgError, MsgInfo, MsgRead, MsgReceive, MsgReply, MsgReplyv, MsgWrite,
};
use qsoe_abi::iomsg::{
    connect, dcmd, io, message_type, mode, IoConnect, IoDevctl, IoDup, IoLseek, IoTransfer, Stat,
    IO_FLAG_RD, IO_FLAG_WR, SEEK_CUR, SEEK_END, SEEK_SET,
};
use qsoe_abi::ipc::{chf, pulse_code, Pulse, MAX_BULK_BYTES, MAX_MSG_BYTES, PULSE_BYTES};
use qsoe_abi::Pid;

pub use qsoe_abi::iomsg::resmgr_flag;

/// One open (QNX's OCB): what it reaches, where it is, how it was
/// opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ocb<A> {
    /// What the manager's `open` answered for it (iofunc's attribute).
    pub attr: A,
    pub offset: u64,
    /// The connect's `ioflag`: `_IO_FLAG_RD`, `_IO_FLAG_WR`, `O_*` bits.
    pub ioflag: u32,
}

/// An open's client, as the kernel named it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    pub pid: Pid,
    pub scoid: i32,
}

/// A resource manager's callbacks. Each default is what QNX's `iofunc`
/// layer does for a manager that leaves it out.
pub trait ResourceManager: Sync {
    /// What an open holds beyond its offset.
    type Attr: Copy + Send;

    /// An `_IO_CONNECT` open of `path` (what is left under the prefix the
    /// registration `handle` attached), asking for `ioflag`.
    fn open(
        &self,
        handle: u32,
        path: &[u8],
        ioflag: u32,
        client: Client,
    ) -> Result<Self::Attr, Errno>;

    /// Bytes from the OCB's offset, given to `reply` (up to its
    /// `wanted`); the dispatch moves the offset by what it took.
    fn read(&self, _ocb: &Ocb<Self::Attr>, _reply: &mut ReadReply) -> Result<(), Errno> {
        Err(ENOSYS)
    }

    /// Writes the bytes `data` holds at the OCB's offset; the dispatch
    /// moves the offset by what this answers.
    fn write(&self, _ocb: &Ocb<Self::Attr>, _data: &mut WriteData) -> Result<usize, Errno> {
        Err(ENOSYS)
    }

    /// The size of what the open reaches, for `lseek` and `stat`.
    fn size(&self, _attr: &Self::Attr) -> u64 {
        0
    }

    /// `struct stat`: by default a regular file of `size` bytes.
    fn stat(&self, ocb: &Ocb<Self::Attr>) -> Stat {
        let size = self.size(&ocb.attr);
        Stat {
            st_size: size as i64,
            st_mode: mode::S_IFREG | 0o666,
            st_nlink: 1,
            st_blksize: 4096,
            st_blocks: size.div_ceil(512) as i64,
            ..Default::default()
        }
    }

    /// A devctl command other than `DCMD_ALL_GETFLAGS`, with its `data`
    /// (filled for a command that reads from the device); answers the
    /// command's value and how many bytes of `data` to send back.
    fn devctl(
        &self,
        _ocb: &mut Ocb<Self::Attr>,
        _dcmd: u32,
        _data: &mut [u8],
    ) -> Result<(i32, usize), Errno> {
        Err(ENOTTY)
    }

    /// `_IO_CONNECT_UNLINK` of `path` under registration `handle`.
    fn unlink(&self, _handle: u32, _path: &[u8]) -> Result<(), Errno> {
        Err(ENOSYS)
    }

    /// The last connection of an open went.
    fn closed(&self, _ocb: &Ocb<Self::Attr>) {}

    /// A pulse that is not the dispatch's own, or `_PULSE_CODE_UNBLOCK`
    /// (its value the rcvid of a client that no longer waits for the
    /// reply it deferred).
    fn pulse(&self, _pulse: Pulse) {}

    /// What a connection that never sent `_IO_CONNECT` opened, if the
    /// manager takes such connections (its attribute and `ioflag`): a
    /// console driver's, which taskman gives every new process as its fds
    /// 0, 1 and 2.
    fn implicit_open(&self, _client: Client) -> Option<(Self::Attr, u32)> {
        None
    }
}

/// Where a read's bytes go: the reply's first part while they fit there,
/// the rest (for a client that lent its buffer) straight to the client
/// with `MsgWrite`, so a large read is copied once.
pub struct ReadReply<'b> {
    rcvid: i32,
    inline: &'b mut [u8],
    inline_len: usize,
    wanted: usize,
    at: usize,
    deferred: bool,
}

impl ReadReply<'_> {
    /// Leaves the client waiting (QNX's `_RESMGR_NOREPLY`): the manager
    /// answers later, with `MsgReply` on the rcvid this answers, or
    /// `MsgError`.
    pub fn defer(&mut self) -> i32 {
        self.deferred = true;
        self.rcvid
    }

    /// Bytes the client still asks for.
    pub fn wanted(&self) -> usize {
        self.wanted - self.at
    }

    /// Adds the first of `data` (as many as are still wanted) to the
    /// reply; answers how many.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Errno> {
        let data = &data[..data.len().min(self.wanted())];
        let end = self.at + data.len();
        if end <= self.inline.len() {
            self.inline[self.at..end].copy_from_slice(data);
            self.inline_len = end;
        } else {
            MsgWrite(self.rcvid, data, self.at)?;
        }
        self.at = end;
        Ok(data.len())
    }
}

/// The bytes of a write: what came with the message, then (for a client
/// that lent its buffer) the rest with `MsgRead`.
pub struct WriteData<'b> {
    rcvid: i32,
    inline: &'b [u8],
    len: usize,
    at: usize,
}

impl WriteData<'_> {
    /// Bytes not taken yet.
    pub fn remaining(&self) -> usize {
        self.len - self.at
    }

    /// Takes the next bytes into `dst`; answers how many.
    pub fn read(&mut self, dst: &mut [u8]) -> Result<usize, Errno> {
        let n = dst.len().min(self.remaining());
        let end = self.at + n;
        if end <= self.inline.len() {
            dst[..n].copy_from_slice(&self.inline[self.at..end]);
        } else {
            let got = MsgRead(self.rcvid, &mut dst[..n], IoTransfer::BYTES + self.at)?;
            if got < n {
                return Err(EINVAL);
            }
        }
        self.at = end;
        Ok(n)
    }
}

/// A connection bound to an open.
#[derive(Clone, Copy)]
struct Binding {
    client: Client,
    ocb: usize,
}

struct Tables<A, const N: usize> {
    ocbs: [Option<(Ocb<A>, usize)>; N],
    bindings: [Option<Binding>; N],
}

impl<A: Copy, const N: usize> Tables<A, N> {
    fn bound(&self, client: Client) -> Option<usize> {
        self.bindings
            .iter()
            .position(|b| b.is_some_and(|b| b.client == client))
    }

    fn ocb_of(&self, client: Client) -> Result<usize, Errno> {
        let b = self.bound(client).ok_or(EBADF)?;
        Ok(self.bindings[b].map_or(0, |b| b.ocb))
    }

    /// Binds `client` to OCB `ocb` (one more reference).
    fn bind(&mut self, client: Client, ocb: usize) -> Result<(), Errno> {
        let free = self
            .bindings
            .iter()
            .position(Option::is_none)
            .ok_or(ENFILE)?;
        self.bindings[free] = Some(Binding { client, ocb });
        if let Some((_, refs)) = &mut self.ocbs[ocb] {
            *refs += 1;
        }
        Ok(())
    }

    /// Unbinds `client`; answers its OCB if that was its last reference.
    fn unbind(&mut self, client: Client) -> Option<Ocb<A>> {
        let b = self.bound(client)?;
        let ocb = self.bindings[b].take()?.ocb;
        let (o, refs) = self.ocbs[ocb].as_mut()?;
        *refs -= 1;
        let o = *o;
        if *refs == 0 {
            self.ocbs[ocb] = None;
            return Some(o);
        }
        None
    }
}

/// A resource manager's channel, its opens, and its dispatch loop, for
/// up to `N` opens (and `N` connections bound to them).
pub struct Dispatch<R: ResourceManager, const N: usize> {
    manager: R,
    chid: i32,
    tables: SpinLock<Tables<R::Attr, N>>,
}

// SAFETY: the tables are behind the lock; the manager is `Sync`.
unsafe impl<R: ResourceManager, const N: usize> Sync for Dispatch<R, N> {}

/// Bytes a dispatch thread receives into.
pub type Buffer = [u8; MAX_MSG_BYTES];

impl<R: ResourceManager, const N: usize> Dispatch<R, N> {
    /// A dispatch for `manager` on a new channel, made by the calling
    /// thread (whose first channel it should be, to hear its pulses).
    pub fn new(manager: R) -> Result<Self, Errno> {
        let chid = ChannelCreate(chf::DISCONNECT | chf::UNBLOCK)?;
        Ok(Dispatch {
            manager,
            chid,
            tables: SpinLock::new(Tables {
                ocbs: [None; N],
                bindings: [None; N],
            }),
        })
    }

    pub fn chid(&self) -> i32 {
        self.chid
    }

    pub fn manager(&self) -> &R {
        &self.manager
    }

    /// `resmgr_attach`: `path` in the pathname space leads here, with
    /// `_RESMGR_FLAG_*` `flags`; opens through it get `handle`. Answers
    /// the registration's id.
    pub fn attach(&self, path: &str, flags: u32, handle: u32) -> Result<i32, Errno> {
        path_attach(path.as_bytes(), flags, self.chid, handle)
    }

    /// `resmgr_detach`.
    pub fn detach(&self, id: i32) -> Result<(), Errno> {
        path_detach(id)
    }

    /// Receives one message or pulse and answers it (`dispatch_block` and
    /// `dispatch_handler` in one).
    pub fn serve(&self, buf: &mut Buffer) -> Result<(), Errno> {
        let mut info = MsgInfo::default();
        let rcvid = MsgReceive(self.chid, buf, Some(&mut info))?;
        if rcvid == 0 {
            let mut p = [0u8; PULSE_BYTES];
            p.copy_from_slice(&buf[..PULSE_BYTES]);
            self.pulse(Pulse::from_bytes(&p));
            return Ok(());
        }
        let client = Client {
            pid: info.pid,
            scoid: info.scoid,
        };
        let len = info.msglen.min(buf.len());
        let request = Request {
            rcvid,
            client,
            len,
            sent: info.srcmsglen,
        };
        // A reply's data goes at the start of the buffer, over the
        // message, once its header has been read.
        match self.handle(request, buf) {
            Ok(Answer::Status(status)) => MsgReply(rcvid, status, &[]),
            Ok(Answer::Data(n)) => MsgReply(rcvid, n as i32, &buf[..n]),
            Ok(Answer::Read { total, inline }) => MsgReply(rcvid, total as i32, &buf[..inline]),
            Ok(Answer::Bytes(head, data)) => MsgReplyv(rcvid, 0, &[&head[..], &buf[..data]]),
            Ok(Answer::Later) => Ok(()),
            Err(e) => MsgError(rcvid, e),
        }
        .or(Ok(()))
    }

    /// Serves for ever.
    pub fn run(&self) -> ! {
        let mut buf: Buffer = [0; MAX_MSG_BYTES];
        loop {
            let _ = self.serve(&mut buf);
        }
    }

    fn pulse(&self, pulse: Pulse) {
        if pulse.code == pulse_code::DISCONNECT {
            let client = Client {
                pid: pulse.value as Pid,
                scoid: pulse.scoid,
            };
            let gone = self.tables.lock().unbind(client);
            if let Some(ocb) = gone {
                self.manager.closed(&ocb);
            }
        } else if pulse.code >= pulse_code::MIN_USER || pulse.code == pulse_code::UNBLOCK {
            self.manager.pulse(pulse);
        }
    }

    /// The OCB `client` is bound to, copied out; a connection without one
    /// gets the manager's implicit open, if it has one.
    fn ocb(&self, client: Client) -> Result<(usize, Ocb<R::Attr>), Errno> {
        self.bind_implicitly(client)?;
        let t = self.tables.lock();
        let i = t.ocb_of(client)?;
        let (o, _) = t.ocbs[i].ok_or(EBADF)?;
        Ok((i, o))
    }

    /// Binds an unbound `client` to a new OCB of the manager's implicit
    /// open (`EBADF` if it has none, `ENFILE` if the tables are full).
    fn bind_implicitly(&self, client: Client) -> Result<(), Errno> {
        if self.tables.lock().bound(client).is_some() {
            return Ok(());
        }
        let (attr, ioflag) = self.manager.implicit_open(client).ok_or(EBADF)?;
        let ocb = Ocb {
            attr,
            offset: 0,
            ioflag,
        };
        self.insert_open(client, ocb)
    }

    /// Adds `ocb`, bound to `client`; a full table closes it again.
    fn insert_open(&self, client: Client, ocb: Ocb<R::Attr>) -> Result<(), Errno> {
        let mut t = self.tables.lock();
        let free = t.ocbs.iter().position(Option::is_none);
        let room = t.bindings.iter().any(Option::is_none);
        match free {
            Some(i) if room && t.bound(client).is_none() => {
                t.ocbs[i] = Some((ocb, 0));
                t.bind(client, i)
            }
            _ => {
                drop(t);
                self.manager.closed(&ocb);
                Err(ENFILE)
            }
        }
    }

    /// Stores what a callback did to OCB `i` (its offset), unless it went
    /// in between.
    fn set_offset(&self, i: usize, offset: u64) {
        if let Some((o, _)) = self.tables.lock().ocbs[i].as_mut() {
            o.offset = offset;
        }
    }

    /// Answers the message in `buf`, which a reply's data may overwrite.
    fn handle(&self, req: Request, buf: &mut Buffer) -> Result<Answer, Errno> {
        let Request {
            rcvid,
            client,
            len,
            sent,
        } = req;
        let msg = &buf[..len];
        let kind = message_type(msg).ok_or(EINVAL)?;
        match kind {
            io::CONNECT => self.connect(client, msg),
            io::DUP => {
                let d = IoDup::decode(msg)?;
                // Only a client's own connection can be duplicated.
                let from = Client {
                    pid: d.pid,
                    scoid: d.coid,
                };
                if d.pid != client.pid {
                    return Err(EBADF);
                }
                self.bind_implicitly(from)?;
                let mut t = self.tables.lock();
                if t.bound(client).is_some() {
                    return Err(EBUSY);
                }
                let ocb = t.ocb_of(from)?;
                t.bind(client, ocb)?;
                Ok(Answer::Status(0))
            }
            io::READ => {
                let r = IoTransfer::decode(msg)?;
                let (i, ocb) = self.ocb(client)?;
                if ocb.ioflag & IO_FLAG_RD == 0 {
                    return Err(EBADF);
                }
                let mut reply = ReadReply {
                    rcvid,
                    inline: &mut buf[..],
                    inline_len: 0,
                    wanted: (r.nbytes as usize).min(MAX_BULK_BYTES),
                    at: 0,
                    deferred: false,
                };
                self.manager.read(&ocb, &mut reply)?;
                if reply.deferred {
                    return Ok(Answer::Later);
                }
                self.set_offset(i, ocb.offset + reply.at as u64);
                Ok(Answer::Read {
                    total: reply.at,
                    inline: reply.inline_len,
                })
            }
            io::WRITE => {
                let w = IoTransfer::decode(msg)?;
                let (i, ocb) = self.ocb(client)?;
                if ocb.ioflag & IO_FLAG_WR == 0 {
                    return Err(EBADF);
                }
                let inline = &msg[IoTransfer::BYTES..];
                let carried = sent.max(len) - IoTransfer::BYTES;
                let mut data = WriteData {
                    rcvid,
                    inline,
                    len: (w.nbytes as usize).min(carried),
                    at: 0,
                };
                let n = self.manager.write(&ocb, &mut data)?.min(data.len);
                self.set_offset(i, ocb.offset + n as u64);
                Ok(Answer::Status(n as i32))
            }
            io::LSEEK => {
                let l = IoLseek::decode(msg)?;
                let (i, ocb) = self.ocb(client)?;
                let base = match l.whence {
                    SEEK_SET => 0,
                    SEEK_CUR => ocb.offset as i128,
                    SEEK_END => self.manager.size(&ocb.attr) as i128,
                    _ => return Err(EINVAL),
                };
                let to = base + l.offset as i128;
                if to < 0 || to > i64::MAX as i128 {
                    return Err(EINVAL);
                }
                self.set_offset(i, to as u64);
                buf[..8].copy_from_slice(&(to as u64).to_le_bytes());
                Ok(Answer::Data(8))
            }
            io::STAT => {
                let (_, ocb) = self.ocb(client)?;
                let st = self.manager.stat(&ocb).to_bytes();
                buf[..Stat::BYTES].copy_from_slice(&st);
                Ok(Answer::Data(Stat::BYTES))
            }
            io::DEVCTL => {
                let d = IoDevctl::decode(msg)?;
                let (i, mut ocb) = self.ocb(client)?;
                if d.dcmd == dcmd::ALL_GETFLAGS {
                    let oflag = (ocb.ioflag & !3) | ((ocb.ioflag & 3).saturating_sub(1));
                    buf[..4].copy_from_slice(&oflag.to_le_bytes());
                    return Ok(Answer::Bytes(IoDevctl::reply(0, 4), 4));
                }
                // The command's data, moved to the start for the callback.
                let room = (MAX_MSG_BYTES - IoDevctl::REPLY_BYTES).min(dcmd::size(d.dcmd) as usize);
                let sent = (len - IoDevctl::BYTES).min(room);
                buf.copy_within(IoDevctl::BYTES..IoDevctl::BYTES + sent, 0);
                buf[sent..room].fill(0);
                let (value, back) = self.manager.devctl(&mut ocb, d.dcmd, &mut buf[..room])?;
                self.set_offset(i, ocb.offset);
                let back = back.min(room);
                Ok(Answer::Bytes(IoDevctl::reply(value, back as u32), back))
            }
            io::CLOSE => {
                let gone = self.tables.lock().unbind(client).ok_or(EBADF)?;
                self.manager.closed(&gone);
                Ok(Answer::Status(0))
            }
            _ => Err(ENOSYS),
        }
    }

    fn connect(&self, client: Client, msg: &[u8]) -> Result<Answer, Errno> {
        let (c, path) = IoConnect::decode(msg)?;
        match c.subtype {
            connect::OPEN | connect::COMBINE | connect::COMBINE_CLOSE => {}
            connect::UNLINK => {
                self.manager.unlink(c.handle, path)?;
                return Ok(Answer::Status(0));
            }
            _ => return Err(ENOSYS),
        }
        if self.tables.lock().bound(client).is_some() {
            return Err(EBUSY);
        }
        let attr = self.manager.open(c.handle, path, c.ioflag, client)?;
        let ocb = Ocb {
            attr,
            offset: 0,
            ioflag: c.ioflag,
        };
        self.insert_open(client, ocb)?;
        Ok(Answer::Status(0))
    }
}

/// A message as the dispatch got it: from whom, how much of it is in the
/// buffer, how much was sent.
#[derive(Clone, Copy)]
struct Request {
    rcvid: i32,
    client: Client,
    len: usize,
    sent: usize,
}

/// How a message is answered: a status alone, data put at the start of
/// the reply area, a read's bytes (the first of them there), a header
/// and data there, or later by the manager.
enum Answer {
    Status(i32),
    Data(usize),
    Read { total: usize, inline: usize },
    Bytes([u8; IoDevctl::REPLY_BYTES], usize),
    Later,
}
