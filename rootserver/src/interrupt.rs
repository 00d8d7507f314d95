//! Interrupts for processes: `InterruptAttachEvent`, `InterruptUnmask`,
//! `InterruptDetach` over seL4 IRQ handler caps.
//!
//! Taskman holds each attached interrupt's handler cap. The handler
//! signals taskman's own bound notification with the attachment's badge
//! bit (`badge_of`), so the request loop's receive returns with it and
//! taskman delivers the attachment's event to its process as
//! `MsgDeliverEvent` would (a pulse on the process's connection). The
//! kernel leaves a delivered interrupt masked until its handler is acked,
//! which is `InterruptUnmask`: QNX's `InterruptAttachEvent` semantics.
//! Detaching, or the process's end, clears and deletes the handler cap,
//! so the interrupt can be attached again.
//!
//! The kernel enables an interrupt at the PLIC for the hart that acks it;
//! taskman's loop thread does every ack, so every attached interrupt is
//! taken on taskman's core.

use crate::{event, Taskman};
use qsoe_abi::errno::{Errno, EAGAIN, EBUSY, ENOMEM, EPERM, ESRCH};
use qsoe_abi::event::SigEvent;
use qsoe_abi::Pid;
use sel4::{Error, IrqControl, IrqHandler, Notification, Tcb};
use sel4_root_task::println;
use sel4_sys::{init_cap, object, CPtr, CapRights, Word};
use taskman_core::events;
use taskman_core::interrupts::{Attachment, Interrupts, SLOTS};

/// The first badge bit of an attachment's handler: bits 48..60, which no
/// endpoint badge taskman mints has (`TaskmanBadge` uses 0..48 and
/// 61..64), below the alarm's bit 60.
const BADGE_SHIFT: u32 = 48;
/// Every attachment's badge bit.
pub const BADGES: Word = ((1 << SLOTS) - 1) << BADGE_SHIFT;
const _: () = assert!(BADGE_SHIFT as usize + SLOTS <= 60);

fn badge_of(slot: usize) -> Word {
    1 << (BADGE_SHIFT as usize + slot)
}

/// Taskman's side of an attachment: the handler cap and the badged
/// notification cap it signals.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    handler: CPtr,
    badged: CPtr,
}

pub type InterruptTable = Interrupts<Held>;

/// The notification bound to taskman's thread, made and bound on first
/// use: the RTC's alarm and every attached interrupt signal it.
pub fn bound_notification(tm: &mut Taskman) -> Result<CPtr, Error> {
    if let Some(n) = tm.notification {
        return Ok(n);
    }
    let n = tm.objects.create(object::NOTIFICATION, 0)?;
    if let Err(e) = Tcb(init_cap::TCB).bind_notification(Notification(n)) {
        let _ = tm.objects.destroy(n);
        return Err(e);
    }
    tm.notification = Some(n);
    Ok(n)
}

/// A copy of the bound notification with `badge`, for a handler to signal.
pub fn badged_notification(tm: &mut Taskman, badge: Word) -> Result<CPtr, Error> {
    let n = bound_notification(tm)?;
    let slot = tm.objects.alloc_slot()?;
    let minted = tm
        .objects
        .slot(slot)
        .mint(tm.objects.slot(n), CapRights::WRITE, badge);
    if let Err(e) = minted {
        tm.objects.free_slot(slot);
        return Err(e);
    }
    Ok(slot)
}

/// `InterruptAttachEvent(irq, event)` for `pid`: answers the id.
pub fn attach(tm: &mut Taskman, pid: Pid, irq: u32, event: SigEvent) -> Result<i32, Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    if !tm.devices.irq_granted(p.grant.devices, irq) {
        return Err(EPERM);
    }
    events::plan(&event)?;
    let slot = tm.interrupts.check_attach(irq)?;
    let held = take_handler(tm, irq, slot)?;
    tm.interrupts.attach(
        slot,
        Attachment {
            owner: pid,
            irq,
            event,
            masked: false,
            held,
        },
    );
    Ok(slot as i32)
}

/// Gets the handler cap for `irq`, routes it to the bound notification
/// with `slot`'s badge and unmasks it; on failure gives back what it took.
fn take_handler(tm: &mut Taskman, irq: u32, slot: usize) -> Result<Held, Errno> {
    let badged = badged_notification(tm, badge_of(slot)).map_err(|_| ENOMEM)?;
    let handler = match tm.objects.alloc_slot() {
        Ok(h) => h,
        Err(_) => {
            let _ = tm.objects.destroy(badged);
            return Err(ENOMEM);
        }
    };
    let held = Held { handler, badged };
    let got = IrqControl(init_cap::IRQ_CONTROL).get(irq as Word, tm.objects.slot(handler));
    if got.is_err() {
        // Taskman's own (the RTC's) or one the kernel keeps.
        tm.objects.free_slot(handler);
        let _ = tm.objects.destroy(badged);
        return Err(EBUSY);
    }
    let routed = IrqHandler(handler)
        .set_notification(Notification(badged))
        .and_then(|()| IrqHandler(handler).ack());
    if let Err(e) = routed {
        println!("taskman: cannot route interrupt {irq}: {e:?}");
        give_back(tm, held);
        return Err(EBUSY);
    }
    Ok(held)
}

fn give_back(tm: &mut Taskman, held: Held) {
    let _ = IrqHandler(held.handler).clear();
    for slot in [held.handler, held.badged] {
        if let Err(e) = tm.objects.destroy(slot) {
            println!("taskman: cannot delete an interrupt's cap: {e:?}");
        }
    }
}

/// `InterruptUnmask(irq, id)`: unmasks a fired attachment (an unfired one
/// is not masked, and stays as it is).
pub fn unmask(tm: &mut Taskman, pid: Pid, id: i32) -> Result<(), Errno> {
    let a = tm.interrupts.owned(pid, id)?;
    if a.masked {
        IrqHandler(a.held.handler).ack().map_err(|_| EBUSY)?;
        a.masked = false;
    }
    Ok(())
}

/// `InterruptDetach(id)`.
pub fn detach(tm: &mut Taskman, pid: Pid, id: i32) -> Result<(), Errno> {
    let a = tm.interrupts.detach(pid, id)?;
    give_back(tm, a.held);
    Ok(())
}

/// Detaches every interrupt `pid` attached, at its end.
pub fn release(tm: &mut Taskman, pid: Pid) {
    let held: alloc::vec::Vec<Held> = tm.interrupts.detach_all(pid).map(|a| a.held).collect();
    for h in held {
        give_back(tm, h);
    }
}

/// The bound notification carried `bits`: delivers each fired
/// attachment's event (it stays masked until its owner unmasks it).
pub fn fired(tm: &mut Taskman, bits: Word) {
    let due: alloc::vec::Vec<(Pid, u32, SigEvent)> = tm
        .interrupts
        .fired(bits >> BADGE_SHIFT)
        .map(|a| (a.owner, a.irq, a.event))
        .collect();
    for (pid, irq, event) in due {
        match event::deliver(tm, pid, &event) {
            // A full queue: the kernel signals a level-triggered interrupt
            // on each core that takes it, so its pulses can outrun the
            // driver; the ones waiting already make it look.
            Ok(()) | Err(EAGAIN) => {}
            Err(e) => println!("taskman: pid {pid}: interrupt {irq}'s event not delivered ({e:?})"),
        }
    }
}
