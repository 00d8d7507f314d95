//! The in-guest test suite, run when the boot arguments say
//! `qsoe.mode=test`. Each test prints protocol lines the host harness
//! (`tests/qemu-harness`) reads:
//! `qsoe-suite: start N`, `qsoe-test: NAME start|ok|FAILED why`. The
//! tests that need processes run in `/bin/qsoe-test`, which adds its count
//! with `qsoe-suite: more N`; taskman prints `qsoe-suite: end` once init,
//! and with it the whole suite, has ended.

use crate::Taskman;
use alloc::{format, string::String, vec::Vec};
use sel4_config::platform::HARTS;
use sel4_root_task::println;

type TestFn = fn(&mut Taskman) -> Result<(), String>;

const TESTS: &[(&str, TestFn)] = &[
    ("boot::bootinfo", boot_bootinfo),
    ("smp::every_core_runs", smp_every_core_runs),
];

/// Share of memory the RAM untypeds must cover: the rest is OpenSBI, the
/// kernel, the rootserver image and the device tree.
const MIN_RAM_PERCENT: u64 = 95;

/// Runs the selected tests; answers whether all passed.
pub fn run(tm: &mut Taskman) -> bool {
    let selected: Vec<_> = TESTS
        .iter()
        .filter(|(name, _)| tm.boot.args.selects(name))
        .collect();
    println!("qsoe-suite: start {}", selected.len());
    let mut passed = true;
    for (name, test) in selected {
        println!("qsoe-test: {name} start");
        match test(tm) {
            Ok(()) => println!("qsoe-test: {name} ok"),
            Err(why) => {
                passed = false;
                println!("qsoe-test: {name} FAILED {why}");
            }
        }
    }
    passed
}

fn boot_bootinfo(tm: &mut Taskman) -> Result<(), String> {
    let facts = &tm.boot.facts;
    let mut problems = facts.platform_mismatches();
    problems.extend(facts.consistency_problems(MIN_RAM_PERCENT));
    if facts.num_nodes != 4 {
        problems.push(format!(
            "expected four nodes, BootInfo says {}",
            facts.num_nodes
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn smp_every_core_runs(tm: &mut Taskman) -> Result<(), String> {
    let missing: Vec<_> = (0..HARTS as u64)
        .filter(|&core| {
            !tm.cores
                .iter()
                .any(|r| r.core == core && r.affinity == core)
        })
        .collect();
    if tm.cores.len() == HARTS && missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "reports {:?}; no thread ran on cores {missing:?}",
            tm.cores
        ))
    }
}
