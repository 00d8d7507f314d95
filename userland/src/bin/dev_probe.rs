//! `dev-probe ROLE COMPATIBLE INDEX`: a driver's first steps, for the
//! device tests. It finds the device (`find_device`), then:
//!
//! - `map`: maps its first register window and reads its first 32-bit
//!   register; exits 0 if the read gave `EXPECT` (argument 4, decimal) or
//!   no `EXPECT` was given.
//! - `attach`: attaches its interrupt to a pulse, unmasks and detaches it.
//! - `hold`: maps it and attaches its interrupt, and exits holding both,
//!   for taskman to take back.
//!
//! Any refused call exits with its errno (`EPERM` is 1).
#![no_std]
#![no_main]

use libqsoe::abi::event::SigEvent;
use libqsoe::errno::Errno;
use libqsoe::mman::{
    find_device, mmap_device_memory, munmap_device_memory, InterruptAttachEvent, InterruptDetach,
    InterruptUnmask, PROT_NOCACHE, PROT_READ, PROT_WRITE,
};
use libqsoe::neutrino::{ChannelCreate, ConnectAttach};
use libqsoe::taskman;
use qsoe_userland::parse_int;

libqsoe::main!(main);

/// The pulse code the interrupt's event carries.
const IRQ_CODE: i8 = 1;

fn main() -> i32 {
    match probe() {
        Ok(code) => code,
        Err(e) => e.0 as i32,
    }
}

fn probe() -> Result<i32, Errno> {
    let args = libqsoe::args();
    let arg = |i| args.get(i).unwrap_or(b"");
    let compatible = core::str::from_utf8(arg(2)).unwrap_or("");
    let index = parse_int(arg(3)).unwrap_or(0) as u32;
    let device = find_device(compatible, index)?;
    let irq = device.irq.unwrap_or(0);
    let prot = PROT_READ | PROT_WRITE | PROT_NOCACHE;
    match arg(1) {
        b"map" => {
            let regs = mmap_device_memory(device.size as usize, prot, device.paddr)?;
            // SAFETY: the register window is mapped at `regs`.
            let first = unsafe { core::ptr::read_volatile(regs as *const u32) };
            munmap_device_memory(regs, device.size as usize)?;
            Ok(match parse_int(arg(4)) {
                Some(expect) if expect != first as i64 => 2,
                _ => 0,
            })
        }
        b"attach" => {
            let id = InterruptAttachEvent(irq, &own_pulse()?)?;
            InterruptUnmask(irq, id)?;
            InterruptDetach(id)?;
            Ok(0)
        }
        b"hold" => {
            mmap_device_memory(device.size as usize, prot, device.paddr)?;
            InterruptAttachEvent(irq, &own_pulse()?)?;
            Ok(0)
        }
        _ => Ok(4),
    }
}

/// A pulse on a channel of this process's own, and the channel.
fn own_pulse() -> Result<SigEvent, Errno> {
    let chid = ChannelCreate(0)?;
    let coid = ConnectAttach(0, taskman::getpid(), chid, 0, 0)?;
    Ok(SigEvent::pulse(coid, 21, IRQ_CODE, 0))
}
