//! `/sbin/init`: starts the drivers the manifest lists, waits for the
//! console if one of them serves it, starts the commands the manifest
//! gives for this boot mode, then reaps every process that ends (its own
//! children and the orphans it adopts). Once the mode's commands have all
//! ended it sends the drivers `SIGTERM`; when nothing is left it exits: 0
//! if every command it started exited with 0.
//!
//! Its arguments are counted groups, drivers first, `init <n> <arg>... --
//! <n> <arg>...`, so no argument needs quoting (see
//! `taskman_core::init_commands`).

#![no_std]
#![no_main]

use libqsoe::abi::time::Timespec;
use libqsoe::errno::ECHILD;
use libqsoe::io::{close, open, O_RDWR};
use libqsoe::signal::{kill, SIGTERM};
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::time::nanosleep;
use libqsoe::wait::{WEXITSTATUS, WIFEXITED, WTERMSIG};
use libqsoe::{println, Pid};

libqsoe::main!(main);

/// Commands (and drivers) init can start.
const MAX_COMMANDS: usize = 16;
/// How long init waits for a driver to serve the console.
const CONSOLE_WAIT_MS: u64 = 2000;

/// What init started from one list.
struct Started {
    pids: [Pid; MAX_COMMANDS],
    count: usize,
    failures: usize,
}

impl Started {
    fn contains(&self, pid: Pid) -> bool {
        self.pids[..self.count].contains(&pid)
    }

    fn remove(&mut self, pid: Pid) {
        if let Some(i) = self.pids[..self.count].iter().position(|&p| p == pid) {
            self.pids[i] = self.pids[self.count - 1];
            self.count -= 1;
        }
    }
}

/// Starts the counted groups of `args` from index `i` up to the end or
/// `--`; answers what started and where the groups ended.
fn start(args: &libqsoe::args::Args, mut i: usize) -> (Started, usize) {
    let mut started = Started {
        pids: [0; MAX_COMMANDS],
        count: 0,
        failures: 0,
    };
    while let Some(n) = args.get(i).and_then(qsoe_userland::parse_int) {
        let n = n.max(0) as usize;
        let first = i + 1;
        i = first + n;
        let Some(path) = args.str(first) else { break };
        let argv = (first..i).filter_map(|j| args.get(j));
        match taskman::spawn(path, argv, args.env(), SpawnOptions::default()) {
            Ok(pid) if started.count < MAX_COMMANDS => {
                started.pids[started.count] = pid;
                started.count += 1;
            }
            Ok(_) => {}
            Err(e) => {
                println!("init: cannot start {path}: {e}");
                started.failures += 1;
            }
        }
    }
    (started, i)
}

/// Waits until `/dev/console` opens (a driver serves it), for a while.
fn wait_for_console() {
    for _ in 0..CONSOLE_WAIT_MS / 5 {
        if let Ok(fd) = open("/dev/console", O_RDWR) {
            let _ = close(fd);
            return;
        }
        let _ = nanosleep(&Timespec::from_nsec(5_000_000));
    }
    println!("init: no driver serves /dev/console");
}

fn main() -> i32 {
    let args = libqsoe::args();
    let (mut drivers, end) = start(&args, 1);
    if drivers.count > 0 {
        wait_for_console();
    }
    let after = match args.get(end) {
        Some(b"--") => end + 1,
        _ => end,
    };
    let (mut commands, _) = start(&args, after);
    let mut failures = commands.failures;
    loop {
        if commands.count == 0 {
            for &pid in &drivers.pids[..drivers.count] {
                let _ = kill(pid, SIGTERM);
            }
        }
        match taskman::waitpid(-1, 0) {
            Ok((pid, status)) => {
                if drivers.contains(pid) {
                    drivers.remove(pid);
                    continue;
                }
                let ours = commands.contains(pid);
                commands.remove(pid);
                let ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                if ours && !ok {
                    failures += 1;
                    if WIFEXITED(status) {
                        println!("init: pid {pid} exited with status {}", WEXITSTATUS(status));
                    } else {
                        println!("init: pid {pid} killed by signal {}", WTERMSIG(status));
                    }
                }
            }
            Err(ECHILD) => break,
            Err(e) => {
                println!("init: waitpid failed: {e}");
                return 2;
            }
        }
    }
    (failures != 0) as i32
}
