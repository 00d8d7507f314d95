//! Benchmarks that need processes. Prints `bench:` lines; never fails on
//! a number. Taskman measured the raw seL4 round trip in the same boot and
//! passes it in `QSOE_RAW_ROUND_TRIP_CYCLES`, so costs come out as ratios.

#![no_std]
#![no_main]

use libqsoe::println;
use libqsoe::taskman::{self, SpawnOptions};

libqsoe::main!(main);

const ROUNDS: u64 = 200;

fn cycles() -> u64 {
    let c: u64;
    // SAFETY: reading the cycle counter has no side effects.
    unsafe { core::arch::asm!("rdcycle {}", out(reg) c, options(nomem, nostack)) };
    c
}

fn main() -> i32 {
    let args = libqsoe::args();
    let raw = args
        .getenv("QSOE_RAW_ROUND_TRIP_CYCLES")
        .and_then(|c| qsoe_userland::parse_int(c.as_bytes()))
        .unwrap_or(0) as u64;
    let argv: [&[u8]; 1] = [b"true"];
    let none: [&[u8]; 0] = [];
    // Same core as the measurement of the raw round trip.
    let options = SpawnOptions {
        core: Some(0),
        block_bits: 0,
    };
    let start = cycles();
    for _ in 0..ROUNDS {
        let ok = taskman::spawn("/bin/true", argv, none, options)
            .and_then(|pid| taskman::waitpid(pid, 0));
        if let Err(e) = ok {
            println!("qsoe-bench: spawn /bin/true: {e}");
            return 1;
        }
    }
    let per_cycle = (cycles() - start) / ROUNDS;
    println!("bench: spawn_exit_wait_cycles {per_cycle}");
    if raw == 0 {
        println!("qsoe-bench: no raw round trip from taskman; no ratio");
        return 1;
    }
    println!("bench: spawn_exit_wait_in_roundtrips {}", per_cycle / raw);
    0
}
