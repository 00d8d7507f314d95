//! Checks the initial stack taskman built: the FNV-1a hash of its
//! arguments and environment (without `QSOE_EXPECT` itself) must equal
//! `QSOE_EXPECT`, the auxiliary vector must name the page size and entry,
//! and the stack must be 16-byte aligned. Exit status 0 means all held;
//! 1 hash, 2 no expectation, 3 auxv, 4 alignment.
#![no_std]
#![no_main]

use libqsoe::println;

libqsoe::main!(main);

const AT_PAGESZ: u64 = 6;
const AT_ENTRY: u64 = 9;

extern "C" {
    fn _start();
}

fn main() -> i32 {
    let args = libqsoe::args();
    if !(libqsoe::initial_sp() as u64).is_multiple_of(16) {
        return 4;
    }
    if args.aux(AT_PAGESZ) != Some(4096) || args.aux(AT_ENTRY) != Some(_start as *const () as u64) {
        return 3;
    }
    let Some(expect) = args
        .getenv("QSOE_EXPECT")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
    else {
        return 2;
    };
    let seen = qsoe_userland::fnv1a(
        args.iter()
            .chain(args.env().filter(|e| !e.starts_with(b"QSOE_EXPECT="))),
    );
    if seen != expect {
        println!("argv-check: hash {seen:016x}, expected {expect:016x}");
        return 1;
    }
    0
}
