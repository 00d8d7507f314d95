//! Greets the console with its arguments.
#![no_std]
#![no_main]

use libqsoe::{print, println};

libqsoe::main!(main);

fn main() -> i32 {
    let args = libqsoe::args();
    print!("hello from pid {}:", libqsoe::taskman::getpid());
    for a in args.iter().skip(1) {
        print!(" {}", core::str::from_utf8(a).unwrap_or("?"));
    }
    println!();
    0
}
