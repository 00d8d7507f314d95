//! Blocks until a signal ends it.
#![no_std]
#![no_main]

libqsoe::main!(main);

fn main() -> i32 {
    libqsoe::taskman::pause();
    1
}
