//! Signals as QNX delivers them: default actions, stop and continue seen
//! by `waitpid`, handlers on a thread of the process, `SIGCHLD`. The
//! catching side is `/bin/signal-probe` (see `signal_probe.rs`); whatever
//! the tests start is reaped and nothing it held stays behind.

use super::dev::{type_keys, wait_for};
use super::{expect_exit, expect_signal, no_leak, run, spawn, warm_up, Outcome, Why};
use core::fmt::Write;
use libqsoe::abi::termios::{DCMD_CHR_TCGETPGRP, DCMD_CHR_TCSETPGRP};
use libqsoe::abi::time::Timespec;
use libqsoe::errno::{EPERM, ESRCH};
use libqsoe::io::devctl;
use libqsoe::signal::{kill, SIGCHLD, SIGCONT, SIGINT, SIGKILL, SIGSTOP, SIGTERM, SIGWINCH};
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::time::nanosleep;
use libqsoe::wait::{WIFSTOPPED, WNOHANG, WSTOPSIG, WUNTRACED};
use libqsoe::Pid;

fn start(path: &str, argv: &[&[u8]]) -> Result<Pid, Why> {
    match spawn(path, argv, SpawnOptions::default()) {
        Ok(p) => Ok(p),
        Err(e) => fail!("spawn {path}: {e}"),
    }
}

fn send(pid: Pid, signal: u32) -> Outcome {
    match kill(pid, signal) {
        Ok(()) => Ok(()),
        Err(e) => fail!("kill({pid}, {signal}): {e}"),
    }
}

fn wait(pid: Pid, options: u32) -> Result<(Pid, i32), Why> {
    match taskman::waitpid(pid, options) {
        Ok(r) => Ok(r),
        Err(e) => fail!("waitpid({pid}, {options}): {e}"),
    }
}

/// Fails if `pid` has ended or changed state (a `WUNTRACED` poll).
fn still_running(pid: Pid, what: &str) -> Outcome {
    match wait(pid, WNOHANG | WUNTRACED)? {
        (0, _) => Ok(()),
        (_, status) => fail!("{what}: pid {pid} reported status {status:#x}"),
    }
}

/// `warm_up` for `/bin/pause`, which ends only when killed.
fn warm_up_pause() -> Result<libqsoe::abi::wire::Census, Why> {
    let child = start("/bin/pause", &[b"pause"])?;
    send(child, SIGKILL)?;
    wait(child, 0)?;
    super::census()
}

fn sleep_ms(ms: u64) {
    let _ = nanosleep(&Timespec::from_nsec(ms * 1_000_000));
}

fn expect_stopped(status: i32, what: &str) -> Outcome {
    if WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP {
        Ok(())
    } else {
        fail!("{what}: status {status:#x}, expected stopped by SIGSTOP")
    }
}

/// `SIGTERM` and `SIGINT` end a process that does not catch them, and
/// `waitpid` says so; `SIGCHLD`, `SIGWINCH` and `SIGCONT` are ignored by
/// default; signal 0 only checks; nobody may signal a process that is
/// not its own or its child's.
pub fn sigterm_default() -> Outcome {
    let before = warm_up_pause()?;
    for signal in [SIGTERM, SIGINT] {
        let child = start("/bin/pause", &[b"pause"])?;
        for harmless in [0, SIGCHLD, SIGWINCH, SIGCONT] {
            send(child, harmless)?;
        }
        sleep_ms(20);
        still_running(child, "after harmless signals")?;
        send(child, signal)?;
        let (_, status) = wait(child, 0)?;
        expect_signal(status, signal)?;
        if kill(child, 0) != Err(ESRCH) {
            fail!("signal 0 to a reaped child did not answer ESRCH");
        }
    }
    // Init is nobody's child here.
    if kill(1, SIGTERM) != Err(EPERM) || kill(1, 0) != Err(EPERM) {
        fail!("signalled init without the signal ability");
    }
    no_leak(&before, false)
}

/// A handler runs on a thread of the process: for a signal the process
/// sends itself, and for one from its parent while it was stopped
/// (`SIGTERM` waits until `SIGCONT`, then its handler ends the process
/// with its own status). Ignored signals do nothing.
pub fn handler_runs() -> Outcome {
    let before = warm_up("/bin/signal-probe", &[b"signal-probe", b"self"])?;
    let status = run("/bin/signal-probe", &[b"signal-probe", b"self"])?;
    expect_exit(status, 0)?;
    let child = start("/bin/signal-probe", &[b"signal-probe", b"catch"])?;
    // The probe stops itself once its handler is in place.
    let (_, status) = wait(child, WUNTRACED)?;
    expect_stopped(status, "the probe with its handler set")?;
    send(child, SIGTERM)?;
    sleep_ms(20);
    still_running(child, "a stopped process sent a caught SIGTERM")?;
    send(child, SIGCONT)?;
    let (_, status) = wait(child, 0)?;
    expect_exit(status, 42)?;
    no_leak(&before, false)
}

/// A parent that catches `SIGCHLD` hears of its child's exit.
pub fn sigchld() -> Outcome {
    let before = warm_up("/bin/signal-probe", &[b"signal-probe", b"sigchld"])?;
    let status = run("/bin/signal-probe", &[b"signal-probe", b"sigchld"])?;
    expect_exit(status, 0)?;
    no_leak(&before, false)
}

/// `SIGSTOP` stops a process, whether it runs, blocks in taskman or
/// sleeps: `waitpid` with `WUNTRACED` reports it once, and nothing it was
/// doing finishes until `SIGCONT`; then it goes on where it was (a sleep
/// whose deadline passed meanwhile ends at once). `SIGKILL` ends a
/// stopped process.
pub fn stop_continue() -> Outcome {
    let before = warm_up("/bin/signal-probe", &[b"signal-probe", b"sleep"])?;
    // A sleeper: stopped through its deadline, it exits only once continued.
    let sleeper = start("/bin/signal-probe", &[b"signal-probe", b"sleep"])?;
    send(sleeper, SIGSTOP)?;
    let (_, status) = wait(sleeper, WUNTRACED)?;
    expect_stopped(status, "the sleeper")?;
    send(sleeper, SIGSTOP)?;
    sleep_ms(300);
    still_running(sleeper, "a stopped sleeper past its deadline")?;
    send(sleeper, SIGCONT)?;
    let (_, status) = wait(sleeper, 0)?;
    expect_exit(status, 7)?;
    // A process blocked in taskman (`pause`), stopped and continued twice,
    // then killed while stopped.
    let paused = start("/bin/pause", &[b"pause"])?;
    for round in 0..2 {
        send(paused, SIGSTOP)?;
        let (_, status) = wait(paused, WUNTRACED)?;
        expect_stopped(status, "pause")?;
        send(paused, SIGCONT)?;
        sleep_ms(10);
        if round == 0 {
            still_running(paused, "pause, continued")?;
        }
    }
    send(paused, SIGSTOP)?;
    send(paused, SIGKILL)?;
    // Without WUNTRACED the stop is not reported: the kill is.
    let (_, status) = wait(paused, 0)?;
    expect_signal(status, SIGKILL)?;
    no_leak(&before, false)
}

/// The foreground process as the console driver sees it.
fn foreground() -> Result<Pid, Why> {
    let mut pid = [0u8; 4];
    match devctl(0, DCMD_CHR_TCGETPGRP, &mut pid) {
        Ok(_) => Ok(i32::from_le_bytes(pid)),
        Err(e) => fail!("tcgetpgrp: {e}"),
    }
}

fn set_foreground(pid: Pid) -> Outcome {
    let mut bytes = pid.to_le_bytes();
    match devctl(0, DCMD_CHR_TCSETPGRP, &mut bytes) {
        Ok(_) => Ok(()),
        Err(e) => fail!("tcsetpgrp({pid}): {e}"),
    }
}

/// `^C` typed at the console ends the foreground process with `SIGINT`:
/// first the one reading the console (nobody named one), then one that
/// `tcsetpgrp` named, which need not be reading.
pub fn sigint_from_console() -> Outcome {
    let reader = start("/bin/console-read", &[b"console-read", b"never"])?;
    let mut waiting = false;
    for _ in 0..200 {
        if foreground()? == reader {
            waiting = true;
            break;
        }
        sleep_ms(10);
    }
    if !waiting {
        let _ = kill(reader, SIGKILL);
        fail!("the reader never became the console's foreground");
    }
    type_keys(b"\x03");
    expect_signal(wait_for(reader, 5000)?, SIGINT)?;
    let paused = start("/bin/pause", &[b"pause"])?;
    set_foreground(paused)?;
    type_keys(b"\x03");
    let status = wait_for(paused, 5000);
    set_foreground(0)?;
    expect_signal(status?, SIGINT)
}
