//! Taskman's console is the board's UART, which it drives itself (see
//! `sel4_root_task::Console`): the device tree names it, and a device
//! untyped holds its registers. Processes write to it through their
//! console connections (fds 0, 1, 2: see `files`), each line kept whole,
//! until a driver claims it (`CONSOLE_CLAIM`: `devc-ser8250`, granted the
//! same UART). From then on taskman's output waits in a ring that the
//! driver empties (`CONSOLE_TAKE`) whenever its event says there is some,
//! and every process spawned gets the driver's channel as fds 0, 1 and 2
//! (`process::spawn`). If the driver ends, taskman prints itself again.

use crate::{device, event, Taskman};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EBUSY, EINVAL, EPERM, ESRCH};
use qsoe_abi::event::SigEvent;
use qsoe_abi::Pid;
use sel4::Error;
use sel4_root_task::Console;
use sel4_sys::{CapRights, Word};

/// The UART compatibles taskman's console takes.
const UART: [&str; 2] = ["ns16550a", "ns16550"];

/// The process that drives the console now.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleDriver {
    pub pid: Pid,
    /// Its resource manager's channel, which new processes' fds 0..2 reach.
    pub chid: i32,
    event: SigEvent,
    /// Whether `event` went out for output not taken yet.
    told: bool,
}

/// Maps the first ns16550a the device tree lists and sends the console
/// there; until then (and if this fails) output waits in a buffer.
pub fn attach_uart(tm: &mut Taskman) -> Result<(), Error> {
    let paddr = tm
        .boot
        .device_address(&UART)
        .ok_or(Error::InvalidArgument { which: 0 })?;
    let page = paddr & !0xfff;
    let frame = device::frame_at(tm, page)?;
    let vaddr = tm
        .window
        .map(&mut tm.objects, frame, CapRights::READ_WRITE)?;
    // SAFETY: the UART's register page is mapped at `vaddr` for good.
    unsafe { sel4_root_task::Console::use_uart((vaddr + (paddr - page)) as usize) };
    Ok(())
}

/// `CONSOLE_CLAIM` from `pid`: it must be granted the console's UART and
/// own channel `chid`; one driver at a time (`EBUSY`).
pub fn claim(tm: &mut Taskman, pid: Pid, chid: i32, event: SigEvent) -> Result<(), Errno> {
    if tm
        .console_driver
        .is_some_and(|d| tm.processes.get(d.pid).is_some())
    {
        return Err(EBUSY);
    }
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let paddr = tm.boot.device_address(&UART).ok_or(EPERM)?;
    tm.devices.pages_for(p.grant.devices, paddr, 1)?;
    if tm.channels.get(chid).is_none_or(|c| c.owner != pid) {
        return Err(EINVAL);
    }
    taskman_core::events::plan(&event)?;
    Console::divert();
    tm.console_driver = Some(ConsoleDriver {
        pid,
        chid,
        event,
        told: false,
    });
    Ok(())
}

/// `CONSOLE_TAKE` from the driver: up to `room` words of waiting output,
/// after the byte count.
pub fn take(tm: &mut Taskman, pid: Pid, room: usize) -> Result<Vec<Word>, Errno> {
    let driver = tm
        .console_driver
        .as_mut()
        .filter(|d| d.pid == pid)
        .ok_or(EPERM)?;
    let mut bytes = alloc::vec![0u8; room.saturating_sub(1) * 8];
    let n = Console::take(&mut bytes);
    if n == 0 {
        driver.told = false;
    }
    let mut words = alloc::vec![n as Word];
    words.extend(bytes[..n].chunks(8).map(|c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        Word::from_le_bytes(w)
    }));
    Ok(words)
}

/// After each request: tells the driver once that output waits.
pub fn tell_driver(tm: &mut Taskman) {
    let Some(d) = tm.console_driver else {
        return;
    };
    if d.told || !Console::has_diverted() {
        return;
    }
    if event::deliver(tm, d.pid, &d.event).is_ok() {
        if let Some(d) = tm.console_driver.as_mut() {
            d.told = true;
        }
    }
}

/// Process `pid` ended: if it drove the console, taskman prints again.
pub fn forget_process(tm: &mut Taskman, pid: Pid) {
    if tm.console_driver.is_some_and(|d| d.pid == pid) {
        tm.console_driver = None;
        Console::undivert();
    }
}
