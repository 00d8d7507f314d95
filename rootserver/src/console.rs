//! Taskman's console is the board's UART, which it drives itself (see
//! `sel4_root_task::Console`): the device tree names it, and a device
//! untyped holds its registers. Processes write to it through their
//! console connections (fds 0, 1, 2), each line kept whole.

use crate::{device, Taskman};
use qsoe_abi::errno::ESRCH;
use qsoe_abi::ipc::{self, error_label, reply_label};
use qsoe_abi::Pid;
use sel4::Error;
use sel4_root_task::println;
use sel4_sys::{CapRights, Received, Word};

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

/// A message on a console connection: fds 1 and 2 write, line by line;
/// fd 0 reads end of file. Answers the reply label.
pub fn message(tm: &mut Taskman, pid: Pid, fd: u8, msg: &Received, words: &[Word]) -> Word {
    let Some(p) = tm.processes.get_mut(pid) else {
        return error_label(ESRCH);
    };
    if fd == 0 {
        return reply_label(0, 0);
    }
    let bytes = ipc::message_bytes(msg.info.label()).min(words.len() * 8);
    let data = words.iter().flat_map(|w| w.to_le_bytes()).take(bytes);
    p.ipc.console_line.write(data, |line| {
        println!("{}", alloc::string::String::from_utf8_lossy(line));
    });
    reply_label(bytes as i32, 0)
}
