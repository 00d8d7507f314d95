//! What taskman learns at boot, and whether it matches what the image was
//! built for.

use alloc::{format, string::String, vec::Vec};
use sel4_config::platform;

/// A half-open range of slots in the initial CNode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slots {
    pub start: u64,
    pub end: u64,
}

impl Slots {
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One untyped region from BootInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UntypedRegion {
    pub slot: u64,
    pub paddr: u64,
    pub size_bits: u8,
    pub is_device: bool,
}

impl UntypedRegion {
    pub fn end(&self) -> u64 {
        self.paddr + (1 << self.size_bits)
    }
}

/// BootInfo and device-tree facts, copied out of the kernel's structures.
#[derive(Clone, Debug, Default)]
pub struct BootFacts {
    pub num_nodes: u64,
    pub cnode_size_bits: u64,
    pub empty: Option<Slots>,
    /// Every region BootInfo names, by name, for the overlap check.
    pub regions: Vec<(&'static str, Slots)>,
    pub sched_control: Option<Slots>,
    pub untypeds: Vec<UntypedRegion>,
    /// From the device tree.
    pub fdt_cpus: usize,
    pub fdt_memory: Vec<(u64, u64)>,
    pub model: Option<String>,
}

/// Byte totals of the untyped regions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UntypedTotals {
    pub ram_count: usize,
    pub ram_bytes: u64,
    pub device_count: usize,
    pub device_bytes: u64,
}

impl BootFacts {
    pub fn totals(&self) -> UntypedTotals {
        let mut t = UntypedTotals::default();
        for u in &self.untypeds {
            let bytes = 1u64 << u.size_bits;
            if u.is_device {
                t.device_count += 1;
                t.device_bytes += bytes;
            } else {
                t.ram_count += 1;
                t.ram_bytes += bytes;
            }
        }
        t
    }

    pub fn memory_bytes(&self) -> u64 {
        self.fdt_memory.iter().map(|(_, size)| size).sum()
    }

    /// Disagreements between the machine and `cmake/platform.conf`. Taskman
    /// refuses to go on if there are any: every later decision (cores to
    /// schedule on, memory to hand out) rests on them.
    pub fn platform_mismatches(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.num_nodes as usize != platform::HARTS {
            problems.push(format!(
                "the kernel runs {} cores, the image was built for {}",
                self.num_nodes,
                platform::HARTS
            ));
        }
        if self.fdt_cpus != platform::HARTS {
            problems.push(format!(
                "the device tree lists {} harts, the image was built for {}",
                self.fdt_cpus,
                platform::HARTS
            ));
        }
        if self.memory_bytes() != platform::MEMORY_BYTES as u64 {
            problems.push(format!(
                "the device tree has {} MiB of memory, the image was built for {} MiB",
                self.memory_bytes() >> 20,
                platform::MEMORY_MIB
            ));
        }
        match self.sched_control {
            Some(sc) if sc.len() == self.num_nodes => {}
            Some(sc) => problems.push(format!(
                "{} SchedControl caps for {} cores",
                sc.len(),
                self.num_nodes
            )),
            None if platform::MCS => {
                problems.push("no SchedControl caps: this is not an MCS kernel".into())
            }
            None => {}
        }
        problems
    }

    /// Checks that BootInfo describes the machine consistently: RAM
    /// untypeds lie in memory and cover nearly all of it, no two untypeds
    /// overlap, and the slot regions are inside the CNode and disjoint.
    pub fn consistency_problems(&self, min_ram_percent: u64) -> Vec<String> {
        let mut problems = Vec::new();
        let in_memory = |u: &UntypedRegion| {
            self.fdt_memory
                .iter()
                .any(|&(base, size)| u.paddr >= base && u.end() <= base + size)
        };
        for u in &self.untypeds {
            if !u.is_device && !in_memory(u) {
                problems.push(format!(
                    "RAM untyped {:#x}+2^{} lies outside memory",
                    u.paddr, u.size_bits
                ));
            }
        }
        let mut sorted: Vec<_> = self.untypeds.iter().collect();
        sorted.sort_by_key(|u| u.paddr);
        for pair in sorted.windows(2) {
            if pair[0].end() > pair[1].paddr {
                problems.push(format!(
                    "untypeds at {:#x} and {:#x} overlap",
                    pair[0].paddr, pair[1].paddr
                ));
            }
        }
        let memory = self.memory_bytes();
        let ram = self.totals().ram_bytes;
        if memory == 0 || ram * 100 < memory * min_ram_percent {
            problems.push(format!(
                "RAM untypeds cover {ram} of {memory} bytes, less than {min_ram_percent}%"
            ));
        }

        let cnode_slots = 1u64 << self.cnode_size_bits;
        let mut regions = self.regions.clone();
        regions.sort_by_key(|(_, r)| r.start);
        for (name, r) in &regions {
            if r.start > r.end || r.end > cnode_slots {
                problems.push(format!(
                    "slot region {name} [{}, {}) is not inside the {cnode_slots}-slot CNode",
                    r.start, r.end
                ));
            }
        }
        for pair in regions.windows(2) {
            let ((a, ra), (b, rb)) = (&pair[0], &pair[1]);
            if !ra.is_empty() && !rb.is_empty() && ra.end > rb.start {
                problems.push(format!("slot regions {a} and {b} overlap"));
            }
        }
        match self.empty {
            Some(e) if !e.is_empty() => {}
            _ => problems.push("no empty slots".into()),
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const GIB: u64 = 1 << 30;

    fn facts() -> BootFacts {
        let mem = platform::MEMORY_BYTES as u64;
        BootFacts {
            num_nodes: platform::HARTS as u64,
            cnode_size_bits: 12,
            empty: Some(Slots {
                start: 300,
                end: 4096,
            }),
            regions: vec![
                (
                    "empty",
                    Slots {
                        start: 300,
                        end: 4096,
                    },
                ),
                (
                    "untyped",
                    Slots {
                        start: 100,
                        end: 300,
                    },
                ),
                ("sched_control", Slots { start: 20, end: 24 }),
            ],
            sched_control: Some(Slots {
                start: 20,
                end: 20 + platform::HARTS as u64,
            }),
            untypeds: vec![
                UntypedRegion {
                    slot: 100,
                    paddr: 0x8000_0000 + GIB,
                    size_bits: 30,
                    is_device: false,
                },
                UntypedRegion {
                    slot: 101,
                    paddr: 0x8000_0000,
                    size_bits: 30,
                    is_device: false,
                },
                UntypedRegion {
                    slot: 102,
                    paddr: 0x8000_0000 + 2 * GIB,
                    size_bits: 30,
                    is_device: false,
                },
                UntypedRegion {
                    slot: 103,
                    paddr: 0x1000_0000,
                    size_bits: 20,
                    is_device: true,
                },
            ],
            fdt_cpus: platform::HARTS,
            fdt_memory: vec![(0x8000_0000, mem)],
            model: None,
        }
    }

    #[test]
    fn a_consistent_machine_has_no_problems() {
        let f = facts();
        assert!(
            f.platform_mismatches().is_empty(),
            "{:?}",
            f.platform_mismatches()
        );
        assert!(
            f.consistency_problems(90).is_empty(),
            "{:?}",
            f.consistency_problems(90)
        );
        let t = f.totals();
        assert_eq!((t.ram_count, t.ram_bytes, t.device_count), (3, 3 * GIB, 1));
    }

    #[test]
    fn wrong_core_count_and_memory_are_mismatches() {
        let mut f = facts();
        f.num_nodes = 2;
        f.fdt_memory = vec![(0x8000_0000, GIB)];
        let p = f.platform_mismatches();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("2 cores"));
    }

    #[test]
    fn overlapping_untypeds_and_slot_regions_are_found() {
        let mut f = facts();
        f.untypeds.push(UntypedRegion {
            slot: 104,
            paddr: 0x8000_1000,
            size_bits: 12,
            is_device: false,
        });
        f.regions.push((
            "frames",
            Slots {
                start: 250,
                end: 310,
            },
        ));
        let p = f.consistency_problems(90);
        assert!(
            p.iter()
                .any(|m| m.contains("overlap") && m.contains("0x80001000")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("frames")), "{p:?}");
    }

    #[test]
    fn too_little_ram_or_ram_outside_memory_is_a_problem() {
        let mut f = facts();
        f.untypeds.retain(|u| u.is_device || u.paddr == 0x8000_0000);
        f.untypeds.push(UntypedRegion {
            slot: 105,
            paddr: 0x2000_0000,
            size_bits: 12,
            is_device: false,
        });
        let p = f.consistency_problems(90);
        assert!(p.iter().any(|m| m.contains("outside memory")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("less than 90%")), "{p:?}");
    }

    #[test]
    fn region_beyond_the_cnode_is_a_problem() {
        let mut f = facts();
        f.regions.push((
            "extra",
            Slots {
                start: 4000,
                end: 5000,
            },
        ));
        assert!(f
            .consistency_problems(90)
            .iter()
            .any(|m| m.contains("not inside")));
    }
}
