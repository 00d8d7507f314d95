//! QNX connections as seL4 caps: a connection is a Send cap to its
//! channel's endpoint, badged with the client's pid and coid, in the
//! client's CSpace at the slot its coid names. The registry
//! (`taskman_core::channels::ConnectionTable`) decides.

use crate::channel::send_pulse;
use crate::kernel_error::refused;
use crate::Taskman;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EBADF, EBUSY, EINVAL, ENOTSUP, EPERM, ESRCH};
use qsoe_abi::ipc::{
    self, cof, pulse_code, Coid, ConnectionBadge, Pulse, TaskmanBadge, SIDE_CHANNEL, SYSMGR_CHID,
    SYSMGR_PID,
};
use qsoe_abi::wire::Request;
use qsoe_abi::Pid;
use sel4::Error;
use sel4_sys::{CPtr, CapRights, Word};
use taskman_core::channels::Target;
use taskman_core::spawn_plan::object_slot as obj;

/// Serves the connection requests of process `pid`; answers the reply's
/// words.
pub fn request(tm: &mut Taskman, pid: Pid, req: Request) -> Result<Vec<Word>, Errno> {
    match req {
        Request::ConnectAttach {
            pid: server,
            chid,
            index,
            flags,
        } => attach(tm, pid, server, chid, index, flags).map(|coid| alloc::vec![coid as Word]),
        Request::ConnectDetach { coid } => {
            detach(tm, pid, coid)?;
            Ok(Vec::new())
        }
        Request::ConnectServerInfo { coid } => {
            let p = tm.processes.get(pid).ok_or(ESRCH)?;
            let (_, target) = p.ipc.connections.get(coid).ok_or(EBADF)?;
            let (server, chid) = match target {
                Target::Taskman | Target::Files => (SYSMGR_PID, SYSMGR_CHID),
                Target::Channel(chid) => {
                    let c = tm.channels.get(chid).ok_or(EBADF)?;
                    (c.owner, chid)
                }
            };
            Ok(alloc::vec![server as Word, chid as Word, coid as Word])
        }
        Request::PulseSend { coid, code, value } => {
            if code < pulse_code::MIN_USER {
                return Err(EINVAL);
            }
            pulse_on(tm, pid, coid, code, value as u64).map(|()| Vec::new())
        }
        _ => Err(EINVAL),
    }
}

/// Queues a pulse (`code`, `value`, its scoid the coid) on the channel
/// behind `pid`'s connection `coid`: `MsgSendPulse`, and a `SIGEV_PULSE`
/// event's delivery. `EBADF` for no such connection, `ENOTSUP` for one to
/// taskman, `EAGAIN` when the channel's queue is full.
pub fn pulse_on(tm: &mut Taskman, pid: Pid, coid: i32, code: i8, value: u64) -> Result<(), Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let (_, target) = p.ipc.connections.get(coid).ok_or(EBADF)?;
    let Target::Channel(chid) = target else {
        return Err(ENOTSUP);
    };
    let pulse = Pulse {
        code,
        value,
        scoid: coid,
    };
    send_pulse(tm, chid, pulse)
}

fn kernel(e: Error) -> Errno {
    refused("ipc", e)
}

fn attach(
    tm: &mut Taskman,
    pid: Pid,
    server: Pid,
    chid: i32,
    index: i32,
    flags: u32,
) -> Result<i32, Errno> {
    let new = decode_attach(tm, pid, server, chid, index, flags)?;
    perform_attach(tm, pid, new)
}

/// A `ConnectAttach` that can be done.
struct NewConnection {
    /// A channel, or taskman's resource manager.
    target: Target,
    /// The lowest coid index it may take, and in which table.
    first: usize,
    side: bool,
    /// The exact coid to take instead (`cof::EXACT_COID`), its index free.
    exact: Option<Coid>,
    /// The channel's endpoint (taskman's master cap), to mint from.
    master: CPtr,
}

/// Checks the arguments and the channel, changing nothing: `index` is -1
/// (any) or a lowest index, with `_NTO_SIDE_CHANNEL` for a side-channel
/// coid, and `chid` is a live channel of `server`, or `server` is
/// taskman and `chid` its resource manager's (`SYSMGR_CHID`), which takes
/// regular coids only. With `cof::EXACT_COID`, `index` is a regular coid
/// of `client` whose index is free (`EBUSY` if it is not).
fn decode_attach(
    tm: &Taskman,
    client: Pid,
    server: Pid,
    chid: i32,
    index: i32,
    flags: u32,
) -> Result<NewConnection, Errno> {
    if index < 0 && index != -1 {
        return Err(EINVAL);
    }
    let exact = if flags & cof::EXACT_COID != 0 {
        let c = Coid::decode(index).filter(|c| !c.side).ok_or(EINVAL)?;
        let p = tm.processes.get(client).ok_or(ESRCH)?;
        if p.ipc.connections.index_in_use(c) {
            return Err(EBUSY);
        }
        Some(c)
    } else {
        None
    };
    let side = index != -1 && index & SIDE_CHANNEL != 0;
    let p = tm.processes.get(client).ok_or(ESRCH)?;
    if !p.ipc.connections.room_for(side, p.grant.limits.connections) {
        return Err(EAGAIN);
    }
    let first = if index == -1 {
        0
    } else {
        (index & !SIDE_CHANNEL) as usize
    };
    if server == SYSMGR_PID {
        if chid != SYSMGR_CHID || side {
            return Err(if side { EINVAL } else { ESRCH });
        }
        return Ok(NewConnection {
            target: Target::Files,
            first,
            side,
            exact,
            master: tm.endpoint.0,
        });
    }
    let channel = tm.channels.get(chid).ok_or(ESRCH)?;
    if channel.owner != server {
        return Err(ESRCH);
    }
    let owner = tm.processes.get(server).ok_or(ESRCH)?;
    Ok(NewConnection {
        target: Target::Channel(chid),
        first,
        side,
        exact,
        master: owner.object(obj::channel(channel.cell as u64) + obj::ENDPOINT),
    })
}

/// Takes the lowest free coid (`EAGAIN` if none is left) and mints its
/// Send cap, badged with the client and coid, into the client's slot for
/// it; if the kernel refuses, the coid is given back.
fn perform_attach(tm: &mut Taskman, pid: Pid, new: NewConnection) -> Result<i32, Errno> {
    let client = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    let table = &mut client.ipc.connections;
    let coid = match new.exact {
        Some(c) => table.attach_exact(c, new.target),
        None => table.attach(new.first, new.target, new.side),
    }
    .ok_or(EAGAIN)?;
    let badge = match new.target {
        Target::Files => TaskmanBadge::File {
            pid,
            index: coid.index,
        }
        .encode(),
        _ => ConnectionBadge {
            pid,
            scoid: coid.encode(),
        }
        .encode(),
    };
    let rights = CapRights::WRITE.union(CapRights::GRANT_REPLY);
    let minted = client
        .own_slot(coid.slot())
        .mint(tm.objects.slot(new.master), rights, badge);
    if let Err(e) = minted {
        client.ipc.connections.detach(coid.encode());
        return Err(kernel(e));
    }
    Ok(coid.encode())
}

fn detach(tm: &mut Taskman, pid: Pid, coid: i32) -> Result<(), Errno> {
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    let (c, target) = p.ipc.connections.get(coid).ok_or(EINVAL)?;
    if target == Target::Taskman {
        // The side channel is what the process talks to taskman with.
        return Err(EPERM);
    }
    p.ipc.connections.detach(coid);
    let _ = p.own_slot(c.slot()).delete();
    match target {
        Target::Channel(chid) => disconnected(tm, pid, chid, coid),
        Target::Files => crate::files::detached(tm, pid, c.index),
        Target::Taskman => {}
    }
    Ok(())
}

/// Tells a channel's owner, if it asked, that connection `coid` of
/// process `client` is gone. The pulse's scoid is the coid, as in QNX;
/// its value is the client's pid, because a scoid here is the client's
/// own coid and names a connection only together with the pid.
pub fn disconnected(tm: &mut Taskman, client: Pid, chid: i32, coid: i32) {
    let wants = tm
        .channels
        .get(chid)
        .is_some_and(|c| c.flags & ipc::chf::DISCONNECT != 0);
    if wants {
        let pulse = Pulse {
            code: pulse_code::DISCONNECT,
            value: client as u32 as u64,
            scoid: coid,
        };
        // A full queue loses the notice; the owner learns of it on its
        // next send to the dead connection instead.
        let _ = send_pulse(tm, chid, pulse);
    }
}
