//! QNX channels as seL4 objects. The registry (`taskman_core::channels`)
//! decides; this module makes and destroys caps.
//!
//! A channel lives in a *cell*: an endpoint-sized untyped carved once
//! from the owner's IPC area. Taskman keeps the endpoint's original cap
//! (the master); the owner gets a Receive cap and every client a badged
//! Send cap, all derived from it. Destroying a channel revokes the master,
//! answers the clients still waiting to send, then revokes the cell, which
//! leaves the cell empty for the next channel.
//!
//! Pulses queue in the channel, in taskman. Every thread has a wake
//! notification, bound to it once it first makes or receives on a
//! channel; a pulse rings the wake notification of every thread of the
//! owner that receives on the channel (its creator, and each thread that
//! told taskman with `CHANNEL_RECEIVE` before its first receive there). A thread blocked in
//! a receive on any channel wakes and asks for a pulse of the channel it
//! receives on; the answer also names the owner's channels that still have
//! pulses, which its runtime notes so that the next receive on one takes
//! them before it waits.

use crate::kernel_error::refused;
use crate::process::Process;
use crate::{passive, Taskman};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EBADF, EINVAL, EPERM, ESRCH};
use qsoe_abi::ipc::{error_label, pulse_code, Pulse, MAX_CHANNELS};
use qsoe_abi::layout::slot;
use qsoe_abi::wire::{PulseTaken, Request};
use qsoe_abi::Pid;
use sel4::{Error, Notification};
use sel4_root_task::println;
use sel4_sys::{object, CPtr, CapRights, MessageInfo, Word};
use taskman_core::channels::{Channel, GoneClients, PulseQueue, Target};
use taskman_core::limits::DEFAULT_QUOTAS;
use taskman_core::policy::{self, Cell};
use taskman_core::spawn_plan::{object_slot as obj, reply_cell_bits, CHANNEL_CELL_BITS};

/// Serves `ChannelDestroy`, `PulseTake` and `ChannelReceive` for process
/// `pid`; answers the reply's words.
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
            let pulse = c.take();
            if pulse.is_some() && c.has_pending() {
                // One pulse per wake-up: the other receivers may take the
                // rest meanwhile.
                ring(tm, owner, cell);
            }
            let pending = pending_cells(tm, owner);
            Ok(PulseTaken { pulse, pending }.to_words().to_vec())
        }
        Request::ChannelReceive { chid, tid } => {
            let c = tm.channels.get(chid).ok_or(EINVAL)?;
            if c.owner != pid {
                return Err(EPERM);
            }
            let (cell, pending, fixed) = (c.cell as usize, c.has_pending(), c.fixed_priority());
            let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
            if p.thread_tcb(tid).is_none() {
                return Err(ESRCH);
            }
            if !p.ipc.receivers.make_room(cell) {
                return Err(EAGAIN);
            }
            let passive = receive_on(tm, pid, tid, cell, fixed);
            Ok(alloc::vec![pending as Word, passive as Word])
        }
        _ => Err(EINVAL),
    }
}

fn kernel(e: Error) -> Errno {
    refused("ipc", e)
}

/// `ChannelCreate` by thread `tid` of `pid`: answers the chid, the
/// channel's cell, whether the thread now serves passively, and how many
/// reply objects the process has.
pub fn create(tm: &mut Taskman, pid: Pid, tid: i32, flags: u32) -> Result<Vec<Word>, Errno> {
    let new = decode_create(tm, pid, tid, flags)?;
    let (chid, cell, passive) = perform_create(tm, new)?;
    let replies = tm.processes.get(pid).map_or(0, |p| p.ipc.reply_objects);
    Ok(alloc::vec![
        chid as Word,
        cell as Word,
        passive as Word,
        replies as Word
    ])
}

/// A `ChannelCreate` that can be done.
struct NewChannel {
    pid: Pid,
    tid: i32,
    flags: u32,
    cell: Cell,
}

/// Checks everything a new channel needs, changing nothing: room in the
/// channel table (its memory reserved, so the insert cannot fail), the
/// calling thread, a cell in its process, room to note the thread as a
/// receiver.
fn decode_create(tm: &mut Taskman, pid: Pid, tid: i32, flags: u32) -> Result<NewChannel, Errno> {
    if !tm.channels.has_room() {
        return Err(EAGAIN);
    }
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    if p.ipc.cells.iter().flatten().count() as u64 >= p.grant.limits.channels {
        return Err(EAGAIN);
    }
    let cell = policy::channel_cell(&p.ipc.cells, MAX_CHANNELS)?;
    let j = match cell {
        Cell::Reuse(j) | Cell::Carve(j) => j,
    };
    if p.thread_tcb(tid).is_none() {
        return Err(ESRCH);
    }
    if !p.ipc.receivers.make_room(j) {
        return Err(EAGAIN);
    }
    Ok(NewChannel {
        pid,
        tid,
        flags,
        cell,
    })
}

/// Makes the channel: carves its cell if it is new, makes the process's
/// reply objects with its first channel, fills the cell, and makes the
/// calling thread one of its receivers (`receive_on`). Only the kernel can
/// refuse, and then the cell is emptied again.
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
    if tm.processes.get(pid).ok_or(ESRCH)?.ipc.reply_objects == 0 {
        make_replies(tm, pid, DEFAULT_QUOTAS.unreplied)?;
    }
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let base = obj::channel(cell as u64);
    if let Err(e) = fill_cell(tm, p, base) {
        empty_cell(tm, p.object(base + obj::CELL));
        return Err(e);
    }
    let channel = Channel {
        owner: pid,
        cell: cell as u8,
        flags: new.flags,
        pulses: PulseQueue::default(),
        gone: GoneClients::default(),
    };
    let fixed = channel.fixed_priority();
    let Some(chid) = tm.channels.insert(channel) else {
        empty_cell(tm, p.object(base + obj::CELL));
        return Err(EAGAIN);
    };
    tm.processes.get_mut(pid).ok_or(ESRCH)?.ipc.cells[cell] = Some(chid);
    let passive = receive_on(tm, pid, new.tid, cell, fixed);
    Ok((chid, cell, passive))
}

/// Thread `tid` of `pid` receives on channel cell `cell` from now on (its
/// room in the receiver sets made): noted among the cell's receivers, its
/// wake notification bound to it with its first channel, and, unless the
/// channel is `_NTO_CHF_FIXED_PRIORITY`, serving passively. Answers
/// whether the thread now serves passively.
///
/// A thread's wake notification is bound only once it receives, and a
/// thread that receives where pulses can wake it serves passively: under
/// this system's load, seL4 16.0.0 corrupted an endpoint's queue (a kernel
/// fault in `tcbEPDequeue`) once threads holding their own scheduling
/// contexts and a bound notification received on endpoints.
fn receive_on(tm: &mut Taskman, pid: Pid, tid: i32, cell: usize, fixed: bool) -> bool {
    let Some(p) = tm.processes.get_mut(pid) else {
        return false;
    };
    let (Some(tcb), Some(wake)) = (p.thread_tcb(tid), p.thread_wake(tid)) else {
        return false;
    };
    let first = !p.ipc.receivers.has_thread(tid);
    if !p.ipc.receivers.add(cell, tid) {
        return false;
    }
    if first {
        if let Err(e) = tcb.bind_notification(wake) {
            println!("taskman: pid {pid}: cannot bind a wake notification: {e:?}");
        }
    }
    !fixed && passive::serve_passively(tm, pid, tid, wake)
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

/// Thread `tid` of `p` is gone, and with it its wake notification: no
/// channel's pulses ring it any more.
pub fn thread_gone(tm: &mut Taskman, pid: Pid, tid: i32) {
    if let Some(p) = tm.processes.get_mut(pid) {
        p.ipc.receivers.remove_thread(tid);
    }
    passive::forget(tm, pid, tid);
}

/// Tells the owner of channel `chid` that its client `pid` is gone, so
/// that its runtime can drop the calls of `pid`'s it holds. A full notice
/// list loses the notice.
pub fn client_gone(tm: &mut Taskman, chid: i32, pid: Pid) {
    let Some(c) = tm.channels.get_mut(chid) else {
        return;
    };
    if c.owner == pid || !c.gone.note(pid) {
        return;
    }
    let (owner, cell) = (c.owner, c.cell);
    ring(tm, owner, cell);
}

/// Retypes a channel's endpoint into cell `base` and gives the owner its
/// Receive cap.
fn fill_cell(tm: &Taskman, p: &Process, base: u64) -> Result<(), Errno> {
    let cell = p.object(base + obj::CELL);
    let root = tm.objects.root;
    p.retype_object(root, cell, object::ENDPOINT, 0, base + obj::ENDPOINT)
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

/// Gives the process `count` reply objects (its quota of unreplied
/// clients): taskman keeps the originals (to answer their callers if the
/// process dies), the process gets copies.
fn make_replies(tm: &mut Taskman, pid: Pid, count: usize) -> Result<(), Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let root = tm.objects.root;
    let cell = p.object(obj::REPLY_CELL);
    let area = p.object(obj::IPC_AREA);
    let bits = reply_cell_bits(count) as usize;
    p.retype_object(root, area, object::UNTYPED, bits, obj::REPLY_CELL)
        .map_err(kernel)?;
    let made = (0..count as u64).try_for_each(|k| {
        p.retype_object(root, cell, object::REPLY, 0, obj::REPLIES + k)?;
        p.own_slot(slot::REPLY_BASE + k)
            .copy(tm.objects.slot(p.object(obj::REPLIES + k)), CapRights::ALL)
    });
    if let Err(e) = made {
        let _ = tm.objects.slot(cell).revoke();
        let _ = tm.objects.slot(cell).delete();
        return Err(kernel(e));
    }
    tm.processes.get_mut(pid).ok_or(ESRCH)?.ipc.reply_objects = count;
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
            value: coid as u32 as u64,
            scoid: 0,
        };
        // As for disconnect notices: a full queue loses this one.
        let _ = send_pulse(tm, listener, pulse);
    }
}

/// Queues `pulse` on channel `chid` and rings its receivers; `EAGAIN`
/// when the queue is full.
pub fn send_pulse(tm: &mut Taskman, chid: i32, pulse: Pulse) -> Result<(), Errno> {
    let c = tm.channels.get_mut(chid).ok_or(EBADF)?;
    c.pulses.push(pulse).map_err(|_| EAGAIN)?;
    let (owner, cell) = (c.owner, c.cell);
    ring(tm, owner, cell);
    Ok(())
}

/// The cells (bit `cell`) of `owner`'s channels that have something for
/// `PulseTake`.
fn pending_cells(tm: &Taskman, owner: Pid) -> u64 {
    let Some(p) = tm.processes.get(owner) else {
        return 0;
    };
    p.ipc
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.is_some_and(|chid| tm.channels.get(chid).is_some_and(Channel::has_pending))
        })
        .fold(0, |mask, (cell, _)| mask | 1 << cell)
}

/// Rings the wake notification of every thread of `owner` that receives
/// on channel cell `cell`.
fn ring(tm: &Taskman, owner: Pid, cell: u8) {
    let Some(p) = tm.processes.get(owner) else {
        return;
    };
    for tid in p.ipc.receivers.of(cell as usize) {
        if let Some(signal) = p.thread_wake_signal(tid) {
            Notification(signal).signal();
        }
    }
}
