//! Taskman: the rootserver. It takes what the kernel hands over in
//! BootInfo, checks it against the configuration the image was built for,
//! and builds everything else from there.
//!
//! The decisions live in `taskman-core` (plain Rust, host-tested); the
//! modules here turn them into seL4 invocations.
#![no_std]
#![no_main]

extern crate alloc;

mod archive;
mod bench;
mod boot;
mod bulk;
mod call_timeout;
mod calls;
mod channel;
mod clock;
mod connection;
mod console;
mod core_agents;
mod device;
mod event;
mod files;
mod heap;
mod interrupt;
mod kernel_error;
mod objects;
mod passive;
mod path;
mod power;
mod process;
mod process_threads;
mod replies;
mod selftest;
mod server;
mod signal;
mod taskman_threads;
mod thread_objects;
mod ticker;
mod timer;
mod vspace;

use alloc::vec::Vec;
use objects::Objects;
use process::Process;
use qsoe_abi::wait;
use sel4::Endpoint;
use sel4_root_task::println;
use sel4_sys::{object, BootInfo, CPtr};
use taskman_core::bootargs::Mode;
use taskman_core::channels::ChannelTable;
use taskman_core::limits;
use taskman_core::processes::{ProcessTable, TASKMAN};
use vspace::Window;

sel4_root_task::main!(taskman_main);

/// Everything taskman owns.
pub struct Taskman {
    pub bootinfo: &'static BootInfo,
    pub boot: boot::Boot,
    pub objects: Objects,
    pub window: Window,
    /// Where each core's agent said it ran, at boot.
    pub cores: Vec<core_agents::CoreReport>,
    /// The threads that retire process threads on their own cores.
    pub agents: core_agents::CoreAgents,
    /// Where every side channel and fault endpoint ends.
    pub endpoint: Endpoint,
    /// The reply object the request loop receives with.
    pub reply: CPtr,
    /// Reply objects not in use, for requests that block.
    pub replies: Vec<CPtr>,
    pub processes: ProcessTable<Process>,
    pub channels: ChannelTable,
    /// The core the last spawn without a preference went to.
    pub next_core: u64,
    /// Set when init has ended, with its wait status.
    pub init_status: Option<i32>,
    /// A scheduling context never configured, with which `passive` asks
    /// the kernel whether a thread is stranded.
    pub probe_sc: Option<sel4::SchedContext>,
    /// Processes whose passive servers may be stranded once the request
    /// being served is answered (`server::end`).
    pub rescue_after: Vec<qsoe_abi::Pid>,
    /// The thread that gets its own scheduling context back once the
    /// reply taskman sent for it (`wire::op::REPLY`) is answered.
    pub rebind_after: Option<(qsoe_abi::Pid, i32)>,
    /// The threads that wake every core each period (`ticker`).
    pub tickers: Option<ticker::Tickers>,
    /// Whether taskman's heap could be grown as far as it wanted.
    pub headroom: heap::Headroom,
    pub heap: heap::HeapGrowth,
    /// Where spawn and teardown time went since a benchmark last asked.
    pub spawn_profile: qsoe_abi::wire::SpawnProfile,
    /// The boot archive's files, by name.
    pub archive: archive::Archive,
    /// The pathname space.
    pub paths: taskman_core::paths::PathTable,
    /// Timers, sleepers and timeouts, and the clock that wakes them.
    pub timers: timer::TimerService,
    /// How far frames have been taken from each device untyped (by its
    /// slot): `device::frame_at` goes on from there.
    pub device_marks: alloc::collections::BTreeMap<CPtr, u64>,
    /// Every device page's frame, by physical address, made once.
    pub device_frames: alloc::collections::BTreeMap<u64, sel4::Frame>,
    /// Device pages taskman drives itself (the RTC, the power-off
    /// register): never granted.
    pub kept_pages: Vec<u64>,
    /// The devices the manifest may grant (`device::start`).
    pub devices: taskman_core::devices::DeviceTable,
    /// Interrupts processes attached.
    pub interrupts: interrupt::InterruptTable,
    /// The notification bound to taskman's thread (`interrupt`).
    pub notification: Option<CPtr>,
    /// The process that drives the console, once one claims it.
    pub console_driver: Option<console::ConsoleDriver>,
}

impl Taskman {
    /// Cores processes can be placed on.
    pub fn cores_online(&self) -> u64 {
        self.bootinfo
            .num_nodes
            .clamp(1, sel4_config::platform::HARTS as u64)
    }
}

fn taskman_main(bootinfo: &'static BootInfo) -> ! {
    let boot = boot::Boot::read(bootinfo);
    boot.print_summary();
    let mismatches = boot.facts.platform_mismatches();
    if !mismatches.is_empty() {
        for m in &mismatches {
            println!("taskman: refusing to go on: {m}");
        }
        println!("taskman: this image was built for cmake/platform.conf; boot it with the same harts and memory");
        sel4_root_task::halt();
    }

    let mut objects = match Objects::new(bootinfo, &boot.facts) {
        Ok(o) => o,
        Err(e) => {
            println!("taskman: cannot set up memory and CSpace: {e:?}");
            sel4_root_task::halt();
        }
    };
    let (Ok(endpoint), Ok(reply)) = (
        objects.create(object::ENDPOINT, 0),
        objects.create(object::REPLY, 0),
    ) else {
        println!("taskman: cannot create its endpoint");
        sel4_root_task::halt();
    };
    let mut tm = Taskman {
        bootinfo,
        boot,
        objects,
        window: Window::new(),
        cores: Vec::new(),
        agents: core_agents::CoreAgents::default(),
        endpoint: Endpoint(endpoint),
        reply,
        replies: Vec::new(),
        processes: ProcessTable::new(limits::PROCESS_TABLE),
        channels: ChannelTable::new(limits::CHANNEL_TABLE),
        next_core: 0,
        init_status: None,
        probe_sc: None,
        rescue_after: Vec::new(),
        rebind_after: None,
        tickers: None,
        headroom: heap::Headroom::Enough,
        heap: heap::HeapGrowth::default(),
        spawn_profile: Default::default(),
        archive: archive::Archive::index(),
        paths: path::boot_table(),
        timers: timer::TimerService::default(),
        device_marks: alloc::collections::BTreeMap::new(),
        device_frames: alloc::collections::BTreeMap::new(),
        kept_pages: Vec::new(),
        devices: Default::default(),
        interrupts: Default::default(),
        notification: None,
        console_driver: None,
    };
    if let Err(e) = console::attach_uart(&mut tm) {
        println!("taskman: no UART for the console ({e:?})");
    }
    println!(
        "taskman: untyped pool {} MiB over every RAM untyped, {} MiB free",
        tm.objects.pool.total_bytes() >> 20,
        tm.objects.pool.free_bytes() >> 20
    );
    replies::stock(&mut tm);
    power::map_finisher(&mut tm);
    timer::start(&mut tm);
    device::start(&mut tm);
    let (agents, started) = core_agents::CoreAgents::start(&mut tm);
    tm.agents = agents;
    match started {
        Ok(reports) => {
            for r in &reports {
                println!(
                    "taskman: core {} online (its agent runs on core {})",
                    r.core, r.affinity
                );
            }
            tm.cores = reports;
        }
        Err(e) => println!("taskman: could not start an agent on every core: {e:?}"),
    }
    tm.probe_sc = tm
        .objects
        .create(
            object::SCHED_CONTEXT,
            sel4_sys::size_bits::MIN_SCHED_CONTEXT,
        )
        .map(sel4::SchedContext)
        .ok();
    let cores = tm.cores_online();
    match ticker::start(&mut tm, cores) {
        Ok(t) => tm.tickers = Some(t),
        Err(e) => println!("taskman: could not start a ticker on every core: {e:?}"),
    }

    let mode = tm.boot.args.mode;
    let own_tests_passed = match mode {
        Mode::Test => selftest::run(&mut tm),
        Mode::Bench => {
            bench::run(&mut tm);
            true
        }
        Mode::Run => true,
    };
    let status = match start_init(&mut tm, mode) {
        Ok(pid) => {
            println!("taskman: started /sbin/init as pid {pid}");
            server::serve(&mut tm)
        }
        Err(e) => {
            println!("taskman: cannot start /sbin/init: {e}");
            wait::exited(127)
        }
    };
    let ok = wait::WIFEXITED(status) && wait::WEXITSTATUS(status) == 0;
    println!(
        "taskman: init ended ({}); powering off",
        describe_status(status)
    );
    if mode == Mode::Test {
        println!("qsoe-suite: end");
    }
    power::off(&mut tm, ok && own_tests_passed)
}

fn describe_status(status: i32) -> alloc::string::String {
    if wait::WIFEXITED(status) {
        alloc::format!("exit status {}", wait::WEXITSTATUS(status))
    } else {
        alloc::format!(
            "killed by {}",
            qsoe_abi::signal::name(wait::WTERMSIG(status))
        )
    }
}

/// Spawns `/sbin/init` with the commands the manifest gives for this boot
/// mode, and the environment every process inherits from it.
fn start_init(tm: &mut Taskman, mode: Mode) -> Result<qsoe_abi::Pid, qsoe_abi::errno::Errno> {
    let mode_name = match mode {
        Mode::Run => "run",
        Mode::Test => "test",
        Mode::Bench => "bench",
    };
    let commands = tm
        .archive
        .find(&alloc::format!("/etc/init/{mode_name}"))
        .unwrap_or(&[]);
    let drivers = tm.archive.find("/etc/init/drivers").unwrap_or(&[]);
    let argv = taskman_core::init_commands::init_argv(b"/sbin/init", drivers, commands);
    let mut envp = alloc::vec![
        alloc::format!("QSOE_MODE={mode_name}"),
        alloc::format!("QSOE_CORES={}", tm.cores_online()),
        alloc::format!("QSOE_CLOCK={}", tm.boot.args.clock.name()),
        alloc::format!(
            "QSOE_KERNEL={}",
            if sel4_config::platform::KERNEL_DEBUG {
                "debug"
            } else {
                "release"
            }
        ),
    ];
    if let Some(filter) = tm.boot.args.test_filter {
        envp.push(alloc::format!("QSOE_TESTS={filter}"));
    }
    let request = process::SpawnRequest {
        path: b"/sbin/init",
        argv: argv.iter().map(Vec::as_slice).collect(),
        envp: envp.iter().map(|e| e.as_bytes()).collect(),
        core: Some(0),
        block_bits: 0,
        grant: qsoe_abi::grants::Grant::ALL,
    };
    process::spawn(tm, TASKMAN, &request)
}
