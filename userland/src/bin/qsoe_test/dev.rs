//! Devices and interrupts for drivers: only the devices the manifest
//! grants can be mapped or have their interrupts attached, an attached
//! interrupt arrives as a pulse, and a driver's end gives everything
//! back. The probe is `/bin/dev-probe` (granted QEMU virt's UART and its
//! first virtio-mmio slot) and `/bin/dev-probe-none` (the same program,
//! granted nothing); see `dev_probe.rs`.

use super::{expect_exit, no_leak, run, warm_up, Outcome, Why};
use core::fmt::Write;
use libqsoe::abi::event::SigEvent;
use libqsoe::errno::{Errno, ENODEV, EPERM};
use libqsoe::mman::{find_device, mmap_device_memory, InterruptAttachEvent, PROT_READ};

/// A virtio-mmio slot's first register: "virt", little-endian.
const VIRTIO_MAGIC: &[u8] = b"1953655158";
const VIRTIO: &[u8] = b"virtio,mmio";
const UART: &[u8] = b"ns16550a";

fn probe(path: &str, role: &[u8], device: &[u8], index: &[u8], code: i32) -> Outcome {
    let status = run(path, &[b"dev-probe", role, device, index, VIRTIO_MAGIC])?;
    match expect_exit(status, code) {
        Ok(()) => Ok(()),
        Err(_) => fail!(
            "{path} {} {}: status {status:#x}, expected exit {code}",
            core::str::from_utf8(role).unwrap_or("?"),
            core::str::from_utf8(device).unwrap_or("?")
        ),
    }
}

fn expect_err<T: core::fmt::Debug>(what: &str, got: Result<T, Errno>, want: Errno) -> Outcome {
    match got {
        Err(e) if e == want => Ok(()),
        other => fail!("{what}: {other:?}, expected {want}"),
    }
}

/// The granted probe maps the virtio slot and reads its magic number; the
/// ungranted one is refused both devices' registers and interrupts, and
/// nobody gets a device no entry grants or taskman's own.
pub fn grant_enforced() -> Outcome {
    probe("/bin/dev-probe", b"map", VIRTIO, b"7", 0)?;
    probe("/bin/dev-probe", b"attach", VIRTIO, b"7", 0)?;
    probe("/bin/dev-probe", b"attach", UART, b"0", 0)?;
    for role in [&b"map"[..], b"attach", b"hold"] {
        for device in [VIRTIO, UART] {
            let index: &[u8] = if device == VIRTIO { b"7" } else { b"0" };
            probe("/bin/dev-probe-none", role, device, index, EPERM.0 as i32)?;
        }
    }
    // Granted to no program; taskman's own clock.
    expect_err("virtio slot 0", find_device("virtio,mmio", 0), ENODEV)?;
    expect_err("the RTC", find_device("google,goldfish-rtc", 0), ENODEV)?;
    // This process holds the UART and the virtio slot, not the RTC's page
    // or interrupt, nor RAM.
    expect_err(
        "RTC page",
        mmap_device_memory(0x1000, PROT_READ, 0x10_1000),
        EPERM,
    )?;
    expect_err(
        "RAM",
        mmap_device_memory(0x1000, PROT_READ, 0x8000_0000),
        EPERM,
    )?;
    let uart = match find_device("ns16550a", 0) {
        Ok(d) => d,
        Err(e) => fail!("find the UART: {e}"),
    };
    expect_err(
        "past the UART's window",
        mmap_device_memory(0x2000, PROT_READ, uart.paddr),
        EPERM,
    )?;
    let event = SigEvent::pulse(0, 21, 1, 0);
    expect_err("RTC interrupt", InterruptAttachEvent(11, &event), EPERM)?;
    expect_err("interrupt 0", InterruptAttachEvent(0, &event), EPERM)
}

/// The UART's transmitter-empty interrupt reaches the probe as a pulse.
pub fn interrupt_delivered() -> Outcome {
    probe("/bin/dev-probe", b"fire", UART, b"0", 0)
}

/// A driver that maps its device and attaches its interrupt, then exits
/// without giving either back, 100 times over: taskman takes both back
/// each time (the next one can attach again), nothing leaks, and the
/// interrupt still works after.
pub fn irq_given_back() -> Outcome {
    let hold = |device: &[u8], index: &[u8]| probe("/bin/dev-probe", b"hold", device, index, 0);
    hold(VIRTIO, b"7")?;
    let before = warm_up("/bin/dev-probe", &[b"dev-probe", b"hold", UART, b"0"])?;
    for _ in 0..100 {
        hold(VIRTIO, b"7")?;
        hold(UART, b"0")?;
    }
    no_leak(&before, true)?;
    interrupt_delivered()
}
