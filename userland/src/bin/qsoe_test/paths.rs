//! The pathname space and POSIX I/O: taskman's path manager and the files
//! it serves (the boot archive, `/dev/null`, `/dev/zero`, `/proc`), and
//! resource managers built on libqsoe's dispatch (`/bin/resmgr-peer`).

use super::ipc::expect_err;
use super::passive::kill_and_reap;
use super::{census, no_leak, spawn, Outcome, Why};
use core::fmt::Write;
use libqsoe::abi::iomsg::{self, io, resmgr_flag, IoConnect, IoDup, IoTransfer};
use libqsoe::abi::wire::{Resolved, MAX_RESOLVED};
use libqsoe::errno::{Errno, EBADF, EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR, EPERM, EROFS, ESRCH};
use libqsoe::fmt::FmtBuf;
use libqsoe::io::{self as posix, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR, SEEK_SET};
use libqsoe::name;
use libqsoe::neutrino::*;
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::thread::{ThreadCreate, ThreadJoin};
use libqsoe::Pid;

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), e.name()),
        }
    };
}

/// Starts `program PID CHID ROLE ARGS...` and waits for its report that
/// it attached.
pub(super) fn start(program: &str, role: &str, args: &[&str]) -> Result<Pid, Why> {
    let chid = ok!(ChannelCreate(0));
    let me = FmtBuf::<16>::from_display(taskman::getpid());
    let ch = FmtBuf::<16>::from_display(chid);
    let mut argv: [&[u8]; 12] = [b""; 12];
    argv[0] = b"resmgr-peer";
    argv[1] = me.as_bytes();
    argv[2] = ch.as_bytes();
    argv[3] = role.as_bytes();
    for (a, s) in argv[4..].iter_mut().zip(args) {
        *a = s.as_bytes();
    }
    let n = 4 + args.len();
    let pid = ok!(spawn(program, &argv[..n], SpawnOptions::default()));
    let mut status = [0u8; 4];
    let rcvid = ok!(MsgReceive(chid, &mut status, None));
    ok!(MsgReply(rcvid, 0, &[]));
    ok!(ChannelDestroy(chid));
    match u32::from_le_bytes(status) {
        0 => Ok(pid),
        e => {
            let _ = kill_and_reap(pid);
            fail!("{program} {role}: attach failed with {}", Errno(e).name())
        }
    }
}

/// A `/bin/resmgr-peer files PREFIX FLAGS FILES...` server.
fn files(prefix: &str, flags: u32, contents: &[&str]) -> Result<Pid, Why> {
    let flags = FmtBuf::<16>::from_display(flags);
    let mut args: [&str; 8] = [""; 8];
    args[0] = prefix;
    args[1] = flags.as_str();
    args[2..2 + contents.len()].copy_from_slice(contents);
    start("/bin/resmgr-peer", "files", &args[..2 + contents.len()])
}

/// The whole of `path`, read a message at a time, into `buf`.
pub(super) fn read_file<'b>(path: &str, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = posix::open(path, O_RDONLY)?;
    let mut at = 0;
    let result = loop {
        match posix::read(fd, &mut buf[at..]) {
            Ok(0) => break Ok(at),
            Ok(n) => at += n,
            Err(e) => break Err(e),
        }
        if at == buf.len() {
            break Ok(at);
        }
    };
    posix::close(fd)?;
    result.map(|n| &buf[..n])
}

fn expect_file(path: &str, want: &str) -> Outcome {
    let mut buf = [0u8; 64];
    let got = ok!(read_file(path, &mut buf));
    if got != want.as_bytes() {
        fail!(
            "{path}: {:?} instead of {want:?}",
            core::str::from_utf8(got)
        );
    }
    Ok(())
}

fn resolved(path: &str) -> Result<([Resolved; MAX_RESOLVED], usize), Why> {
    let mut found = [Resolved::default(); MAX_RESOLVED];
    let n = ok!(posix::resolve(path.as_bytes(), &mut found));
    Ok((found, n))
}

pub fn longest_prefix() -> Outcome {
    let outer = files("/test/lp", resmgr_flag::DIR, &["x=outer", "inner=shadowed"])?;
    let inner = files("/test/lp/inner", 0, &["=inner"])?;
    expect_file("/test/lp/inner", "inner")?;
    expect_file("/test/lp/x", "outer")?;
    expect_err(
        "a name under a single name",
        posix::open("/test/lp/inner/y", O_RDONLY),
        ENOENT,
    )?;
    let (found, n) = resolved("/test/lp/inner")?;
    let order = (
        found[0].pid,
        found[0].prefix_len,
        found[1].pid,
        found[1].prefix_len,
    );
    if n < 3 || order != (inner, 14, outer, 8) || found[n - 1].pid != 0 {
        fail!("resolved {n}: {:?}", &found[..n]);
    }
    kill_and_reap(inner)?;
    expect_file("/test/lp/inner", "shadowed")?;
    kill_and_reap(outer)
}

pub fn union_fallthrough() -> Outcome {
    let a = files("/test/u", resmgr_flag::DIR, &["a=from A"])?;
    let b = files(
        "/test/u",
        resmgr_flag::DIR | resmgr_flag::AFTER,
        &["a=from B", "b=from B"],
    )?;
    let c = files(
        "/test/u",
        resmgr_flag::DIR | resmgr_flag::BEFORE,
        &["c=from C"],
    )?;
    expect_file("/test/u/a", "from A")?;
    expect_file("/test/u/b", "from B")?;
    expect_file("/test/u/c", "from C")?;
    expect_err(
        "a name none has",
        posix::open("/test/u/d", O_RDONLY),
        ENOENT,
    )?;
    let (found, n) = resolved("/test/u/a")?;
    if n < 3 || (found[0].pid, found[1].pid, found[2].pid) != (c, a, b) {
        fail!("resolved in the wrong order: {:?}", &found[..n]);
    }
    for p in [a, b, c] {
        kill_and_reap(p)?;
    }
    Ok(())
}

pub fn server_exit_detaches() -> Outcome {
    let s = files("/test/gone", 0, &["=here"])?;
    let fd = ok!(posix::open("/test/gone", O_RDONLY));
    kill_and_reap(s)?;
    let mut buf = [0u8; 8];
    if posix::read(fd, &mut buf).is_ok() {
        fail!("read from a dead server succeeded");
    }
    ok!(posix::close(fd));
    expect_err(
        "open after exit",
        posix::open("/test/gone", O_RDONLY),
        ENOENT,
    )?;
    let (found, n) = resolved("/test/gone")?;
    if found[..n].iter().any(|r| r.pid == s) {
        fail!("the dead server's registration is still there");
    }
    Ok(())
}

/// Runs `program PID CHID try PREFIX`; answers its exit code.
fn try_attach(program: &str, prefix: &str) -> Result<i32, Why> {
    let argv: [&[u8]; 5] = [b"resmgr-peer", b"0", b"0", b"try", prefix.as_bytes()];
    let pid = ok!(spawn(program, &argv, SpawnOptions::default()));
    let (_, status) = ok!(taskman::waitpid(pid, 0));
    Ok(libqsoe::wait::WEXITSTATUS(status))
}

pub fn attach_needs_grant() -> Outcome {
    let cases = [
        ("/bin/resmgr-peer-ungranted", "/test/x", EPERM.0),
        ("/bin/resmgr-peer-ungranted", "/dev/name/local/ok", 0),
        ("/bin/resmgr-peer", "/test/y", 0),
        ("/bin/resmgr-peer", "/testing", EPERM.0),
        ("/bin/resmgr-peer", "/etc/x", EPERM.0),
        ("/bin/resmgr-peer", "/", EPERM.0),
    ];
    for (program, prefix, want) in cases {
        let code = try_attach(program, prefix)?;
        if code != want as i32 {
            fail!("{program} attaching {prefix}: exit {code}, expected {want}");
        }
    }
    Ok(())
}

pub fn name_attach_open() -> Outcome {
    let s = start("/bin/resmgr-peer", "name", &["svc"])?;
    let coid = ok!(name::name_open("svc"));
    let mut back = [0u8; 8];
    let n = ok!(MsgSend(coid, b"abc", &mut back));
    if n != 3 || &back[..3] != b"cba" {
        fail!("the name's server answered {n}, {back:?}");
    }
    ok!(name::name_close(coid));
    expect_err("an unknown name", name::name_open("nobody-here"), ENOENT)?;
    expect_err("a name with a slash", name::name_open("a/b"), EINVAL)?;
    // Our own, beside it.
    let mine = ok!(name::name_attach("mine"));
    ok!(name::name_detach(mine));
    expect_err("a detached name", name::name_open("mine"), ENOENT)?;
    kill_and_reap(s)
}

pub fn open_read_write_close() -> Outcome {
    let null = ok!(posix::open("/dev/null", O_RDWR));
    if ok!(posix::write(null, b"hello")) != 5 || ok!(posix::read(null, &mut [0; 8])) != 0 {
        fail!("/dev/null did not swallow and end");
    }
    ok!(posix::close(null));
    expect_err("a closed fd", posix::read(null, &mut [0; 8]), EBADF)?;
    expect_err("closing twice", posix::close(null), EBADF)?;
    let zero = ok!(posix::open("/dev/zero", O_RDONLY));
    let mut buf = [0xffu8; 100];
    if ok!(posix::read(zero, &mut buf)) != 100 || buf.iter().any(|&b| b != 0) {
        fail!("/dev/zero gave {buf:?}");
    }
    expect_err("writing a read-only fd", posix::write(zero, b"x"), EBADF)?;
    ok!(posix::close(zero));

    let s = files("/test/rw", resmgr_flag::DIR, &["f=hello"])?;
    let fd = ok!(posix::open("/test/rw/f", O_RDWR));
    let mut buf = [0u8; 16];
    let n = ok!(posix::read(fd, &mut buf));
    if &buf[..n] != b"hello" {
        fail!("read {:?}", &buf[..n]);
    }
    ok!(posix::lseek(fd, 0, SEEK_SET));
    if ok!(posix::write(fd, b"HE")) != 2 {
        fail!("short write");
    }
    let st = ok!(posix::fstat(fd));
    if st.st_size != 5 || st.is_dir() {
        fail!("fstat: {st:?}");
    }
    ok!(posix::close(fd));
    expect_file("/test/rw/f", "HEllo")?;
    let ro = ok!(posix::open("/test/rw/f", O_RDONLY));
    expect_err("writing a read-only open", posix::write(ro, b"x"), EBADF)?;
    ok!(posix::close(ro));
    let wo = ok!(posix::open("/test/rw/f", O_WRONLY));
    expect_err(
        "reading a write-only open",
        posix::read(wo, &mut buf),
        EBADF,
    )?;
    ok!(posix::close(wo));
    kill_and_reap(s)
}

/// Reads 3 bytes from `fd`, then 3 from its dup; the dup goes on where
/// the first stopped.
fn dup_continues(fd: i32, whole: &[u8]) -> Outcome {
    let mut a = [0u8; 3];
    let mut b = [0u8; 3];
    if ok!(posix::read(fd, &mut a)) != 3 {
        fail!("short first read");
    }
    let copy = ok!(posix::dup(fd));
    if ok!(posix::read(copy, &mut b)) != 3 || a != whole[..3] || b != whole[3..6] {
        fail!("read {a:?} then through the dup {b:?}");
    }
    if ok!(posix::lseek(fd, 0, SEEK_CUR)) != 6 {
        fail!("the first fd did not move with its dup");
    }
    ok!(posix::close(fd));
    ok!(posix::lseek(copy, 1, SEEK_SET));
    if ok!(posix::read(copy, &mut a)) != 3 || a != whole[1..4] {
        fail!("the dup lost its open when the first closed");
    }
    ok!(posix::close(copy));
    Ok(())
}

pub fn dup_shares_offset() -> Outcome {
    let s = files("/test/dup", 0, &["=abcdefgh"])?;
    dup_continues(ok!(posix::open("/test/dup", O_RDONLY)), b"abcdefgh")?;
    let mut whole = [0u8; 6];
    let n = ok!(read_file("/etc/init/test", &mut whole)).len();
    if n < 6 {
        fail!("/etc/init/test is {n} bytes");
    }
    dup_continues(ok!(posix::open("/etc/init/test", O_RDONLY)), &whole)?;
    kill_and_reap(s)
}

/// `dup2` makes exactly the descriptor asked for: one that was open (closed
/// first), and a free slot whatever generation it had reached.
pub fn dup2_chosen_fd() -> Outcome {
    let s = files("/test/dup2", 0, &["=abcdefgh"])?;
    let fd = ok!(posix::open("/test/dup2", O_RDONLY));
    let mut a = [0u8; 3];
    if ok!(posix::read(fd, &mut a)) != 3 || &a != b"abc" {
        fail!("first read {a:?}");
    }
    let open = ok!(posix::open("/dev/null", O_RDONLY));
    if ok!(posix::dup2(fd, open)) != open {
        fail!("dup2 onto an open fd answered another");
    }
    if ok!(posix::read(open, &mut a)) != 3 || &a != b"def" {
        fail!("read through the dup2 copy {a:?}");
    }
    if ok!(posix::lseek(fd, 0, SEEK_CUR)) != 6 {
        fail!("the first fd did not move with its dup2 copy");
    }
    // A slot closed twice is two generations on; its first fd number is
    // chosen anyway.
    let first = ok!(posix::open("/dev/null", O_RDONLY));
    let index = first & 0x3ff;
    ok!(posix::close(first));
    let again = ok!(posix::open("/dev/null", O_RDONLY));
    if again & 0x3ff != index {
        fail!("the slot of fd {first} was not reused");
    }
    ok!(posix::close(again));
    let chosen = ok!(posix::dup2(fd, index));
    ok!(posix::lseek(chosen, 7, SEEK_SET));
    if chosen != index || ok!(posix::read(fd, &mut a)) != 1 || a[0] != b'h' {
        fail!("dup2 onto fd {index} answered {chosen}, or shares no offset");
    }
    // The same slot in another generation is taken; a bad fd is EBADF.
    expect_err(
        "a busy slot",
        posix::dup2(fd, index | 1 << 10),
        libqsoe::errno::EBUSY,
    )?;
    expect_err("a closed fd", posix::dup2(index | 1 << 11, 9), EBADF)?;
    expect_err("a negative fd", posix::dup2(fd, -1), EBADF)?;
    expect_err(
        "a side-channel coid",
        posix::dup2(fd, _NTO_SIDE_CHANNEL | 3),
        EBADF,
    )?;
    if ok!(posix::dup2(fd, fd)) != fd {
        fail!("dup2 of an fd onto itself");
    }
    for f in [fd, open, chosen] {
        ok!(posix::close(f));
    }
    kill_and_reap(s)
}

/// Sends `msg` on `coid`; any answer but a panic is fine, as long as the
/// server still serves after.
fn poke(coid: i32, msg: &[u8]) {
    let mut back = [0u8; 64];
    let _ = MsgSend(coid, msg, &mut back);
}

/// Malformed I/O messages, on an open and on a bare connection.
fn hostile_to(server: Pid, chid: i32, open_fd: i32) -> Outcome {
    let bare = ok!(ConnectAttach(0, server, chid, 0, 0));
    let mut connect = [0u8; 80];
    let n = ok!(IoConnect::default().encode(b"f", &mut connect));
    let mut long_path = connect;
    long_path[34..36].copy_from_slice(&900u16.to_le_bytes());
    let mut no_nul = connect;
    no_nul[n - 1] = b'x';
    let huge_read = IoTransfer {
        nbytes: u32::MAX,
        xtype: 0,
    }
    .encode(io::READ);
    let lying_write = IoTransfer {
        nbytes: 900,
        xtype: 0,
    }
    .encode(io::WRITE);
    let forged_dup = IoDup {
        pid: 1,
        scoid: open_fd,
        coid: open_fd,
    }
    .encode();
    let bad_seek = iomsg::IoLseek {
        whence: 9,
        offset: 0,
    }
    .encode();
    let huge_devctl = iomsg::IoDevctl {
        dcmd: iomsg::dcmd::diof(9, 9, 0x3fff),
        nbytes: u32::MAX,
    }
    .encode();
    let junk = [0xffu8; 960];
    let messages: [&[u8]; 14] = [
        &[],
        &[1],
        &connect[..10],
        &long_path[..n],
        &no_nul[..n],
        &huge_read,
        &huge_read[..8],
        &lying_write,
        &forged_dup,
        &bad_seek,
        &huge_devctl,
        &0x1ffu16.to_le_bytes(),
        &iomsg::short_header(io::CLOSE)[..2],
        &junk,
    ];
    for coid in [bare, open_fd] {
        for m in messages {
            poke(coid, m);
        }
    }
    // A read through the bare connection, never opened.
    expect_err(
        "a read before any open",
        posix::read(bare, &mut [0; 4]),
        EBADF,
    )?;
    ok!(ConnectDetach(bare));
    Ok(())
}

pub fn hostile_io_messages() -> Outcome {
    let before = census()?;
    let s = files("/test/h", 0, &["=intact"])?;
    let fd = ok!(posix::open("/test/h", O_RDWR));
    let info = ok!(ConnectServerInfo(0, fd));
    hostile_to(s, info.chid, fd)?;
    // The server still serves (its open was closed by the junk, or not).
    let _ = posix::close(fd);
    expect_file("/test/h", "intact")?;
    let null = ok!(posix::open("/dev/null", O_RDWR));
    hostile_to(0, 1, null)?;
    let _ = posix::close(null);
    expect_file("/dev/null", "")?;

    // The path manager.
    let chid = ok!(ChannelCreate(0));
    expect_err(
        "unknown flags",
        name::path_attach(b"/test/p", 0x8000, chid, 0),
        EINVAL,
    )?;
    expect_err(
        "another's channel",
        name::path_attach(b"/test/p", 0, 1, 0),
        ESRCH,
    )?;
    expect_err(
        "a relative path",
        name::path_attach(b"test/p", 0, chid, 0),
        EINVAL,
    )?;
    expect_err(
        "a dot-dot path",
        name::path_attach(b"/test/../etc", 0, chid, 0),
        EINVAL,
    )?;
    let long = [b'a'; 600];
    expect_err(
        "a long path",
        name::path_attach(&long, 0, chid, 0),
        ENAMETOOLONG,
    )?;
    expect_err(
        "a stale id",
        name::path_detach(0x7fff_0000),
        libqsoe::errno::ENOENT,
    )?;
    let mut found = [Resolved::default(); MAX_RESOLVED];
    expect_err("resolving nothing", posix::resolve(b"", &mut found), EINVAL)?;
    // Up to the quota, then EAGAIN; all of it goes with the channel.
    let mut made = 0;
    loop {
        match name::path_attach(b"/test/q", 0, chid, 0) {
            Ok(_) => made += 1,
            Err(libqsoe::errno::EAGAIN) => break,
            Err(e) => fail!("attach {made}: {}", e.name()),
        }
        if made > 1000 {
            fail!("no quota on registrations");
        }
    }
    ok!(ChannelDestroy(chid));
    expect_err(
        "after the channel went",
        posix::open("/test/q", O_RDONLY),
        ENOENT,
    )?;
    kill_and_reap(s)?;
    no_leak(&before, false)
}

pub fn cpiofs_read() -> Outcome {
    let mut buf = [0u8; 256];
    let text = ok!(read_file("/etc/init/test", &mut buf));
    if !text.starts_with(b"/bin/qsoe-test") {
        fail!("/etc/init/test: {text:?}");
    }
    let fd = ok!(posix::open("/etc/init/test", O_RDONLY));
    let st = ok!(posix::fstat(fd));
    ok!(posix::close(fd));
    if st.st_size as usize != text.len() || st.is_dir() {
        fail!("stat size {} for {} bytes", st.st_size, text.len());
    }
    let mut elf = [0u8; 4];
    let fd = ok!(posix::open("/bin/true", O_RDONLY));
    let n = ok!(posix::read(fd, &mut elf));
    let size = ok!(posix::lseek(fd, 0, libqsoe::io::SEEK_END));
    ok!(posix::close(fd));
    if n != 4 || &elf != b"\x7fELF" || size < 4096 {
        fail!("/bin/true starts {elf:?}, {size} bytes");
    }
    expect_err(
        "writing the archive",
        posix::open("/bin/true", O_WRONLY),
        EROFS,
    )?;
    expect_err("a missing file", posix::open("/no/such", O_RDONLY), ENOENT)?;
    expect_err("unlink", posix::unlink("/bin/true"), EROFS)?;
    Ok(())
}

/// Whether directory `path` lists every name of `want`.
fn lists(path: &str, want: &[&str]) -> Outcome {
    let mut dir = ok!(posix::opendir(path));
    let mut seen = [false; 8];
    let mut count = 0;
    while let Some((_, name)) = ok!(dir.read()) {
        count += 1;
        for (s, w) in seen.iter_mut().zip(want) {
            *s |= name == w.as_bytes();
        }
    }
    ok!(dir.close());
    if let Some(i) = seen[..want.len()].iter().position(|s| !s) {
        fail!("{path} ({count} entries) does not list {}", want[i]);
    }
    Ok(())
}

pub fn readdir_root() -> Outcome {
    lists("/", &["bin", "etc", "sbin"])?;
    lists("/bin", &["hello", "true", "qsoe-test", "resmgr-peer"])?;
    lists("/etc/init", &["run", "test", "bench"])?;
    expect_err(
        "a file as a directory",
        posix::opendir("/bin/true").map(drop),
        ENOTDIR,
    )?;
    expect_err(
        "a missing directory",
        posix::opendir("/nope").map(drop),
        ENOENT,
    )
}

pub fn lists_processes() -> Outcome {
    let me = taskman::getpid();
    let mine = FmtBuf::<16>::from_display(me);
    let parent = FmtBuf::<16>::from_display(taskman::getppid());
    lists("/proc", &[mine.as_str(), parent.as_str()])?;
    let mut want = FmtBuf::<64>::new();
    let _ = write!(want, "pid {me}\nparent {}\n", taskman::getppid());
    let mut buf = [0u8; 512];
    let info = ok!(read_file("/proc/self/info", &mut buf));
    if !info.starts_with(want.as_bytes()) {
        fail!("/proc/self/info: {:?}", core::str::from_utf8(info));
    }
    let s = files("/test/proc", 0, &["=x"])?;
    let mut path = FmtBuf::<32>::new();
    let _ = write!(path, "/proc/{s}/info");
    let info = ok!(read_file(path.as_str(), &mut buf));
    if !info.windows(17).any(|w| w == b"path /bin/resmgr-") {
        fail!("{}: {:?}", path.as_str(), core::str::from_utf8(info));
    }
    kill_and_reap(s)?;
    expect_err(
        "a dead process",
        posix::open(path.as_str(), O_RDONLY),
        ENOENT,
    )
}

extern "C" fn pool_reader(_: usize) -> usize {
    let mut buf = [0u8; 8];
    match read_file("/test/pool", &mut buf) {
        Ok(b"pool") => 0,
        _ => 1,
    }
}

pub fn thread_pool() -> Outcome {
    let s = start("/bin/resmgr-peer", "pool", &["/test/pool"])?;
    let t = ok!(ThreadCreate(0, pool_reader, 0));
    let mut buf = [0u8; 8];
    let here = ok!(read_file("/test/pool", &mut buf)) == b"pool";
    let there = ok!(ThreadJoin(t));
    kill_and_reap(s)?;
    if !here || there != 0 {
        fail!("two reads were not served at once (here {here}, thread {there})");
    }
    Ok(())
}

/// Reads the pool's file `reads` times; answers how many reads failed.
extern "C" fn churn_reader(reads: usize) -> usize {
    let mut buf = [0u8; 8];
    (0..reads)
        .filter(|_| !matches!(read_file("/test/pool", &mut buf), Ok(b"pool" | b"alone")))
        .count()
}

/// Two readers keep a two-thread pool busy for 600 reads, so that most
/// calls find both pool threads waiting on the one channel. seL4 16.0.0's
/// Call fastpath left the served thread linked to the other one, and the
/// stale link soon corrupted the endpoint's queue and halted the kernel
/// (cmake/kernel-settings.cmake builds the kernel without the fastpath).
pub fn pool_churn() -> Outcome {
    const READS: usize = 300;
    let s = start("/bin/resmgr-peer", "pool", &["/test/pool"])?;
    let readers = [
        ok!(ThreadCreate(0, churn_reader, READS)),
        ok!(ThreadCreate(0, churn_reader, READS)),
    ];
    let mut failed = 0;
    for t in readers {
        failed += ok!(ThreadJoin(t));
    }
    kill_and_reap(s)?;
    if failed != 0 {
        fail!("{failed} of {} reads failed", 2 * READS);
    }
    Ok(())
}

/// A read the pool holds alone (its thread runs on the reader's lent
/// context, yielding while it waits for a second read that never comes).
extern "C" fn held_reader(_: usize) -> usize {
    let mut buf = [0u8; 8];
    match read_file("/test/pool", &mut buf) {
        Ok(b"alone") | Err(_) => 0,
        Ok(_) => 1,
    }
}

/// A pool server killed while one of its threads holds a read, 100 times,
/// at varying moments: the reader gets `alone` or an error, never hangs,
/// and nothing leaks.
pub fn pool_dies_mid_read() -> Outcome {
    let mut before = None;
    for i in 0..101u32 {
        if i == 1 {
            before = Some(census()?);
        }
        let s = start("/bin/resmgr-peer", "pool", &["/test/pool"])?;
        let t = ok!(ThreadCreate(0, held_reader, 0));
        for _ in 0..(i % 16) * 8 {
            sel4_sys::yield_now();
        }
        kill_and_reap(s)?;
        if ok!(ThreadJoin(t)) != 0 {
            fail!("cycle {i}: the held read answered something else");
        }
    }
    match before {
        Some(b) => no_leak(&b, true),
        None => Ok(()),
    }
}

pub fn open_close_10000() -> Outcome {
    let s = files("/test/leak", 0, &["=data"])?;
    let cycle = |i: usize| -> Result<(), Errno> {
        let path = if i.is_multiple_of(2) {
            "/dev/null"
        } else {
            "/test/leak"
        };
        let fd = posix::open(path, O_RDWR)?;
        posix::write(fd, b"x")?;
        posix::close(fd)
    };
    for i in 0..20 {
        ok!(cycle(i));
    }
    let before = census()?;
    for i in 0..10_000 {
        if let Err(e) = cycle(i) {
            fail!("cycle {i}: {}", e.name());
        }
    }
    no_leak(&before, true)?;
    kill_and_reap(s)
}
