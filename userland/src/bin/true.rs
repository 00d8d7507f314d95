//! Exits with status 0.
#![no_std]
#![no_main]

libqsoe::main!(main);

fn main() -> i32 {
    0
}
