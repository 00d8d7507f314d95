//! Devices and interrupts for drivers: only the devices the manifest
//! grants can be mapped or have their interrupts attached, one driver at
//! a time holds an interrupt, a driver's end gives everything back, and
//! the UART driver (`devc-ser8250`, which holds the UART) echoes what is
//! typed and hands the line to a reader of fd 0. The probe is
//! `/bin/dev-probe` (granted QEMU virt's UART and a virtio-mmio slot) and
//! `/bin/dev-probe-none` (the same program, granted nothing); see
//! `dev_probe.rs`.

use super::{expect_exit, no_leak, run, spawn, warm_up, Outcome, Why};
use core::fmt::Write;
use libqsoe::abi::event::SigEvent;
use libqsoe::abi::time::Timespec;
use libqsoe::errno::{Errno, EBUSY, ENODEV, EPERM};
use libqsoe::io::{fstat, mode};
use libqsoe::mman::{find_device, mmap_device_memory, InterruptAttachEvent, PROT_READ};
use libqsoe::signal::{kill, SIGKILL};
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::time::nanosleep;
use libqsoe::wait::WNOHANG;
use libqsoe::{println, Pid};

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

/// The granted probe maps the virtio slot and reads its magic number and
/// attaches its interrupt, but not the UART's, which its driver holds; the
/// ungranted one is refused both devices' registers and interrupts, and
/// nobody gets a device no entry grants or taskman's own.
pub fn grant_enforced() -> Outcome {
    probe("/bin/dev-probe", b"map", VIRTIO, b"7", 0)?;
    probe("/bin/dev-probe", b"attach", VIRTIO, b"7", 0)?;
    probe("/bin/dev-probe", b"attach", UART, b"0", EBUSY.0 as i32)?;
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

/// A driver that maps its device and attaches its interrupt, then exits
/// without giving either back, 100 times over: taskman takes both back
/// each time (the next one can attach again) and nothing leaks.
pub fn irq_given_back() -> Outcome {
    let before = warm_up("/bin/dev-probe", &[b"dev-probe", b"hold", VIRTIO, b"7"])?;
    for _ in 0..100 {
        probe("/bin/dev-probe", b"hold", VIRTIO, b"7", 0)?;
    }
    no_leak(&before, true)?;
    probe("/bin/dev-probe", b"attach", VIRTIO, b"7", 0)
}

/// Asks the harness to type `keys` into the serial port.
pub fn type_keys(keys: &[u8]) {
    let mut hex = libqsoe::fmt::FmtBuf::<64>::new();
    for k in keys {
        let _ = write!(hex, "{k:02x}");
    }
    println!("qsoe-suite: type {}", hex.as_str());
}

/// Waits up to `ms` milliseconds for child `pid`; kills it after that.
pub fn wait_for(pid: Pid, ms: u64) -> Result<i32, Why> {
    for _ in 0..ms / 10 {
        match taskman::waitpid(pid, WNOHANG) {
            Ok((0, _)) => {}
            Ok((_, status)) => return Ok(status),
            Err(e) => fail!("waitpid({pid}): {e}"),
        }
        let _ = nanosleep(&Timespec::from_nsec(10_000_000));
    }
    let _ = kill(pid, SIGKILL);
    let _ = taskman::waitpid(pid, 0);
    fail!("pid {pid} did not end within {ms} ms")
}

/// This process's fd 0 is the console driver's; a line typed into the
/// serial port is echoed (the harness checks) and a `read` on fd 0 gets
/// it, newline and all.
pub fn uart_echo() -> Outcome {
    match fstat(0) {
        Ok(st) if st.st_mode & mode::S_IFMT == mode::S_IFCHR => {}
        other => fail!("fd 0 is not the console: {other:?}"),
    }
    let reader = match spawn(
        "/bin/console-read",
        &[b"console-read", b"hello"],
        SpawnOptions::default(),
    ) {
        Ok(p) => p,
        Err(e) => fail!("spawn console-read: {e}"),
    };
    type_keys(b"hello\r");
    expect_exit(wait_for(reader, 5000)?, 0)
}
