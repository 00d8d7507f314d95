//! Taskman: the rootserver. It takes what the kernel hands over in
//! BootInfo, checks it against the configuration the image was built for,
//! and builds everything else from there.
//!
//! The decisions live in `taskman-core` (plain Rust, host-tested); the
//! modules here turn them into seL4 invocations.
#![no_std]
#![no_main]

extern crate alloc;

mod bench;
mod boot;
mod device;
mod objects;
mod power;
mod selftest;
mod smp;
mod threads;
mod vspace;

use objects::Objects;
use sel4_root_task::println;
use sel4_sys::BootInfo;
use taskman_core::bootargs::Mode;
use vspace::Window;

sel4_root_task::main!(taskman_main);

/// Everything taskman owns.
pub struct Taskman {
    pub bootinfo: &'static BootInfo,
    pub boot: boot::Boot,
    pub objects: Objects,
    pub window: Window,
    /// What each core's probe thread reported at boot.
    pub cores: alloc::vec::Vec<smp::CoreReport>,
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
        sel4_sys::debug_halt();
    }

    let objects = Objects::new(bootinfo, &boot.facts);
    let mut tm = Taskman {
        bootinfo,
        boot,
        objects,
        window: Window::new(),
        cores: alloc::vec::Vec::new(),
    };
    match smp::probe_every_core(&mut tm) {
        Ok(reports) => {
            for r in &reports {
                println!(
                    "taskman: core {} online (its thread ran on core {})",
                    r.core, r.affinity
                );
            }
            tm.cores = reports;
        }
        Err(e) => println!("taskman: could not start a thread on every core: {e:?}"),
    }

    match tm.boot.args.mode {
        Mode::Run => {
            println!("taskman: ready");
            idle()
        }
        Mode::Bench => {
            bench::run(&mut tm);
            power::off(&mut tm, true)
        }
        Mode::Test => {
            let passed = selftest::run(&mut tm);
            power::off(&mut tm, passed)
        }
    }
}

/// Blocks the initial thread for good without spinning.
fn idle() -> ! {
    loop {
        sel4_sys::wait(sel4_sys::init_cap::NULL);
    }
}
