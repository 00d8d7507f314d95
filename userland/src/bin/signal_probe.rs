//! `signal-probe ROLE`: a process that catches signals, for the signal
//! tests. Exit status 0 means the role saw what it expects; any other
//! names the step that failed.
//!
//! - `self`: catches `SIGUSR1` and sends it to itself; the handler must
//!   run, on a thread other than the first. Then ignores `SIGTERM` and
//!   sends that: the process must live on. `SIGKILL` and `SIGSTOP` cannot
//!   be caught.
//! - `catch`: catches `SIGTERM` with a handler that exits 42, stops itself
//!   (its parent then knows the handler is in place) and blocks for good.
//! - `sigchld`: catches `SIGCHLD`, starts `/bin/true` and waits for the
//!   handler, then reaps the child.
//! - `sleep`: sleeps 200 ms, then exits 7 (stopped and continued by the
//!   test while it sleeps).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicI32, Ordering};
use libqsoe::abi::time::Timespec;
use libqsoe::errno::EINVAL;
use libqsoe::signal::{kill, sigaction, SigAction, SIGCHLD, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1};
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::thread::gettid;
use libqsoe::time::nanosleep;
use libqsoe::wait::{WEXITSTATUS, WIFEXITED};

libqsoe::main!(main);

/// The signal the last handler ran for, and the thread it ran on.
static CAUGHT: AtomicI32 = AtomicI32::new(0);
static CAUGHT_ON: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(signal: i32) {
    CAUGHT_ON.store(gettid(), Ordering::Relaxed);
    CAUGHT.store(signal, Ordering::Release);
}

extern "C" fn exit_42(_: i32) {
    taskman::exit(42);
}

/// Waits up to two seconds for a handler to record `signal`.
fn caught(signal: u32) -> bool {
    for _ in 0..200 {
        if CAUGHT.load(Ordering::Acquire) == signal as i32 {
            return true;
        }
        let _ = nanosleep(&Timespec::from_nsec(10_000_000));
    }
    false
}

fn main() -> i32 {
    match libqsoe::args().get(1).unwrap_or(b"") {
        b"self" => on_itself(),
        b"catch" => {
            if sigaction(SIGTERM, SigAction::Handler(exit_42)).is_err() {
                return 1;
            }
            let _ = kill(taskman::getpid(), SIGSTOP);
            taskman::pause();
            2
        }
        b"sigchld" => {
            if sigaction(SIGCHLD, SigAction::Handler(record)).is_err() {
                return 1;
            }
            let no_args: [&[u8]; 0] = [];
            let Ok(child) = taskman::spawn("/bin/true", no_args, no_args, SpawnOptions::default())
            else {
                return 2;
            };
            if !caught(SIGCHLD) {
                return 3;
            }
            match taskman::waitpid(child, 0) {
                Ok((pid, status))
                    if pid == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 =>
                {
                    0
                }
                _ => 4,
            }
        }
        b"sleep" => match nanosleep(&Timespec::from_nsec(200_000_000)) {
            Ok(()) => 7,
            Err(_) => 1,
        },
        _ => 100,
    }
}

fn on_itself() -> i32 {
    let me = taskman::getpid();
    match sigaction(SIGUSR1, SigAction::Handler(record)) {
        Ok(SigAction::Default) => {}
        _ => return 1,
    }
    if kill(me, SIGUSR1).is_err() || !caught(SIGUSR1) {
        return 2;
    }
    if CAUGHT_ON.load(Ordering::Relaxed) == gettid() {
        return 3;
    }
    // The old action comes back; the handler stays until replaced.
    if !matches!(
        sigaction(SIGUSR1, SigAction::Default),
        Ok(SigAction::Handler(_))
    ) {
        return 4;
    }
    if sigaction(SIGTERM, SigAction::Ignore).is_err() || kill(me, SIGTERM).is_err() {
        return 5;
    }
    for sig in [SIGKILL, SIGSTOP] {
        if sigaction(sig, SigAction::Ignore).err() != Some(EINVAL) {
            return 6;
        }
    }
    0
}
