//! Grants from the manifest: each process holds what its program's entry
//! grants, narrowed to its parent's and to what the spawn asks, and
//! taskman refuses past it. The programs and their grants are the
//! `/bin/greedy-*` entries of `manifests/default.toml`; `greedy count`
//! and `greedy spawn` are the probes (see `greedy.rs`).

use super::paths::read_file;
use super::{census, expect_exit, no_leak, run, spawn, warm_up, Outcome, Why};
use core::fmt::Write;
use libqsoe::abi::grants::{Abilities, Devices, Grant, Limits};
use libqsoe::errno::{Errno, ENOMEM, EPERM};
use libqsoe::fmt::FmtBuf;
use libqsoe::signal::SIGKILL;
use libqsoe::taskman::{self, SpawnOptions};

macro_rules! ok {
    ($call:expr) => {
        match $call {
            Ok(v) => v,
            Err(e) => fail!("{}: {}", stringify!($call), Errno::name(e)),
        }
    };
}

/// `greedy count`'s exit status for a refusal by the budget (`ENOMEM`).
const BUDGET_REFUSED: i32 = 64;
/// `greedy spawn`'s exit status for a refused spawn: this plus the errno.
const SPAWN_REFUSED: i32 = 200;
/// Bytes of one thread's block (`THREAD_BLOCK_BITS` in taskman).
const THREAD_BLOCK: u64 = 32 << 10;
/// `/bin/greedy-budget`'s budget.
const SMALL_BUDGET: u64 = 512 << 10;

/// Runs `argv` (program path first) and expects exit `code`.
fn expect_run(argv: &[&[u8]], code: i32) -> Outcome {
    let path = core::str::from_utf8(argv[0]).unwrap_or("");
    match run(path, argv)? {
        s if libqsoe::wait::WIFEXITED(s) && libqsoe::wait::WEXITSTATUS(s) == code => Ok(()),
        s => fail!("{:?}: status {s:#x}, expected exit {code}", Args(argv)),
    }
}

/// Arguments shown as text in failures.
struct Args<'a>(&'a [&'a [u8]]);

impl core::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        for a in self.0 {
            write!(f, "{} ", core::str::from_utf8(a).unwrap_or("?"))?;
        }
        Ok(())
    }
}

/// `/bin/greedy-small` (threads 3, channels 2, connections 20, children
/// 2) reaches each quota exactly, is refused with `EAGAIN` past it, and
/// gives everything back.
pub fn quota_enforced() -> Outcome {
    let before = warm_up("/bin/greedy-small", &[b"greedy", b"count", b"threads"])?;
    for (what, quota) in [
        (&b"threads"[..], 3),
        (b"channels", 2),
        (b"connections", 20),
        (b"children", 2),
    ] {
        expect_run(&[b"/bin/greedy-small", b"count", what], quota)?;
    }
    // The same program's default elsewhere: `/bin/greedy` holds 16 threads.
    expect_run(&[b"/bin/greedy", b"count", b"threads"], 16)?;
    no_leak(&before, false)
}

/// `/bin/greedy-budget` has 512 KiB: a block bigger than that is refused,
/// and threads run out when their blocks would pass it, with `ENOMEM`.
pub fn budget_enforced() -> Outcome {
    let before = census()?;
    let bits = |b: u8| SpawnOptions {
        block_bits: b,
        ..SpawnOptions::default()
    };
    match spawn("/bin/greedy-budget", &[b"greedy"], bits(20)) {
        Err(ENOMEM) => {}
        Err(e) => fail!("a 1 MiB block under a 512 KiB budget: {}", e.name()),
        Ok(pid) => {
            let _ = taskman::kill(pid, SIGKILL);
            let _ = taskman::waitpid(pid, 0);
            fail!("a 1 MiB block under a 512 KiB budget was granted")
        }
    }
    // A 256 KiB block leaves room for 8 threads; a 512 KiB one for none.
    let eight = ((SMALL_BUDGET - (256 << 10)) / THREAD_BLOCK) as i32;
    let argv: [&[u8]; 4] = [b"/bin/greedy", b"spawn", b"bits=18", b"/bin/greedy-budget"];
    expect_run(
        &[argv[0], argv[1], argv[2], argv[3], b"count", b"threads"],
        BUDGET_REFUSED + eight,
    )?;
    expect_run(
        &[argv[0], argv[1], b"bits=19", argv[3], b"count", b"threads"],
        BUDGET_REFUSED,
    )?;
    // A parent may give less than the manifest does: /bin/greedy's 32 MiB
    // narrowed to 512 KiB by the spawn.
    expect_run(
        &[
            argv[0],
            argv[1],
            b"budget=524288",
            b"bits=18",
            b"/bin/greedy",
            b"count",
            b"threads",
        ],
        BUDGET_REFUSED + eight,
    )?;
    no_leak(&before, false)
}

/// A child never holds more than its parent: not more threads, budget or
/// abilities than the parent's, whatever its own entry grants and whatever
/// the spawn asks; and a process without `spawn` cannot spawn.
pub fn child_cannot_widen() -> Outcome {
    let before = census()?;
    let small: &[u8] = b"/bin/greedy-small";
    // /bin/greedy's entry grants 16 threads; under greedy-small, 3.
    expect_run(&[small, b"spawn", b"/bin/greedy", b"count", b"threads"], 3)?;
    expect_run(
        &[
            small,
            b"spawn",
            b"threads=16",
            b"/bin/greedy",
            b"count",
            b"threads",
        ],
        3,
    )?;
    // Its 32 MiB budget, under greedy-small's 1 MiB: no 2 MiB block.
    expect_run(
        &[
            small,
            b"spawn",
            b"bits=21",
            b"/bin/greedy",
            b"count",
            b"threads",
        ],
        SPAWN_REFUSED + ENOMEM.0 as i32,
    )?;
    // greedy-granted's census, under a parent without it: refused.
    expect_run(
        &[small, b"spawn", b"/bin/greedy-granted", b"census"],
        EPERM.0 as i32,
    )?;
    // The spawn narrows too: threads, and abilities.
    let narrowed = |limits: Limits, abilities: Abilities| SpawnOptions {
        grant: Grant {
            abilities,
            limits,
            devices: Devices::ALL,
        },
        ..SpawnOptions::default()
    };
    let two = Limits {
        threads: 2,
        ..Limits::MAX
    };
    let pid = ok!(spawn(
        "/bin/greedy",
        &[b"greedy", b"count", b"threads"],
        narrowed(two, Abilities::ALL)
    ));
    expect_exit(ok!(taskman::waitpid(pid, 0)).1, 2)?;
    let pid = ok!(spawn(
        "/bin/greedy-granted",
        &[b"greedy", b"census"],
        narrowed(Limits::MAX, Abilities::SPAWN)
    ));
    expect_exit(ok!(taskman::waitpid(pid, 0)).1, EPERM.0 as i32)?;
    // No spawn ability, no spawn.
    expect_run(
        &[b"/bin/greedy-none", b"spawn", b"/bin/true"],
        SPAWN_REFUSED + EPERM.0 as i32,
    )?;
    // What a narrowed child holds, as /proc tells it.
    let pid = ok!(spawn(
        "/bin/pause",
        &[b"pause"],
        narrowed(two, Abilities::NONE)
    ));
    let mut path = FmtBuf::<32>::new();
    let _ = write!(path, "/proc/{pid}/info");
    let mut buf = [0u8; 512];
    let read = read_file(path.as_str(), &mut buf).map(|info| info.len());
    let _ = taskman::kill(pid, SIGKILL);
    let _ = taskman::waitpid(pid, 0);
    let want =
        b"grant budget=68719476736 threads=2 channels=16 connections=128 children=16 abilities= devices=0x0\n";
    match read {
        Ok(n) if buf[..n].ends_with(want) => {}
        Ok(n) => fail!("{}: {:?}", path.as_str(), core::str::from_utf8(&buf[..n])),
        Err(e) => fail!("{}: {}", path.as_str(), e.name()),
    }
    no_leak(&before, false)
}
