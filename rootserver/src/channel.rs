//! QNX channels as seL4 objects. The registry (`taskman_core::channels`)
//! decides; this module makes and destroys caps.
//!
//! A channel lives in a *cell*: a 128-byte untyped carved once from the
//! owner's IPC area, holding the channel's notification and endpoint.
//! Taskman keeps the endpoint's original cap (the master); the owner gets
//! a Receive cap and every client a badged Send cap, all derived from it.
//! Destroying a channel revokes the master, answers the clients still
//! waiting to send, then revokes the cell, which leaves the cell empty for
//! the next channel. Pulses queue in the channel and ring its
//! notification, which is bound to the thread that made it.

use crate::kernel_error::refused;
use crate::process::Process;
use crate::{passive, Taskman};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EBADF, EINVAL, ENOTSUP, EPERM, ESRCH};
use qsoe_abi::ipc::{error_label, pulse_code, Pulse, MAX_CHANNELS, PULSE_BADGE, REPLY_OBJECTS};
use qsoe_abi::layout::slot;
use qsoe_abi::wire::Request;
use qsoe_abi::Pid;
use sel4::{Error, Notification, Tcb};
use sel4_root_task::println;
use sel4_sys::{object, CPtr, CapRights, MessageInfo, Word};
use taskman_core::channels::{Channel, GoneClients, PulseQueue, Target};
use taskman_core::policy::{self, Cell};
use taskman_core::spawn_plan::{object_slot as obj, CHANNEL_CELL_BITS, REPLY_CELL_BITS};

/// Serves `ChannelDestroy` and `PulseTake` for process `pid`; answers the
/// reply's words.
pub fn request(tm: &mut Taskman, pid: Pid, req: Request) -> Result<Vec<Word>, Errno> {
    match req {
        Request::ChannelDestroy { chid } => {
            match tm.channels.get(chid) {
                Some(c) if c.owner == pid => {}
                Some(_) => return Err(EPERM),
                None => return Err(EINVAL),
            }
            destroy(tm, chid, EBADF);
            Ok(Vec::new())
        }
        Request::PulseTake { chid } => {
            let c = tm.channels.get_mut(chid).ok_or(EINVAL)?;
            if c.owner != pid {
                return Err(EPERM);
            }
            let (owner, cell) = (c.owner, c.cell);
            let Some(p) = c.take() else {
                // The wake-up was for another pulse channel of the thread's,
                // taken on this channel's MsgReceive: ring that one again.
                ring_pending(tm, owner);
                return Err(EAGAIN);
            };
            if c.has_pending() {
                // One pulse per wake-up: ring again for the rest.
                signal_cell(tm, owner, cell);
            }
            Ok(p.to_words().to_vec())
        }
        _ => Err(EINVAL),
    }
}

fn kernel(e: Error) -> Errno {
    refused("ipc", e)
}

/// `ChannelCreate` by thread `tid` of `pid`: answers the chid, the
/// channel's cell, and whether the thread now serves passively.
pub fn create(tm: &mut Taskman, pid: Pid, tid: i32, flags: u32) -> Result<Vec<Word>, Errno> {
    let new = decode_create(tm, pid, tid, flags)?;
    let (chid, cell, passive) = perform_create(tm, new)?;
    Ok(alloc::vec![chid as Word, cell as Word, passive as Word])
}

/// A `ChannelCreate` that can be done.
struct NewChannel {
    pid: Pid,
    tid: i32,
    flags: u32,
    thread: Tcb,
    cell: Cell,
    /// Whether the channel gets the thread's bound notification (its
    /// first channel does: a thread has one).
    bind: bool,
}

/// Checks everything a new channel needs, changing nothing: room in the
/// channel table (its memory reserved, so the insert cannot fail), the
/// calling thread, a cell in its process.
fn decode_create(tm: &mut Taskman, pid: Pid, tid: i32, flags: u32) -> Result<NewChannel, Errno> {
    if !tm.channels.has_room() {
        return Err(EAGAIN);
    }
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    Ok(NewChannel {
        pid,
        tid,
        flags,
        thread: p.thread_tcb(tid).ok_or(ESRCH)?,
        cell: policy::channel_cell(&p.ipc.cells, MAX_CHANNELS)?,
        bind: pulse_channel(tm, p, tid).is_none(),
    })
}

/// Makes the channel: carves its cell if it is new, makes the process's
/// reply objects with its first channel, fills the cell; a thread's first
/// channel without `_NTO_CHF_FIXED_PRIORITY` makes it serve passively.
/// Only the kernel can refuse, and then the cell is emptied again.
fn perform_create(tm: &mut Taskman, new: NewChannel) -> Result<(i32, usize, bool), Errno> {
    let pid = new.pid;
    let cell = match new.cell {
        Cell::Reuse(j) => j,
        Cell::Carve(j) => {
            let p = tm.processes.get(pid).ok_or(ESRCH)?;
            p.retype_object(
                tm.objects.root,
                p.object(obj::IPC_AREA),
                object::UNTYPED,
                CHANNEL_CELL_BITS as usize,
                obj::channel(j as u64) + obj::CELL,
            )
            .map_err(kernel)?;
            tm.processes.get_mut(pid).ok_or(ESRCH)?.ipc.cells.push(None);
            j
        }
    };
    if !tm.processes.get(pid).ok_or(ESRCH)?.ipc.replies {
        make_replies(tm, pid)?;
    }
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let base = obj::channel(cell as u64);
    if let Err(e) = fill_cell(tm, p, base) {
        empty_cell(tm, p.object(base + obj::CELL));
        return Err(e);
    }
    let notification = Notification(p.object(base + obj::NOTIFICATION));
    let bind = new.bind && new.thread.bind_notification(notification).is_ok();
    let channel = Channel {
        owner: pid,
        cell: cell as u8,
        flags: new.flags,
        pulse_thread: bind.then_some(new.tid),
        pulses: PulseQueue::default(),
        gone: GoneClients::default(),
    };
    let fixed = channel.fixed_priority();
    let Some(chid) = tm.channels.insert(channel) else {
        empty_cell(tm, p.object(base + obj::CELL));
        return Err(EAGAIN);
    };
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    p.ipc.cells[cell] = Some(chid);
    let passive = bind && !fixed && passive::serve_passively(tm, pid, new.tid, notification);
    Ok((chid, cell, passive))
}

/// The first channel of `p` that `wanted` picks.
pub fn owned_channel(tm: &Taskman, p: &Process, wanted: impl Fn(&Channel) -> bool) -> Option<i32> {
    p.ipc
        .cells
        .iter()
        .flatten()
        .copied()
        .find(|&c| tm.channels.get(c).is_some_and(&wanted))
}

/// The channel of `p` whose pulses wake thread `tid`, if any.
fn pulse_channel(tm: &Taskman, p: &Process, tid: i32) -> Option<i32> {
    owned_channel(tm, p, |c| c.pulse_thread == Some(tid))
}

/// Thread `tid` of `p` is gone, and with it its bound notification: its
/// channel's pulses have nobody to wake.
pub fn thread_gone(tm: &mut Taskman, pid: Pid, tid: i32) {
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    if let Some(chid) = pulse_channel(tm, p, tid) {
        if let Some(c) = tm.channels.get_mut(chid) {
            c.pulse_thread = None;
        }
    }
    passive::forget(tm, pid, tid);
}

/// Tells the owner of channel `chid` that its client `pid` is gone, so
/// that its runtime can drop the calls of `pid`'s it holds. A full notice
/// list, or a channel nobody takes pulses from, loses the notice.
pub fn client_gone(tm: &mut Taskman, chid: i32, pid: Pid) {
    let Some(c) = tm.channels.get_mut(chid) else {
        return;
    };
    if c.owner == pid || c.pulse_thread.is_none() || !c.gone.note(pid) {
        return;
    }
    let (owner, cell) = (c.owner, c.cell);
    signal_cell(tm, owner, cell);
}

/// Retypes a channel's objects into cell `base` and gives the owner its
/// Receive cap.
fn fill_cell(tm: &Taskman, p: &Process, base: u64) -> Result<(), Errno> {
    let cell = p.object(base + obj::CELL);
    let root = tm.objects.root;
    p.retype_object(
        root,
        cell,
        object::NOTIFICATION,
        0,
        base + obj::NOTIFICATION,
    )
    .map_err(kernel)?;
    p.retype_object(root, cell, object::ENDPOINT, 0, base + obj::ENDPOINT)
        .map_err(kernel)?;
    tm.objects
        .slot(p.object(base + obj::PULSE_SIGNAL))
        .mint(
            tm.objects.slot(p.object(base + obj::NOTIFICATION)),
            CapRights::WRITE,
            PULSE_BADGE,
        )
        .map_err(kernel)?;
    let j = (base - obj::channel(0)) / obj::CHANNEL_SLOTS;
    p.own_slot(slot::CHANNEL_BASE + j)
        .mint(
            tm.objects.slot(p.object(base + obj::ENDPOINT)),
            CapRights::READ,
            0,
        )
        .map_err(kernel)
}

/// Deletes every object in a cell; the cell untyped stays for reuse.
fn empty_cell(tm: &Taskman, cell: CPtr) {
    if let Err(e) = tm.objects.slot(cell).revoke() {
        println!("taskman: cannot empty a channel cell: {e:?}");
    }
}

/// Gives the process its reply objects: taskman keeps the originals (to
/// answer their callers if the process dies), the process gets copies.
fn make_replies(tm: &mut Taskman, pid: Pid) -> Result<(), Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let root = tm.objects.root;
    let cell = p.object(obj::REPLY_CELL);
    let area = p.object(obj::IPC_AREA);
    let bits = REPLY_CELL_BITS as usize;
    p.retype_object(root, area, object::UNTYPED, bits, obj::REPLY_CELL)
        .map_err(kernel)?;
    let made = (0..REPLY_OBJECTS as u64).try_for_each(|k| {
        p.retype_object(root, cell, object::REPLY, 0, obj::REPLIES + k)?;
        p.own_slot(slot::REPLY_BASE + k)
            .copy(tm.objects.slot(p.object(obj::REPLIES + k)), CapRights::ALL)
    });
    if let Err(e) = made {
        let _ = tm.objects.slot(cell).revoke();
        let _ = tm.objects.slot(cell).delete();
        return Err(kernel(e));
    }
    tm.processes.get_mut(pid).ok_or(ESRCH)?.ipc.replies = true;
    Ok(())
}

/// Ends channel `chid`: no new message can reach it, the clients blocked
/// sending to it get `senders_get`, and its cell is emptied.
pub fn destroy(tm: &mut Taskman, chid: i32, senders_get: Errno) {
    let Some(channel) = tm.channels.remove(chid) else {
        return;
    };
    tm.paths.remove_channel(channel.owner, chid);
    let Some(p) = tm.processes.get(channel.owner) else {
        return;
    };
    let base = obj::channel(channel.cell as u64);
    let master = p.object(base + obj::ENDPOINT);
    let cell = p.object(base + obj::CELL);
    // Every Send cap and the owner's Receive cap go; senders already
    // queued stay queued on the endpoint...
    if let Err(e) = tm.objects.slot(master).revoke() {
        println!("taskman: cannot revoke a channel: {e:?}");
    }
    // ...until taskman takes each one and answers it.
    if let Some(reply) = tm.replies.pop() {
        loop {
            let msg = sel4_sys::nb_recv(master, reply);
            if msg.badge == 0 {
                break;
            }
            sel4_sys::send(
                reply,
                MessageInfo::new(error_label(senders_get), 0, 0, 0),
                [0; 4],
            );
        }
        tm.replies.push(reply);
    }
    empty_cell(tm, cell);
    if let Some(p) = tm.processes.get_mut(channel.owner) {
        p.ipc.cells[channel.cell as usize] = None;
    }
    // Its notification held its thread's own scheduling context.
    if let Some(tid) = channel.pulse_thread {
        passive::forget(tm, channel.owner, tid);
    }
    coid_death(tm, chid);
}

/// Tells every process connected to the ended channel `chid`, if it has a
/// channel that asked (`_NTO_CHF_COID_DISCONNECT`): a `_PULSE_CODE_COIDDEATH`
/// pulse per connection, its value the coid.
fn coid_death(tm: &mut Taskman, chid: i32) {
    let mut notices = Vec::new();
    for (_, p) in tm.processes.alive() {
        if let Some(listener) = owned_channel(tm, p, Channel::hears_coid_death) {
            let coids = p.ipc.connections.coids_to(Target::Channel(chid));
            notices.extend(coids.map(|coid| (listener, coid)));
        }
    }
    for (listener, coid) in notices {
        let pulse = Pulse {
            code: pulse_code::COIDDEATH,
            value: coid as u32,
            scoid: 0,
        };
        // As for disconnect notices: a full queue loses this one.
        let _ = send_pulse(tm, listener, pulse);
    }
}

pub fn send_pulse(tm: &mut Taskman, chid: i32, pulse: Pulse) -> Result<(), Errno> {
    let c = tm.channels.get_mut(chid).ok_or(EBADF)?;
    if c.pulse_thread.is_none() {
        return Err(ENOTSUP);
    }
    c.pulses.push(pulse).map_err(|_| EAGAIN)?;
    let (owner, cell) = (c.owner, c.cell);
    signal_cell(tm, owner, cell);
    Ok(())
}

/// Rings the channels of `owner` that receive pulses and have some queued.
fn ring_pending(tm: &Taskman, owner: Pid) {
    let Some(p) = tm.processes.get(owner) else {
        return;
    };
    for &chid in p.ipc.cells.iter().flatten() {
        if let Some(c) = tm.channels.get(chid) {
            if c.pulse_thread.is_some() && c.has_pending() {
                signal_cell(tm, owner, c.cell);
            }
        }
    }
}

fn signal_cell(tm: &Taskman, owner: Pid, cell: u8) {
    if let Some(p) = tm.processes.get(owner) {
        Notification(p.object(obj::channel(cell as u64) + obj::PULSE_SIGNAL)).signal();
    }
}
