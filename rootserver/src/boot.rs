//! Reading BootInfo and the device tree the kernel passed on.

use alloc::{string::ToString, vec::Vec};
use fdt::Fdt;
use sel4_root_task::println;
use sel4_sys::{find_extra_chunk, BootInfo, SlotRegion, BOOTINFO_HEADER_FDT};
use taskman_core::boot::{BootFacts, Slots, UntypedRegion};
use taskman_core::bootargs::BootArgs;

/// What taskman knows about the machine it booted on.
pub struct Boot {
    pub facts: BootFacts,
    pub fdt: Option<Fdt<'static>>,
    pub args: BootArgs<'static>,
}

fn slots(r: SlotRegion) -> Slots {
    Slots {
        start: r.start,
        end: r.end,
    }
}

impl Boot {
    pub fn read(bi: &'static BootInfo) -> Self {
        // SAFETY: the kernel maps the extra BootInfo pages after BootInfo.
        let extra = unsafe { bi.extra() };
        let fdt = find_extra_chunk(extra, BOOTINFO_HEADER_FDT).and_then(|dtb| Fdt::new(dtb).ok());
        if fdt.is_none() {
            println!("taskman: no usable device tree in the extra BootInfo");
        }
        let args = fdt
            .as_ref()
            .and_then(|f| f.chosen().bootargs())
            .map(|line| {
                BootArgs::parse(line).unwrap_or_else(|bad| {
                    println!("taskman: ignoring the boot argument `{bad}`");
                    BootArgs::parse("").unwrap()
                })
            })
            .unwrap_or(BootArgs::parse("").unwrap());

        let untypeds = bi
            .untypeds()
            .map(|(slot, d)| UntypedRegion {
                slot,
                paddr: d.paddr,
                size_bits: d.size_bits,
                is_device: d.is_device != 0,
            })
            .collect();
        let facts = BootFacts {
            num_nodes: bi.num_nodes,
            cnode_size_bits: bi.init_thread_cnode_size_bits,
            empty: Some(slots(bi.empty)),
            regions: Vec::from([
                ("empty", slots(bi.empty)),
                ("sharedFrames", slots(bi.shared_frames)),
                ("userImageFrames", slots(bi.user_image_frames)),
                ("userImagePaging", slots(bi.user_image_paging)),
                ("ioSpaceCaps", slots(bi.io_space_caps)),
                ("extraBIPages", slots(bi.extra_bi_pages)),
                ("schedcontrol", slots(bi.sched_control)),
                ("untyped", slots(bi.untyped)),
                (
                    "initial caps",
                    Slots {
                        start: 0,
                        end: sel4_sys::init_cap::NUM_INITIAL_CAPS,
                    },
                ),
            ]),
            sched_control: Some(slots(bi.sched_control)),
            untypeds,
            fdt_cpus: fdt.as_ref().map_or(0, |f| f.cpus().count()),
            fdt_memory: fdt
                .as_ref()
                .map(|f| {
                    f.memory()
                        .regions()
                        .map(|r| (r.starting_address as u64, r.size.unwrap_or(0) as u64))
                        .collect()
                })
                .unwrap_or_default(),
            model: fdt.as_ref().map(|f| f.root().model().to_string()),
        };
        Self { facts, fdt, args }
    }

    pub fn print_summary(&self) {
        let f = &self.facts;
        let t = f.totals();
        println!(
            "taskman: board {}",
            f.model.as_deref().unwrap_or("(no device tree)")
        );
        println!(
            "taskman: {} cores, {} MiB of memory",
            f.num_nodes,
            f.memory_bytes() >> 20
        );
        println!(
            "taskman: RAM untypeds: {} regions, {} bytes ({} MiB)",
            t.ram_count,
            t.ram_bytes,
            t.ram_bytes >> 20
        );
        println!(
            "taskman: device untypeds: {} regions, {} bytes",
            t.device_count, t.device_bytes
        );
        if let Some(e) = f.empty {
            println!(
                "taskman: empty slots [{}, {}) of 2^{}",
                e.start, e.end, f.cnode_size_bits
            );
        }
        if let Some(sc) = f.sched_control {
            println!(
                "taskman: SchedControl caps [{}, {}), one per core",
                sc.start, sc.end
            );
        }
    }
}
