//! Delivering QNX events (`struct sigevent`) to a process: what
//! `MsgDeliverEvent` asks of taskman, and what timers and interrupts will
//! use. `taskman_core::events` decides what an event means; this checks
//! it against the target's connections and delivers it.

use crate::connection::pulse_on;
use crate::Taskman;
use qsoe_abi::errno::{Errno, ESRCH};
use qsoe_abi::event::SigEvent;
use qsoe_abi::Pid;
use taskman_core::channels::Target;
use taskman_core::events::{self, Delivery};

/// `MsgDeliverEvent` by `server` to its client `client`, which must be
/// connected by its coid `scoid` to one of `server`'s channels (`ESRCH`
/// otherwise, as for an rcvid that names no client).
pub fn deliver_for_server(
    tm: &mut Taskman,
    server: Pid,
    client: Pid,
    scoid: i32,
    event: &SigEvent,
) -> Result<(), Errno> {
    let p = tm.processes.get(client).ok_or(ESRCH)?;
    let (_, target) = p.ipc.connections.get(scoid).ok_or(ESRCH)?;
    let connected = match target {
        Target::Channel(chid) => tm.channels.get(chid).is_some_and(|c| c.owner == server),
        _ => false,
    };
    if !connected {
        return Err(ESRCH);
    }
    deliver(tm, client, event)
}

/// Delivers `event` to process `target`. A pulse goes on the target's own
/// connection `sigev_coid`, as `MsgSendPulse` on it would
/// (`connection::pulse_on`).
pub fn deliver(tm: &mut Taskman, target: Pid, event: &SigEvent) -> Result<(), Errno> {
    match events::plan(event)? {
        Delivery::Nothing => Ok(()),
        Delivery::Pulse { coid, code, value } => pulse_on(tm, target, coid, code, value),
    }
}
