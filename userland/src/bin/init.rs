//! `/sbin/init`: starts the commands the manifest gives for this boot
//! mode, then reaps every process that ends (its own children and the
//! orphans it adopts). When nothing is left it exits: 0 if every command
//! it started exited with 0.
//!
//! Its arguments are counted groups, `init <n> <arg>... <n> <arg>...`, so
//! no argument needs quoting (see `taskman_core::init_commands`).

#![no_std]
#![no_main]

use libqsoe::errno::ECHILD;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::wait::{WEXITSTATUS, WIFEXITED, WTERMSIG};
use libqsoe::{println, Pid};

libqsoe::main!(main);

/// Commands init can start.
const MAX_COMMANDS: usize = 16;

fn main() -> i32 {
    let args = libqsoe::args();
    let mut started: [Pid; MAX_COMMANDS] = [0; MAX_COMMANDS];
    let mut count = 0;
    let mut failures = 0;
    let mut i = 1;
    while let Some(n) = args.get(i).and_then(qsoe_userland::parse_int) {
        let n = n.max(0) as usize;
        let first = i + 1;
        i = first + n;
        let Some(path) = args.str(first) else { break };
        let argv = (first..i).filter_map(|j| args.get(j));
        match taskman::spawn(path, argv, args.env(), SpawnOptions::default()) {
            Ok(pid) if count < MAX_COMMANDS => {
                started[count] = pid;
                count += 1;
            }
            Ok(_) => {}
            Err(e) => {
                println!("init: cannot start {path}: {e}");
                failures += 1;
            }
        }
    }
    loop {
        match taskman::waitpid(-1, 0) {
            Ok((pid, status)) => {
                let ours = started[..count].contains(&pid);
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
