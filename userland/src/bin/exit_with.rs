//! `exit-with N`: exits with status N.
#![no_std]
#![no_main]

libqsoe::main!(main);

fn main() -> i32 {
    let args = libqsoe::args();
    args.get(1)
        .and_then(qsoe_userland::parse_int)
        .map_or(255, |n| n as i32)
}
