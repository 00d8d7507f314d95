//! Taskman's console is the board's UART, which it drives itself (see
//! `sel4_root_task::Console`): the device tree names it, and a device
//! untyped holds its registers. Processes write to it through their
//! console connections (fds 0, 1, 2: see `files`), each line kept whole.

use crate::{device, Taskman};
use sel4::Error;
use sel4_sys::CapRights;

/// Maps the first ns16550a the device tree lists and sends the console
/// there; until then (and if this fails) output waits in a buffer.
pub fn attach_uart(tm: &mut Taskman) -> Result<(), Error> {
    let paddr = tm
        .boot
        .device_address(&["ns16550a", "ns16550"])
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
