//! How much of everything a new process needs, decided before any object
//! exists: the objects to retype from its block, the size of the block,
//! and the size of its object CNode. The object CNode comes first, because
//! every later object is retyped straight into it; the rest follow largest
//! first, so alignment pads the block at most once.

use crate::cspace::ceil_log2;
use crate::elf_plan::{page_tables_needed, LoadPlan};
use alloc::vec::Vec;
use qsoe_abi::layout;
use sel4_sys::{object, size_bits};

use layout::ThreadArea;

/// log2 of the untyped every process gets for its IPC objects: its first
/// thread's wake notification, its reply objects and one small cell per
/// channel (see `object_slot`).
pub const IPC_AREA_BITS: u8 = 13;
/// log2 of a channel cell: its endpoint.
pub const CHANNEL_CELL_BITS: u8 = size_bits::ENDPOINT as u8;

/// log2 of the untyped that holds `count` reply objects (a quota's).
pub fn reply_cell_bits(count: usize) -> u8 {
    ceil_log2(count.max(1) as u64) + size_bits::REPLY as u8
}

/// Where each of taskman's caps to a process lives in its object CNode.
pub mod object_slot {
    use qsoe_abi::ipc::{MAX_CHANNELS, REPLY_OBJECTS};

    pub const CNODE: u64 = 0;
    pub const VSPACE: u64 = 1;
    pub const TCB: u64 = 2;
    pub const SCHED_CONTEXT: u64 = 3;
    pub const FAULT_EP: u64 = 4;
    /// The untyped all IPC objects of the process come from.
    pub const IPC_AREA: u64 = 5;
    /// The first thread's wake notification, bound to it, and a copy
    /// badged `PULSE_BADGE`, which taskman signals for pulses.
    pub const WAKE: u64 = 6;
    pub const WAKE_SIGNAL: u64 = 7;
    /// The untyped its reply objects come from, made with its first channel.
    pub const REPLY_CELL: u64 = 8;
    /// Its reply objects (the process holds copies).
    pub const REPLIES: u64 = 9;
    /// Channel cell `j`: `CHANNEL_SLOTS` slots from `channel(j)`.
    const CHANNELS: u64 = REPLIES + REPLY_OBJECTS as u64;
    pub const CHANNEL_SLOTS: u64 = 2;
    /// Within a channel cell's slots: the cell untyped and the endpoint
    /// (the channel's master cap).
    pub const CELL: u64 = 0;
    pub const ENDPOINT: u64 = 1;
    pub const PAGE_TABLES: u64 = CHANNELS + MAX_CHANNELS as u64 * CHANNEL_SLOTS;

    /// The first slot of channel cell `j`.
    pub const fn channel(j: u64) -> u64 {
        CHANNELS + j * CHANNEL_SLOTS
    }
}

/// The kinds of objects a process is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The process's CSpace root.
    CNode,
    /// The CNode in taskman's space that keeps taskman's caps to the rest.
    ObjectCNode,
    VSpace,
    PageTable,
    Frame,
    Tcb,
    SchedContext,
    /// The untyped for IPC objects made later.
    IpcArea,
}

/// `count` objects of one kind, with the kernel's type and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Objects {
    pub kind: Kind,
    pub object_type: u64,
    pub size_bits: u8,
    pub count: u64,
}

impl Objects {
    pub fn bytes(&self) -> u64 {
        self.count << self.size_bits
    }
}

/// Everything decided about a process before taskman builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpawnPlan {
    /// Objects in retype order: the object CNode, then non-increasing size.
    pub objects: Vec<Objects>,
    /// Radix of the object CNode.
    pub object_cnode_bits: u8,
    /// The smallest block that holds every object.
    pub block_bits: u8,
    /// Virtual addresses of every page the process starts with: program,
    /// stack, thread page.
    pub page_vaddrs: Vec<u64>,
    /// Where each of those pages' frame comes from.
    pub page_frames: Vec<PageFrame>,
    /// Each page's frame cap, as an offset from the first frame's slot in
    /// the object CNode: its own frames first, in page order, then the
    /// program file's pages it shares.
    pub frame_slots: Vec<u64>,
}

/// Where a page's frame comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFrame {
    /// A frame of its own, retyped from the block.
    Own,
    /// The page of the program file at this offset, shared read-only with
    /// every process of the program: the file lies page aligned in
    /// taskman's image, so it is mapped in place and never copied.
    File(usize),
}

impl SpawnPlan {
    /// The first thread's thread page's position in `page_vaddrs`: the
    /// last.
    pub fn thread_page(&self) -> usize {
        self.page_vaddrs.len() - 1
    }

    /// How many frames are retyped from the block.
    pub fn own_frames(&self) -> u64 {
        self.page_frames
            .iter()
            .filter(|f| **f == PageFrame::Own)
            .count() as u64
    }
}

/// Plans a process for a program laid out as `load`. `aligned_file` is
/// the program file's length if the file lies page aligned in memory, so
/// its read-only pages can be mapped in place.
pub fn plan(load: &LoadPlan, aligned_file: Option<usize>) -> SpawnPlan {
    let mut page_vaddrs: Vec<u64> = load.pages.iter().map(|p| p.vaddr).collect();
    page_vaddrs.extend(ThreadArea::FIRST.pages());
    let page_frames: Vec<PageFrame> = (0..page_vaddrs.len())
        .map(|i| {
            let file_page = load.pages.get(i).zip(aligned_file);
            match file_page.and_then(|(p, len)| p.file_page(len)) {
                Some(offset) => PageFrame::File(offset),
                None => PageFrame::Own,
            }
        })
        .collect();
    let own = page_frames.iter().filter(|f| **f == PageFrame::Own).count() as u64;
    // The i-th own frame sits at i; the i-th shared page at own + i.
    let mut counts = [0, own];
    let frame_slots = page_frames
        .iter()
        .map(|f| {
            let n = &mut counts[(*f != PageFrame::Own) as usize];
            *n += 1;
            *n - 1
        })
        .collect();
    let frames = page_vaddrs.len() as u64;
    let page_tables = page_tables_needed(page_vaddrs.iter().copied()) as u64;
    // Caps taskman keeps: the fixed ones (CNode, VSpace, TCB, scheduling
    // context, fault endpoint, IPC objects), then page tables and frames.
    let kept = object_slot::PAGE_TABLES + page_tables + frames;
    let object_cnode_bits = ceil_log2(kept).max(2);
    let mut objects = alloc::vec![
        Objects {
            kind: Kind::CNode,
            object_type: object::CNODE,
            size_bits: layout::CNODE_BITS + size_bits::SLOT as u8,
            count: 1,
        },
        Objects {
            kind: Kind::ObjectCNode,
            object_type: object::CNODE,
            size_bits: object_cnode_bits + size_bits::SLOT as u8,
            count: 1,
        },
        Objects {
            kind: Kind::VSpace,
            object_type: object::PAGE_TABLE,
            size_bits: size_bits::PAGE_TABLE as u8,
            count: 1,
        },
        Objects {
            kind: Kind::PageTable,
            object_type: object::PAGE_TABLE,
            size_bits: size_bits::PAGE_TABLE as u8,
            count: page_tables,
        },
        Objects {
            kind: Kind::Frame,
            object_type: object::PAGE_4K,
            size_bits: size_bits::PAGE as u8,
            count: own,
        },
        Objects {
            kind: Kind::Tcb,
            object_type: object::TCB,
            size_bits: size_bits::TCB as u8,
            count: 1,
        },
        Objects {
            kind: Kind::SchedContext,
            object_type: object::SCHED_CONTEXT,
            size_bits: size_bits::MIN_SCHED_CONTEXT as u8,
            count: 1,
        },
        Objects {
            kind: Kind::IpcArea,
            object_type: object::UNTYPED,
            size_bits: IPC_AREA_BITS,
            count: 1,
        },
    ];
    // Stable: kinds of equal size keep the order above.
    objects.sort_by_key(|o| (o.kind != Kind::ObjectCNode, core::cmp::Reverse(o.size_bits)));
    let bytes = placed_bytes(&objects);
    SpawnPlan {
        objects,
        object_cnode_bits,
        block_bits: ceil_log2(bytes),
        page_vaddrs,
        page_frames,
        frame_slots,
    }
}

/// The bytes `objects` take when retyped in order from one untyped: each
/// object starts at the next multiple of its own size, as the kernel
/// places them.
pub fn placed_bytes(objects: &[Objects]) -> u64 {
    objects.iter().fold(0, |offset, o| {
        offset.next_multiple_of(1 << o.size_bits) + o.bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf_plan::PAGE_SIZE;
    use layout::STACK_PAGES;

    #[test]
    fn ipc_objects_fit_their_untypeds() {
        use qsoe_abi::ipc::{MAX_CHANNELS, REPLY_OBJECTS};
        assert_eq!(reply_cell_bits(1), size_bits::REPLY as u8);
        assert_eq!(reply_cell_bits(33), 6 + size_bits::REPLY as u8);
        let replies = 1u64 << reply_cell_bits(REPLY_OBJECTS);
        assert!((REPLY_OBJECTS as u64) << size_bits::REPLY <= replies);
        // The wake notification first, the reply cell aligned after it,
        // the channel cells in what is left.
        let wake = 1u64 << size_bits::NOTIFICATION;
        let area =
            wake.next_multiple_of(replies) + replies + ((MAX_CHANNELS as u64) << CHANNEL_CELL_BITS);
        assert!(area <= 1 << IPC_AREA_BITS);
    }
    use crate::elf_plan::{PagePlan, Perms};

    fn load(pages: &[u64]) -> LoadPlan {
        LoadPlan {
            entry: pages[0],
            pages: pages
                .iter()
                .map(|&vaddr| PagePlan {
                    vaddr,
                    perms: Perms {
                        read: true,
                        write: false,
                        execute: true,
                    },
                    copies: Vec::new(),
                    zeroed: false,
                })
                .collect(),
            phdr_vaddr: None,
            phent: 56,
            phnum: 1,
            tls: None,
        }
    }

    fn plan_own(load: &LoadPlan) -> SpawnPlan {
        plan(load, None)
    }

    #[test]
    fn file_pages_are_shared_and_take_no_frame() {
        use crate::elf_plan::PageCopy;
        let mut l = load(&[0x10000, 0x11000, 0x12000]);
        for (i, p) in l.pages.iter_mut().enumerate() {
            p.copies = alloc::vec![PageCopy {
                page_offset: 0,
                file_offset: 0x1000 * (i + 1),
                len: 0x1000,
            }];
        }
        l.pages[1].perms.write = true;
        let p = plan(&l, Some(0x4000));
        assert_eq!(
            p.page_frames[..4],
            [
                PageFrame::File(0x1000),
                PageFrame::Own,
                PageFrame::File(0x3000),
                PageFrame::Own
            ]
        );
        let all = p.page_vaddrs.len() as u64;
        assert_eq!(p.own_frames(), all - 2);
        let frames = p.objects.iter().find(|o| o.kind == Kind::Frame).unwrap();
        assert_eq!(frames.count, all - 2);
        // Own frames first, in page order; the shared ones after them.
        assert_eq!(p.frame_slots[..4], [all - 2, 0, all - 1, 1]);
        let mut slots = p.frame_slots.clone();
        slots.sort_unstable();
        assert!(slots.iter().copied().eq(0..all));
        // Not aligned in memory: every page has its own frame.
        assert_eq!(plan(&l, None).own_frames(), all);
    }

    #[test]
    fn object_cnode_first_then_largest_and_all_fit_the_block() {
        let p = plan_own(&load(&[0x10000, 0x11000, 0x12000]));
        assert_eq!(p.objects[0].kind, Kind::ObjectCNode);
        assert!(p.objects[1..]
            .windows(2)
            .all(|w| w[0].size_bits >= w[1].size_bits));
        let bytes = placed_bytes(&p.objects);
        assert!(bytes <= 1 << p.block_bits && bytes > 1 << (p.block_bits - 1));
    }

    #[test]
    fn placement_pads_to_each_objects_alignment() {
        let o = |size_bits, count| Objects {
            kind: Kind::Frame,
            object_type: 0,
            size_bits,
            count,
        };
        // 1 KiB, then a 32 KiB object aligned up to 32 KiB, then 4 KiB.
        assert_eq!(
            placed_bytes(&[o(10, 1), o(15, 1), o(12, 2)]),
            0x8000 + 0x8000 + 0x2000
        );
        assert_eq!(placed_bytes(&[]), 0);
    }

    #[test]
    fn counts_every_page_and_page_table() {
        let p = plan_own(&load(&[0x10000, 0x11000]));
        let frames = p.objects.iter().find(|o| o.kind == Kind::Frame).unwrap();
        assert_eq!(frames.count, 2 + STACK_PAGES + 1);
        let tables = p
            .objects
            .iter()
            .find(|o| o.kind == Kind::PageTable)
            .unwrap();
        // One 1 GiB table for all; one 2 MiB table for the program, one
        // for the stack and thread page.
        assert_eq!(tables.count, 3);
        assert_eq!(p.page_vaddrs.len() as u64, frames.count);
        assert_eq!(
            p.page_vaddrs[p.thread_page()],
            ThreadArea::FIRST.thread_page
        );
    }

    #[test]
    fn object_cnode_holds_every_kept_cap() {
        let pages: Vec<u64> = (0..300).map(|i| 0x10000 + i * PAGE_SIZE).collect();
        let p = plan_own(&load(&pages));
        let kept: u64 = p
            .objects
            .iter()
            .filter(|o| o.kind != Kind::ObjectCNode)
            .map(|o| o.count)
            .sum::<u64>()
            + 1;
        assert!(kept <= 1 << p.object_cnode_bits);
    }
}
