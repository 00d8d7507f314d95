//! What the loader decides, apart from doing it: where the rootserver goes
//! in physical memory, which Sv39 entries the kernel needs, and which core
//! id each hart gets. Plain functions, tested on the host.
#![cfg_attr(not(test), no_std)]

/// Bytes a gigapage (a level-2 Sv39 leaf) maps.
pub const GIGAPAGE: u64 = 1 << 30;
/// Bytes of a small page.
pub const PAGE: u64 = 1 << 12;
/// Entries in a page table.
pub const PT_ENTRIES: usize = 512;

/// Sv39 page-table entry bits.
pub mod pte {
    pub const VALID: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const EXECUTE: u64 = 1 << 3;
    pub const GLOBAL: u64 = 1 << 5;
    pub const ACCESSED: u64 = 1 << 6;
    pub const DIRTY: u64 = 1 << 7;
}

/// A loadable segment of an ELF image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub paddr: u64,
    pub file_size: u64,
    pub mem_size: u64,
}

/// Where the rootserver lands and what the kernel is told about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserImage {
    /// Physical range `[start, end)`, page-aligned.
    pub phys_start: u64,
    pub phys_end: u64,
    /// Added to a virtual address to get its physical address.
    pub pv_offset: u64,
    pub virt_entry: u64,
}

impl UserImage {
    pub fn phys_of(&self, vaddr: u64) -> u64 {
        vaddr.wrapping_add(self.pv_offset)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    NoSegments,
    /// The placed image would run into memory that is not free for it.
    DoesNotFit {
        needed_end: u64,
        limit: u64,
    },
    /// The kernel's virtual and physical addresses differ by something a
    /// gigapage mapping cannot express.
    KernelWindowMisaligned,
}

const fn align_down(x: u64, a: u64) -> u64 {
    x & !(a - 1)
}

const fn align_up(x: u64, a: u64) -> u64 {
    align_down(x + a - 1, a)
}

/// The end of the physical memory a set of segments occupies.
pub fn phys_end(segments: &[Segment]) -> Option<u64> {
    segments.iter().map(|s| s.paddr + s.mem_size).max()
}

/// Places the rootserver's segments at the first page at or after
/// `after`, keeping their virtual layout, and checks it ends before
/// `limit`.
pub fn place_user_image(
    segments: &[Segment],
    entry: u64,
    after: u64,
    limit: u64,
) -> Result<UserImage, PlanError> {
    let vstart = segments
        .iter()
        .map(|s| align_down(s.vaddr, PAGE))
        .min()
        .ok_or(PlanError::NoSegments)?;
    let vend = segments
        .iter()
        .map(|s| align_up(s.vaddr + s.mem_size, PAGE))
        .max()
        .ok_or(PlanError::NoSegments)?;
    let phys_start = align_up(after, PAGE);
    let phys_end = phys_start + (vend - vstart);
    if phys_end > limit {
        return Err(PlanError::DoesNotFit {
            needed_end: phys_end,
            limit,
        });
    }
    Ok(UserImage {
        phys_start,
        phys_end,
        pv_offset: phys_start.wrapping_sub(vstart),
        virt_entry: entry,
    })
}

/// A leaf entry mapping the gigapage at `paddr` for the kernel (global,
/// readable, writable, executable, pre-marked accessed and dirty).
pub const fn gigapage_leaf(paddr: u64) -> u64 {
    use pte::*;
    ((paddr >> 12) << 10) | VALID | READ | WRITE | EXECUTE | GLOBAL | ACCESSED | DIRTY
}

/// Index of `vaddr` in the Sv39 root table.
pub const fn root_index(vaddr: u64) -> usize {
    ((vaddr >> 30) & (PT_ENTRIES as u64 - 1)) as usize
}

/// The root page table the kernel is entered with: RAM mapped at its own
/// address (so the loader keeps running when paging comes on), and the
/// kernel's virtual window from the kernel's first gigapage to the top of
/// the address space.
pub fn root_table(
    ram_start: u64,
    ram_end: u64,
    kernel_vaddr: u64,
    kernel_paddr: u64,
) -> Result<[u64; PT_ENTRIES], PlanError> {
    let offset = kernel_vaddr.wrapping_sub(kernel_paddr);
    if !offset.is_multiple_of(GIGAPAGE) {
        return Err(PlanError::KernelWindowMisaligned);
    }
    let mut table = [0u64; PT_ENTRIES];
    let mut paddr = align_down(ram_start, GIGAPAGE);
    while paddr < ram_end {
        table[root_index(paddr)] = gigapage_leaf(paddr);
        paddr += GIGAPAGE;
    }
    let mut vaddr = align_down(kernel_vaddr, GIGAPAGE);
    loop {
        table[root_index(vaddr)] = gigapage_leaf(vaddr.wrapping_sub(offset));
        match vaddr.checked_add(GIGAPAGE) {
            Some(next) => vaddr = next,
            None => break,
        }
    }
    Ok(table)
}

/// The `satp` value for Sv39 with `root` as the root table.
pub const fn satp_sv39(root_paddr: u64) -> u64 {
    (8 << 60) | (root_paddr >> 12)
}

/// Core ids for the harts to start: the booting hart is core 0, the others
/// follow in device-tree order, up to `max_cores`.
pub fn secondary_cores(
    harts: impl IntoIterator<Item = u64>,
    boot_hart: u64,
    max_cores: usize,
) -> impl Iterator<Item = (u64, usize)> {
    harts
        .into_iter()
        .filter(move |&h| h != boot_hart)
        .zip(1..max_cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNEL_V: u64 = 0xffff_ffff_8020_0000;
    const KERNEL_P: u64 = 0x8020_0000;

    fn seg(vaddr: u64, mem_size: u64) -> Segment {
        Segment {
            vaddr,
            paddr: vaddr,
            file_size: mem_size / 2,
            mem_size,
        }
    }

    #[test]
    fn user_image_keeps_virtual_layout_and_starts_on_a_page() {
        let segs = [seg(0x1_0000, 0x2345), seg(0x1_3000, 0x800)];
        let img = place_user_image(&segs, 0x1_0040, 0x8023_8123, 0x8800_0000).unwrap();
        assert_eq!(img.phys_start, 0x8023_9000);
        assert_eq!(img.phys_end, 0x8023_9000 + 0x4000);
        assert_eq!(img.phys_of(0x1_3000), 0x8023_c000);
        assert_eq!(img.virt_entry, 0x1_0040);
    }

    #[test]
    fn user_image_that_would_overrun_the_loader_is_refused() {
        let segs = [seg(0x1_0000, 0x10_0000)];
        let err = place_user_image(&segs, 0, 0x87f8_0000, 0x8800_0000).unwrap_err();
        assert!(matches!(err, PlanError::DoesNotFit { .. }));
        assert_eq!(place_user_image(&[], 0, 0, 1), Err(PlanError::NoSegments));
    }

    #[test]
    fn root_table_maps_ram_identically_and_the_kernel_window_to_the_top() {
        let t = root_table(0x8000_0000, 0x1_4000_0000, KERNEL_V, KERNEL_P).unwrap();
        for (i, p) in [(2, 0x8000_0000u64), (3, 0xc000_0000), (4, 0x1_0000_0000)] {
            assert_eq!(t[i], gigapage_leaf(p), "identity entry {i}");
        }
        assert_eq!(t[5], 0);
        assert_eq!(t[510], gigapage_leaf(0x8000_0000));
        assert_eq!(t[511], gigapage_leaf(0xc000_0000));
        assert_eq!(t.iter().filter(|&&e| e != 0).count(), 5);
    }

    #[test]
    fn leaf_encodes_the_physical_page_number_above_the_flags() {
        assert_eq!(gigapage_leaf(0x8000_0000) >> 10, 0x8_0000);
        assert_eq!(gigapage_leaf(0) & 0xff, 0xef);
    }

    #[test]
    fn misaligned_kernel_window_is_refused() {
        assert_eq!(
            root_table(0x8000_0000, 0xc000_0000, KERNEL_V, KERNEL_P + 0x1000),
            Err(PlanError::KernelWindowMisaligned)
        );
    }

    #[test]
    fn booting_hart_is_core_zero_and_the_rest_follow() {
        let cores: Vec<_> = secondary_cores([0, 1, 2, 3], 2, 4).collect();
        assert_eq!(cores, vec![(0, 1), (1, 2), (3, 3)]);
        let capped: Vec<_> = secondary_cores([0, 1, 2, 3, 4, 5], 0, 4).collect();
        assert_eq!(capped, vec![(1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn satp_selects_sv39() {
        assert_eq!(satp_sv39(0x8800_1000), (8 << 60) | 0x88001);
    }
}
