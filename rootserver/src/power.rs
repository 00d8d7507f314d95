//! Powering the machine off when a test run is over, through the board's
//! test finisher (`sifive,test0` on QEMU's virt board).

use crate::{device, Taskman};
use core::sync::atomic::{AtomicU64, Ordering};
use sel4::Error;
use sel4_root_task::println;
use sel4_sys::CapRights;

/// Where the finisher's register is mapped, once `map_finisher` ran.
static FINISHER: AtomicU64 = AtomicU64::new(0);

/// Maps the finisher at boot. Its page shares a device untyped with other
/// devices (the RTC on QEMU virt), and retype only moves forward through
/// an untyped: a frame for it made after theirs would be refused.
pub fn map_finisher(tm: &mut Taskman) {
    match finisher(tm) {
        Ok(vaddr) => FINISHER.store(vaddr, Ordering::Relaxed),
        Err(e) => println!("taskman: no test finisher to power off with ({e:?})"),
    }
}

const FINISHER_PASS: u32 = 0x5555;
const FINISHER_FAIL: u32 = 0x3333;

/// Ends the run; QEMU exits with status 0 if `passed`, 1 otherwise.
pub fn off(tm: &mut Taskman, passed: bool) -> ! {
    let code = if passed {
        FINISHER_PASS
    } else {
        (1 << 16) | FINISHER_FAIL
    };
    if let Err(e) = write_finisher(tm, code) {
        println!("taskman: cannot power off ({e:?}); halting");
    }
    sel4_root_task::halt()
}

fn finisher(tm: &mut Taskman) -> Result<u64, Error> {
    let paddr = tm
        .boot
        .device_address(&["sifive,test1", "sifive,test0"])
        .ok_or(Error::InvalidArgument { which: 0 })?;
    let frame = device::keep_frame(tm, paddr)?;
    tm.window.map(&mut tm.objects, frame, CapRights::READ_WRITE)
}

fn write_finisher(tm: &mut Taskman, code: u32) -> Result<(), Error> {
    let vaddr = match FINISHER.load(Ordering::Relaxed) {
        0 => finisher(tm)?,
        v => v,
    };
    // SAFETY: the finisher's register is mapped at `vaddr`.
    unsafe { core::ptr::write_volatile(vaddr as *mut u32, code) };
    Ok(())
}
