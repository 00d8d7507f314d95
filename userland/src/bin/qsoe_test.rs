//! The in-guest tests that need processes. Taskman runs its own tests
//! first; this program adds its count with `qsoe-suite: more N` and
//! reports each test in the harness's protocol. It exits 0 only if every
//! selected test passed.
//!
//! Leak tests compare taskman's census before and after: occupied slots
//! as the kernel counts them (`DebugCapIdentify`) and as taskman's
//! allocator counts them, and free pool bytes as the pool counts them and
//! as the kernel agrees to retype them.

#![no_std]
#![no_main]

use core::fmt::Write;
use libqsoe::abi::wire::Census;
use libqsoe::errno::{Errno, EINVAL, ENOENT, ENOEXEC, ENOMEM};
use libqsoe::fmt::FmtBuf;
use libqsoe::signal::{SIGILL, SIGKILL, SIGSEGV};
use libqsoe::taskman::{self, SpawnOptions};
use libqsoe::wait::{WEXITSTATUS, WIFEXITED, WIFSIGNALED, WTERMSIG};
use libqsoe::{println, Pid};

libqsoe::main!(main);

/// Why a test failed (kept small: it travels in every `Result`).
type Why = FmtBuf<112>;
type Outcome = Result<(), Why>;
type Test = fn() -> Outcome;

macro_rules! fail {
    ($($arg:tt)*) => {{
        let mut why = Why::new();
        let _ = write!(why, $($arg)*);
        return Err(why);
    }};
}

#[path = "qsoe_test/bulk.rs"]
mod bulk;
#[path = "qsoe_test/dev.rs"]
mod dev;
#[path = "qsoe_test/events.rs"]
mod events;
#[path = "qsoe_test/ipc.rs"]
mod ipc;
#[path = "qsoe_test/manifest.rs"]
mod manifest;
#[path = "qsoe_test/passive.rs"]
mod passive;
#[path = "qsoe_test/paths.rs"]
mod paths;
#[path = "qsoe_test/security.rs"]
mod security;
#[path = "qsoe_test/signals.rs"]
mod signals;
#[path = "qsoe_test/thread.rs"]
mod thread;
#[path = "qsoe_test/time.rs"]
mod time;

const TESTS: &[(&str, Test)] = &[
    ("spawn::exit_status", exit_status),
    ("spawn::argv_envp", argv_envp),
    ("spawn::bad_elf_no_leak", bad_elf_no_leak),
    ("spawn::out_of_memory_no_leak", out_of_memory_no_leak),
    ("fault::null_deref_sigsegv", null_deref_sigsegv),
    (
        "fault::illegal_instruction_sigill",
        illegal_instruction_sigill,
    ),
    ("leak::spawn_exit_1000", spawn_exit_1000),
    ("leak::fault_1000", fault_1000),
    ("ipc::send_receive_reply", ipc::send_receive_reply),
    (
        "ipc::deferred_out_of_order_reply",
        ipc::deferred_out_of_order_reply,
    ),
    ("ipc::msg_error", ipc::msg_error),
    ("ipc::pulse", ipc::pulse),
    ("ipc::pulse_any_channel", events::pulse_any_channel),
    ("ipc::deliver_event_pulse", events::deliver_event_pulse),
    ("ipc::unreplied_from_quota", events::unreplied_from_quota),
    ("ipc::side_channel_coid", ipc::side_channel_coid),
    ("ipc::server_death_esrvrfault", ipc::server_death_esrvrfault),
    (
        "ipc::channel_destroy_unblocks_clients",
        ipc::channel_destroy_unblocks_clients,
    ),
    ("ipc::stale_coid_rejected", ipc::stale_coid_rejected),
    ("ipc::cross_core", ipc::cross_core),
    (
        "ipc::passive_server_fastpath",
        passive::passive_server_fastpath,
    ),
    (
        "ipc::passive_deferred_replies",
        passive::passive_deferred_replies,
    ),
    (
        "ipc::passive_pulse_while_busy",
        passive::passive_pulse_while_busy,
    ),
    (
        "ipc::passive_client_dies_mid_call",
        passive::passive_client_dies_mid_call,
    ),
    (
        "ipc::passive_plain_send_cannot_strand",
        passive::passive_plain_send_cannot_strand,
    ),
    ("ipc::passive_cross_core", passive::passive_cross_core),
    (
        "ipc::passive_budget_runs_out",
        passive::passive_budget_runs_out,
    ),
    (
        "ipc::fixed_priority_channel",
        passive::fixed_priority_channel,
    ),
    (
        "ipc::reply_to_dead_client_esrch",
        passive::reply_to_dead_client_esrch,
    ),
    (
        "ipc::unblock_pulse_on_client_death",
        passive::unblock_pulse_on_client_death,
    ),
    ("fpu::lazy_enable", passive::lazy_enable),
    ("leak::channel_cycles_10000", ipc::channel_cycles_10000),
    ("leak::connect_cycles_10000", ipc::connect_cycles_10000),
    ("security::hostile_client", ipc::hostile_client),
    ("manifest::quota_enforced", manifest::quota_enforced),
    ("manifest::budget_enforced", manifest::budget_enforced),
    ("manifest::child_cannot_widen", manifest::child_cannot_widen),
    (
        "security::forged_tid_rejected",
        security::forged_tid_rejected,
    ),
    ("security::census_needs_grant", security::census_needs_grant),
    ("security::exhaust_channels", security::exhaust_channels),
    (
        "security::exhaust_connections",
        security::exhaust_connections,
    ),
    ("security::exhaust_threads", security::exhaust_threads),
    ("security::pulse_flood", security::pulse_flood),
    ("security::fork_bomb", security::fork_bomb),
    (
        "security::debug_calls_refused",
        security::debug_calls_refused,
    ),
    ("thread::create_join", thread::create_join),
    ("thread::serve_in_thread", thread::serve_in_thread),
    (
        "thread::pulse_channel_per_thread",
        thread::pulse_channel_per_thread,
    ),
    (
        "thread::process_end_takes_threads",
        thread::process_end_takes_threads,
    ),
    ("leak::thread_cycles_1000", thread::thread_cycles_1000),
    ("dev::grant_enforced", dev::grant_enforced),
    ("dev::irq_given_back", dev::irq_given_back),
    ("dev::uart_echo", dev::uart_echo),
    ("signal::sigterm_default", signals::sigterm_default),
    ("signal::handler_runs", signals::handler_runs),
    ("signal::sigchld", signals::sigchld),
    ("signal::stop_continue", signals::stop_continue),
    ("signal::sigint_from_console", signals::sigint_from_console),
    ("time::nanosleep_idle", time::nanosleep_idle),
    ("time::timer_pulse_periodic", time::timer_pulse_periodic),
    ("time::msgreceive_timeout", time::msgreceive_timeout),
    ("time::msgsend_timeout", time::msgsend_timeout),
    ("leak::timer_cycles_10000", time::timer_cycles_10000),
    ("path::longest_prefix", paths::longest_prefix),
    ("path::union_fallthrough", paths::union_fallthrough),
    ("path::server_exit_detaches", paths::server_exit_detaches),
    ("path::attach_needs_grant", paths::attach_needs_grant),
    ("path::name_attach_open", paths::name_attach_open),
    ("io::open_read_write_close", paths::open_read_write_close),
    ("io::dup_shares_offset", paths::dup_shares_offset),
    ("io::dup2_chosen_fd", paths::dup2_chosen_fd),
    ("io::hostile_io_messages", paths::hostile_io_messages),
    ("io::bulk_1mib_both_ways", bulk::bulk_1mib_both_ways),
    (
        "io::msgread_msgwrite_offsets",
        bulk::msgread_msgwrite_offsets,
    ),
    ("io::lent_memory_not_kept", bulk::lent_memory_not_kept),
    ("leak::bulk_10000", bulk::bulk_10000),
    ("fs::cpiofs_read", paths::cpiofs_read),
    ("fs::readdir_root", paths::readdir_root),
    ("proc::lists_processes", paths::lists_processes),
    ("resmgr::thread_pool", paths::thread_pool),
    ("resmgr::pool_dies_mid_read", paths::pool_dies_mid_read),
    ("resmgr::pool_churn", paths::pool_churn),
    ("leak::open_close_10000", paths::open_close_10000),
    ("smp::processes_on_all_cores", processes_on_all_cores),
    ("mem::all_ram_reachable", all_ram_reachable),
    // Last: it leaves the pool split into many small blocks.
    ("mem::processes_10000", security::processes_10000),
];

/// Tests that only mean something on the release kernel (on the debug
/// kernel the debug calls work, as the census needs them).
const RELEASE_KERNEL_ONLY: &[&str] = &["security::debug_calls_refused"];

fn main() -> i32 {
    let args = libqsoe::args();
    let filter = args.getenv("QSOE_TESTS").unwrap_or("");
    let release = args.getenv("QSOE_KERNEL") == Some("release");
    let selected = || {
        TESTS.iter().filter(move |(name, _)| {
            libqsoe::abi::suite::selects(filter, name)
                && (release || !RELEASE_KERNEL_ONLY.contains(name))
        })
    };
    println!("qsoe-suite: more {}", selected().count());
    let mut failed = 0;
    for (name, test) in selected() {
        println!("qsoe-test: {name} start");
        match test() {
            Ok(()) => println!("qsoe-test: {name} ok"),
            Err(why) => {
                failed += 1;
                println!("qsoe-test: {name} FAILED {}", why.as_str());
            }
        }
    }
    (failed != 0) as i32
}

const NO_ARGS: [&[u8]; 0] = [];

/// Spawns `path` with `argv` and no environment.
fn spawn(path: &str, argv: &[&[u8]], options: SpawnOptions) -> Result<Pid, Errno> {
    taskman::spawn(path, argv.iter().copied(), NO_ARGS, options)
}

/// Spawns and waits; answers the wait status.
fn run(path: &str, argv: &[&[u8]]) -> Result<i32, Why> {
    let pid = match spawn(path, argv, SpawnOptions::default()) {
        Ok(p) => p,
        Err(e) => fail!("spawn {path}: {e}"),
    };
    match taskman::waitpid(pid, 0) {
        Ok((p, status)) if p == pid => Ok(status),
        Ok((p, _)) => fail!("waitpid({pid}) answered pid {p}"),
        Err(e) => fail!("waitpid({pid}): {e}"),
    }
}

fn census() -> Result<Census, Why> {
    match taskman::census() {
        Ok(c) => Ok(c),
        Err(e) => fail!("census: {e}"),
    }
}

/// Fails unless nothing leaked between `before` and now: no object cap
/// (kernel-counted and allocator-counted), no byte (pool-counted and
/// kernel-probed), and the untyped caps the kernel sees match the pool's
/// tree; and the same number of processes, channels, connections and
/// threads. Big blocks may stay split after use, and taskman keeps a reply
/// object for reuse per process that was blocked at the same time as
/// others, so those two may grow; `strict` forbids even that, and checks
/// that taskman's heap use did not grow.
fn no_leak(before: &Census, strict: bool) -> Outcome {
    let after = census()?;
    // What taskman keeps for reuse once made: spare reply objects, ASID
    // pools (an object cap and an untyped cap each), its heap's pages.
    let kept_objects = |c: &Census| c.spare_replies + c.asid_pools + c.heap_pages;
    let object_caps = |c: &Census| c.kernel_slots - c.kernel_untyped_slots - kept_objects(c);
    let our_slots =
        |c: &Census| c.allocator_slots - c.pool_split_caps - kept_objects(c) - c.asid_pools;
    let tree_vs_kernel =
        |c: &Census| (c.kernel_untyped_slots - c.asid_pools).wrapping_sub(c.pool_split_caps);
    let pairs = [
        (
            "kernel-counted object caps",
            object_caps(before),
            object_caps(&after),
        ),
        (
            "allocator slots (not untyped)",
            our_slots(before),
            our_slots(&after),
        ),
        (
            "kernel untyped caps - pool halves",
            tree_vs_kernel(before),
            tree_vs_kernel(&after),
        ),
        (
            "process-CSpace slots",
            before.process_slots,
            after.process_slots,
        ),
        // Taskman's heap grows from the pool and keeps what it grew.
        (
            "pool free bytes + taskman's heap",
            before.pool_free_bytes + before.heap_mapped_bytes,
            after.pool_free_bytes + after.heap_mapped_bytes,
        ),
        (
            "kernel-probed free bytes + taskman's heap",
            before.kernel_free_bytes + before.heap_mapped_bytes,
            after.kernel_free_bytes + after.heap_mapped_bytes,
        ),
        ("processes", before.processes, after.processes),
        ("channels", before.channels, after.channels),
        ("connections", before.connections, after.connections),
        ("threads", before.threads, after.threads),
        ("timers", before.timers, after.timers),
    ];
    let strict_pairs = [
        (
            "kernel-counted slots",
            before.kernel_slots,
            after.kernel_slots,
        ),
        (
            "allocator slots",
            before.allocator_slots,
            after.allocator_slots,
        ),
    ];
    let checked = if strict { &strict_pairs[..] } else { &[] };
    for (what, b, a) in pairs.iter().chain(checked) {
        if a != b {
            println!("qsoe-test: census before {before:?}");
            println!("qsoe-test: census after {after:?}");
            fail!("{what}: {b} before, {a} after");
        }
    }
    // Taskman's tables keep the capacity they grew to, so a test that
    // raises how many things exist at once leaves the heap larger; the
    // strict tests repeat a warmed-up cycle, where only buffers that keep
    // their capacity (a console line) may grow a little, and a leak in a
    // thousand cycles or more leaks more than this.
    const HEAP_SLACK: u64 = 4096;
    if strict && after.heap_used_bytes > before.heap_used_bytes + HEAP_SLACK {
        println!("qsoe-test: census before {before:?}");
        println!("qsoe-test: census after {after:?}");
        fail!(
            "taskman's heap: {} bytes in use before, {} after",
            before.heap_used_bytes,
            after.heap_used_bytes
        );
    }
    if after.pool_free_bytes != after.kernel_free_bytes {
        fail!(
            "the pool thinks {} bytes are free, the kernel {}",
            after.pool_free_bytes,
            after.kernel_free_bytes
        );
    }
    Ok(())
}

fn expect_exit(status: i32, code: i32) -> Outcome {
    if WIFEXITED(status) && WEXITSTATUS(status) == code {
        Ok(())
    } else {
        fail!("status {status:#x}, expected exit {code}")
    }
}

fn expect_signal(status: i32, signal: u32) -> Outcome {
    if WIFSIGNALED(status) && WTERMSIG(status) == signal {
        Ok(())
    } else {
        fail!("status {status:#x}, expected signal {signal}")
    }
}

fn exit_status() -> Outcome {
    expect_exit(run("/bin/exit-with", &[b"exit-with", b"42"])?, 42)?;
    expect_exit(run("/bin/true", &[b"true"])?, 0)?;
    expect_exit(run("/bin/exit-with", &[b"exit-with", b"255"])?, 255)
}

fn argv_envp() -> Outcome {
    let argv: [&[u8]; 5] = [
        b"argv-check",
        b"alpha",
        b"",
        b"two words",
        "non-ascii \u{e9}\u{1f980}".as_bytes(),
    ];
    let env: [&[u8]; 3] = [b"A=1", b"EMPTY=", b"PATH=/bin:/sbin"];
    let hash = qsoe_userland::fnv1a(argv.iter().chain(env.iter()).copied());
    let mut expect = FmtBuf::<40>::new();
    let _ = write!(expect, "QSOE_EXPECT={hash:x}");
    let envp = env.iter().copied().chain([expect.as_bytes()]);
    let pid = match taskman::spawn(
        "/bin/argv-check",
        argv.iter().copied(),
        envp,
        SpawnOptions::default(),
    ) {
        Ok(p) => p,
        Err(e) => fail!("spawn: {e}"),
    };
    match taskman::waitpid(pid, 0) {
        Ok((_, status)) => expect_exit(status, 0),
        Err(e) => fail!("waitpid: {e}"),
    }
}

/// One cycle first, so that taskman's on-demand objects (reply objects,
/// slot leaves) exist before the census.
fn warm_up(path: &str, argv: &[&[u8]]) -> Result<Census, Why> {
    run(path, argv)?;
    census()
}

fn bad_elf_no_leak() -> Outcome {
    let before = warm_up("/bin/true", &[b"true"])?;
    for (path, want) in [
        ("/bin/not-elf", ENOEXEC),
        ("/bin/truncated-elf", ENOEXEC),
        ("/bin/no-such-program", ENOENT),
        ("/etc/init/test", ENOEXEC),
    ] {
        match spawn(path, &[b"x"], SpawnOptions::default()) {
            Err(e) if e == want => {}
            Err(e) => fail!("{path}: {e}, expected {want}"),
            Ok(pid) => fail!("{path} started as pid {pid}"),
        }
    }
    no_leak(&before, false)
}

fn out_of_memory_no_leak() -> Outcome {
    let before = warm_up("/bin/true", &[b"true"])?;
    // Every block too small fails at a later step than the one before it;
    // each must give back all it took.
    let mut failures = 0;
    let mut bits = 12;
    loop {
        let options = SpawnOptions {
            core: None,
            block_bits: bits,
            ..SpawnOptions::default()
        };
        match spawn("/bin/true", &[b"true"], options) {
            Err(ENOMEM) => failures += 1,
            Err(e) => fail!("block of 2^{bits}: {e}, expected ENOMEM"),
            Ok(pid) => {
                match taskman::waitpid(pid, 0) {
                    Ok((_, s)) => expect_exit(s, 0)?,
                    Err(e) => fail!("waitpid: {e}"),
                }
                break;
            }
        }
        no_leak(&before, false)?;
        bits += 1;
        if bits > 30 {
            fail!("no block size worked");
        }
    }
    if failures < 3 {
        fail!("only {failures} block sizes were too small");
    }
    // Far more than there is, and a size the pool cannot have.
    for bits in [40, 63] {
        match spawn(
            "/bin/true",
            &[b"true"],
            SpawnOptions {
                core: None,
                block_bits: bits,
                ..SpawnOptions::default()
            },
        ) {
            Err(ENOMEM) => {}
            other => fail!("block of 2^{bits}: {other:?}"),
        }
    }
    match spawn(
        "/bin/true",
        &[b"true"],
        SpawnOptions {
            core: None,
            block_bits: 64,
            ..SpawnOptions::default()
        },
    ) {
        Err(EINVAL) => {}
        other => fail!("block of 2^64: {other:?}"),
    }
    no_leak(&before, false)
}

fn null_deref_sigsegv() -> Outcome {
    expect_signal(run("/bin/fault", &[b"fault", b"null"])?, SIGSEGV)
}

fn illegal_instruction_sigill() -> Outcome {
    expect_signal(run("/bin/fault", &[b"fault", b"illegal"])?, SIGILL)
}

fn cycles(path: &str, argv: &[&[u8]], check: fn(i32) -> Outcome) -> Outcome {
    let before = warm_up(path, argv)?;
    for i in 0..1000 {
        if let Err(why) = run(path, argv).and_then(check) {
            fail!("cycle {i}: {}", why.as_str());
        }
    }
    no_leak(&before, true)
}

fn spawn_exit_1000() -> Outcome {
    cycles("/bin/true", &[b"true"], |s| expect_exit(s, 0))
}

fn fault_1000() -> Outcome {
    cycles("/bin/fault", &[b"fault", b"null"], |s| {
        expect_signal(s, SIGSEGV)
    })
}

/// Smallest block worth trying for a `pause` process.
const MIN_BLOCK_BITS: u64 = 16;

fn all_ram_reachable() -> Outcome {
    let before = warm_up("/bin/true", &[b"true"])?;
    let mut pids: [Pid; 256] = [0; 256];
    let mut count = 0;
    let mut held: u64 = 0;
    // The biggest block there is, then smaller ones as they run out: a
    // refused spawn costs less than a census, which scans everything.
    let mut bits = before.largest_free_bits;
    while count < pids.len() && bits >= MIN_BLOCK_BITS {
        let options = SpawnOptions {
            core: None,
            block_bits: bits as u8,
            ..SpawnOptions::default()
        };
        match spawn("/bin/pause", &[b"pause"], options) {
            Ok(pid) => {
                pids[count] = pid;
                count += 1;
                held += 1 << bits;
            }
            Err(ENOMEM) => bits -= 1,
            Err(e) => fail!("spawn with a block of 2^{bits}: {e}"),
        }
    }
    let total = before.pool_total_bytes;
    for &pid in &pids[..count] {
        if let Err(e) = taskman::kill(pid, SIGKILL) {
            fail!("kill {pid}: {e}");
        }
        match taskman::waitpid(pid, 0) {
            Ok((_, s)) => expect_signal(s, SIGKILL)?,
            Err(e) => fail!("waitpid {pid}: {e}"),
        }
    }
    if held * 10 < total * 9 {
        fail!(
            "{count} processes held {} MiB of {} MiB",
            held >> 20,
            total >> 20
        );
    }
    println!(
        "mem: {count} processes held {} of {} MiB of RAM untypeds at once",
        held >> 20,
        total >> 20
    );
    no_leak(&before, false)
}

fn processes_on_all_cores() -> Outcome {
    let cores = qsoe_userland::cores();
    if cores < 2 {
        fail!("QSOE_CORES says {cores} cores");
    }
    // One process per core, all alive at once, each reporting the core the
    // kernel runs it on.
    let mut pids = [0; 64];
    for core in 0..cores {
        match spawn(
            "/bin/core-id",
            &[b"core-id"],
            SpawnOptions {
                core: Some(core),
                block_bits: 0,
                ..SpawnOptions::default()
            },
        ) {
            Ok(pid) => pids[core as usize] = pid,
            Err(e) => fail!("spawn on core {core}: {e}"),
        }
    }
    for core in 0..cores {
        match taskman::waitpid(pids[core as usize], 0) {
            Ok((_, s)) => {
                if let Err(why) = expect_exit(s, core as i32) {
                    fail!("process for core {core}: {}", why.as_str());
                }
            }
            Err(e) => fail!("waitpid: {e}"),
        }
    }
    match spawn(
        "/bin/true",
        &[b"true"],
        SpawnOptions {
            core: Some(cores),
            block_bits: 0,
            ..SpawnOptions::default()
        },
    ) {
        Err(EINVAL) => Ok(()),
        other => fail!("spawn on core {cores} (there is none): {other:?}"),
    }
}
