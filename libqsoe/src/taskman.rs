//! Calls to taskman over the side channel. Taskman knows the caller from
//! the channel's badge; the messages carry only arguments.

use crate::errno::Errno;
use crate::side_channel::REPLY_WORDS;
use crate::Pid;
use qsoe_abi::grants::Grant;
use qsoe_abi::wire::{self, op, Census, SpawnProfile};
use sel4_sys::Word;

/// Sends request `label` with `words` to taskman over the side channel
/// and answers the reply's words.
pub(crate) fn request(label: u64, words: &[Word]) -> Result<[Word; REPLY_WORDS], Errno> {
    crate::this_thread::flush_reply();
    crate::side_channel::call(label, words)
}

/// Sends thread request `label` with up to six `words` through the thread
/// trap (`wire::THREAD_TRAP`): taskman learns the calling thread from the
/// kernel, not from the message. Answers the six result words.
pub(crate) fn thread_request(
    label: u64,
    words: &[Word],
) -> Result<[Word; wire::THREAD_TRAP_WORDS], Errno> {
    crate::this_thread::flush_reply();
    let mut a = [0; wire::THREAD_TRAP_WORDS];
    for (r, &w) in a.iter_mut().zip(words) {
        *r = w;
    }
    let [mut a0, mut a1, mut a2, mut a3, mut a4, mut a5] = a;
    let mut a6 = label;
    // SAFETY: the kernel turns the unknown system call into a fault that
    // taskman answers by resuming this thread after the ecall with its pc,
    // sp and ra as they were and a0..a6 set; no other register changes.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") a0,
            inlateout("a1") a1,
            inlateout("a2") a2,
            inlateout("a3") a3,
            inlateout("a4") a4,
            inlateout("a5") a5,
            inlateout("a6") a6,
            in("a7") wire::THREAD_TRAP,
            options(nostack),
        );
    }
    match a0 {
        0 => Ok([a1, a2, a3, a4, a5, a6]),
        e => Err(Errno(e as u32)),
    }
}

pub fn getpid() -> Pid {
    request(op::GETPID, &[]).map_or(-1, |r| r[0] as Pid)
}

/// The parent's pid.
pub fn getppid() -> Pid {
    request(op::GETPID, &[]).map_or(-1, |r| r[1] as Pid)
}

/// Ends the process with `status`.
pub fn exit(status: i32) -> ! {
    let _ = request(op::EXIT, &[status as u32 as Word]);
    // Taskman never answers an exit; if it did, fault rather than go on.
    loop {
        // SAFETY: an illegal instruction ends the process with SIGILL.
        unsafe { core::arch::asm!("unimp") };
    }
}

/// Where and how big a new process should be, and the most it may be
/// granted.
#[derive(Clone, Copy, Debug)]
pub struct SpawnOptions {
    /// `None`: taskman picks a core, round robin.
    pub core: Option<u64>,
    /// log2 of its untyped block; 0 for just enough.
    pub block_bits: u8,
    /// The child gets its program's grant narrowed to this (and to what
    /// this process holds); `Grant::ALL` narrows nothing more.
    pub grant: Grant,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        Self {
            core: None,
            block_bits: 0,
            grant: Grant::ALL,
        }
    }
}

/// Starts the program at `path` in the boot archive.
pub fn spawn<'a, 'e>(
    path: &str,
    argv: impl IntoIterator<Item = &'a [u8]>,
    envp: impl IntoIterator<Item = &'e [u8]>,
    options: SpawnOptions,
) -> Result<Pid, Errno> {
    // Encode straight into the IPC buffer, then pass the first four words
    // in registers.
    let mut words = [0; wire::MAX_WORDS];
    let n = wire::encode_spawn(
        &mut words,
        options.core,
        options.block_bits,
        options.grant,
        path.as_bytes(),
        argv,
        envp,
    )?;
    request(op::SPAWN, &words[..n]).map(|r| r[0] as Pid)
}

/// `waitpid(pid, &status, options)`: answers (pid, status); pid 0 with
/// WNOHANG when no child has ended.
pub fn waitpid(pid: Pid, options: u32) -> Result<(Pid, i32), Errno> {
    request(op::WAITPID, &[pid as i64 as Word, options as Word]).map(|r| (r[0] as Pid, r[1] as i32))
}

/// `kill(pid, signal)`: sends `signal` to `pid`, the caller itself or one
/// of its children (any process, with the signal ability). What it does
/// is the target's disposition or the signal's default action; signal 0
/// only checks that the caller may send one.
pub fn kill(pid: Pid, signal: u32) -> Result<(), Errno> {
    request(op::KILL, &[pid as i64 as Word, signal as Word]).map(drop)
}

/// Blocks the calling thread for good: until a signal ends the process.
pub fn pause() -> Errno {
    request(op::PAUSE, &[]).err().unwrap_or(crate::errno::EINTR)
}

/// What the kernel says of one of this process's threads this moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadState {
    /// It holds a scheduling context (a passive server waiting holds none).
    pub sched_context: bool,
    /// Its FPU is on (it has used floating point).
    pub fpu: bool,
}

/// What the kernel says of thread `tid` of this process.
pub fn thread_state(tid: i32) -> Result<ThreadState, Errno> {
    request(op::THREAD_STATE, &[tid as Word]).map(|r| ThreadState {
        sched_context: r[0] != 0,
        fpu: r[1] != 0,
    })
}

/// Where taskman's spawn and teardown time went since the last call (the
/// first call's window starts at boot); starts a new window.
pub fn spawn_profile() -> Result<SpawnProfile, Errno> {
    request(op::SPAWN_PROFILE, &[]).map(|r| {
        let mut w = [0; SpawnProfile::WORDS];
        w.copy_from_slice(&r[..SpawnProfile::WORDS]);
        SpawnProfile::from_words(&w)
    })
}

/// Taskman's accounting of slots and memory, for leak tests.
pub fn census() -> Result<Census, Errno> {
    request(op::CENSUS, &[]).map(|r| {
        let mut w = [0; Census::WORDS];
        w.copy_from_slice(&r[..Census::WORDS]);
        Census::from_words(&w)
    })
}

/// Takes over taskman's console for the driver of its UART: processes
/// spawned from now on get channel `chid` as fds 0, 1 and 2, and `event`
/// comes whenever taskman's own output waits (`console_take`).
pub fn console_claim(chid: i32, event: &qsoe_abi::event::SigEvent) -> Result<(), Errno> {
    let e = event.to_words();
    request(op::CONSOLE_CLAIM, &[chid as Word, e[0], e[1], e[2], e[3]]).map(drop)
}

/// Taskman's console output waiting for the driver, into `out` (at least
/// `CONSOLE_TAKE_BYTES` long); answers how many bytes. 0: none waits.
pub fn console_take(out: &mut [u8]) -> Result<usize, Errno> {
    let r = request(op::CONSOLE_TAKE, &[])?;
    let n = (r[0] as usize).min(CONSOLE_TAKE_BYTES).min(out.len());
    let bytes = r[1..wire::CONSOLE_TAKE_WORDS]
        .iter()
        .flat_map(|w| w.to_le_bytes());
    for (o, b) in out[..n].iter_mut().zip(bytes) {
        *o = b;
    }
    Ok(n)
}

/// The most bytes one `console_take` answers.
pub const CONSOLE_TAKE_BYTES: usize = (wire::CONSOLE_TAKE_WORDS - 1) * 8;
