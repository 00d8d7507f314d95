//! Exits with the number of the core it runs on, as the kernel says.
#![no_std]
#![no_main]

libqsoe::main!(main);

fn main() -> i32 {
    libqsoe::current_core() as i32
}
