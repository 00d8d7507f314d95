//! Bulk data: messages, reads and writes larger than the IPC buffer,
//! through buffers the client lends for the call (`taskman::bulk`).

use super::passive::kill_and_reap;
use super::paths::start;
use super::{census, no_leak, Outcome, Why};
use core::fmt::Write;
use libqsoe::errno::Errno;
use libqsoe::io::{self as posix, O_RDONLY, O_RDWR, O_TRUNC, SEEK_SET};
use libqsoe::name;
use libqsoe::neutrino::MsgSendv;

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), e.name()),
        }
    };
}

const MIB: usize = 1 << 20;

/// The client's buffers: static, so 1 MiB of them fits.
pub(super) struct Buffers {
    pub(super) out: [u8; MIB + 4096],
    pub(super) back: [u8; MIB + 4096],
}

static mut BUFFERS: Buffers = Buffers {
    out: [0; MIB + 4096],
    back: [0; MIB + 4096],
};

/// The suite runs its tests on one thread, one at a time.
pub(super) fn buffers() -> &'static mut Buffers {
    // SAFETY: only the suite's main thread calls this, and no reference
    // from an earlier call is alive when it does.
    unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) }
}

fn fill(bytes: &mut [u8], seed: usize) {
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i.wrapping_mul(31) ^ (i >> 9) ^ seed) as u8;
    }
}

pub fn bulk_1mib_both_ways() -> Outcome {
    let s = start("/bin/resmgr-peer", "big", &["/test/big"])?;
    let b = buffers();
    for (round, size) in [(1, MIB), (2, MIB + 4096), (3, 3000), (4, 70_001)] {
        fill(&mut b.out[..size], round);
        let fd = ok!(posix::open("/test/big", O_RDWR | O_TRUNC));
        if ok!(posix::write(fd, &b.out[..size])) != size {
            fail!("short write of {size}");
        }
        ok!(posix::lseek(fd, 0, SEEK_SET));
        b.back[..size].fill(0);
        let n = ok!(posix::read(fd, &mut b.back[..size]));
        ok!(posix::close(fd));
        if n != size || b.back[..size] != b.out[..size] {
            let at = (0..size).find(|&i| b.back[i] != b.out[i]).unwrap_or(n);
            fail!("round {round}: read {n} of {size}, first difference at {at}");
        }
    }
    // From the middle, ending at the file's end.
    let fd = ok!(posix::open("/test/big", O_RDONLY));
    ok!(posix::lseek(fd, 10_000, SEEK_SET));
    let n = ok!(posix::read(fd, &mut b.back[..MIB]));
    ok!(posix::close(fd));
    if n != 60_001 || b.back[..n] != b.out[10_000..70_001] {
        fail!("read {n} from offset 10000");
    }
    // Taskman's own files serve a lent read whole.
    let fd = ok!(posix::open("/dev/zero", O_RDONLY));
    b.back[..MIB].fill(1);
    let n = ok!(posix::read(fd, &mut b.back[..MIB]));
    ok!(posix::close(fd));
    if n != MIB || b.back[..MIB].iter().any(|&x| x != 0) {
        fail!("/dev/zero gave {n} bytes, or not zeros");
    }
    let fd = ok!(posix::open("/dev/null", O_RDWR));
    let n = ok!(posix::write(fd, &b.out[..MIB]));
    ok!(posix::close(fd));
    if n != MIB {
        fail!("/dev/null took {n} of a MiB");
    }
    kill_and_reap(s)
}

/// What `resmgr-peer offsets` and this test agree byte `i` is.
fn pattern(i: usize) -> u8 {
    (i * 7 + 3) as u8
}

pub fn msgread_msgwrite_offsets() -> Outcome {
    let s = start("/bin/resmgr-peer", "offsets", &["offsets"])?;
    let coid = ok!(name::name_open("offsets"));
    let b = buffers();
    for size in [961, 4097, 9001, 65_536, MIB] {
        for (i, x) in b.out[..size].iter_mut().enumerate() {
            *x = pattern(i);
        }
        b.back[..size].fill(0);
        // Gathered from three parts, scattered to two.
        let (a, rest) = b.out[..size].split_at(7);
        let (m, z) = rest.split_at(rest.len() / 2);
        let (r1, r2) = b.back[..size].split_at_mut(size.min(1000));
        let status = ok!(MsgSendv(coid, &[a, m, z], &mut [r1, r2]));
        if status as usize != size {
            fail!("status {status} for {size}");
        }
        if let Some(i) = (0..size).find(|&i| b.back[i] != pattern(i + 1)) {
            fail!("reply of {size}: byte {i} is {}", b.back[i]);
        }
    }
    ok!(name::name_close(coid));
    kill_and_reap(s)
}

pub fn lent_memory_not_kept() -> Outcome {
    let s = start("/bin/resmgr-peer", "keep", &["keep"])?;
    let coid = ok!(name::name_open("keep"));
    let b = buffers();
    fill(&mut b.out[..8192], 9);
    let reached = ok!(MsgSendv(coid, &[&b.out[..8192]], &mut []));
    if reached != 1 {
        fail!("the server could not read the lent message while it held it ({reached})");
    }
    let after = ok!(MsgSendv(coid, &[b"check"], &mut []));
    if after != 0 {
        fail!("after the call the server still reached the client's memory {after} ways");
    }
    ok!(name::name_close(coid));
    kill_and_reap(s)
}

pub fn bulk_10000() -> Outcome {
    let s = start("/bin/resmgr-peer", "big", &["/test/bulk"])?;
    let b = buffers();
    fill(&mut b.out[..8192], 5);
    let fd = ok!(posix::open("/test/bulk", O_RDWR));
    let cycle = |b: &mut Buffers| -> Result<bool, Errno> {
        posix::lseek(fd, 0, SEEK_SET)?;
        posix::write(fd, &b.out[..8192])?;
        posix::lseek(fd, 0, SEEK_SET)?;
        let n = posix::read(fd, &mut b.back[..8192])?;
        Ok(n == 8192 && b.back[..8192] == b.out[..8192])
    };
    for _ in 0..20 {
        ok!(cycle(b));
    }
    let before = census()?;
    for i in 0..10_000 {
        match cycle(b) {
            Ok(true) => {}
            Ok(false) => fail!("cycle {i}: the bytes came back wrong"),
            Err(e) => fail!("cycle {i}: {}", e.name()),
        }
    }
    no_leak(&before, true)?;
    ok!(posix::close(fd));
    kill_and_reap(s)
}
