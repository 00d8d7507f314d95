//! `console-read EXPECT`: one `read` on fd 0 (the console), for the
//! console tests. Exits 0 if it read EXPECT and a newline, 1 if it read
//! something else (which it prints), or the read's errno.
#![no_std]
#![no_main]

use libqsoe::io::read;
use libqsoe::println;

libqsoe::main!(main);

fn main() -> i32 {
    let args = libqsoe::args();
    let expect = args.get(1).unwrap_or(b"");
    let mut buf = [0u8; 256];
    match read(0, &mut buf) {
        Ok(n) if buf[..n].strip_suffix(b"\n") == Some(expect) => 0,
        Ok(n) => {
            println!(
                "console-read: read {:?}",
                core::str::from_utf8(&buf[..n]).unwrap_or("(not UTF-8)")
            );
            1
        }
        Err(e) => e.0 as i32,
    }
}
