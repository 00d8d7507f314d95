//! The boot archive: the userland programs the build packed into
//! taskman's image (see `manifests/` and `sel4-build/archive`).
//!
//! `qsoe-archive` starts every program's bytes at a page boundary of the
//! archive, and the archive starts at a page of taskman's image, so a
//! program's read-only pages are frames taskman already has (BootInfo's
//! `userImageFrames`) and are mapped into its processes in place.

use alloc::vec::Vec;
use sel4_sys::{BootInfo, CPtr};
use taskman_core::elf_plan::PAGE_SIZE;

#[repr(C, align(4096))]
struct PageAligned<T: ?Sized>(T);

/// The CPIO (newc) archive, as `qsoe-archive pack` wrote it.
static ARCHIVE: &PageAligned<[u8]> = &PageAligned(*include_bytes!(env!("QSOE_ARCHIVE")));

extern "C" {
    /// The first byte of taskman's image (its ELF header, which the first
    /// segment maps): the page `userImageFrames` starts with.
    static __ehdr_start: u8;
}

/// The archive's files by name, read once at boot: walking the CPIO
/// headers costs about a million instructions per lookup, which every
/// spawn paid twice.
pub struct Archive {
    /// Sorted by name (without the leading `/`).
    files: Vec<(&'static str, &'static [u8])>,
    /// The same names, in the same order (`taskman_core::bootfs` reads
    /// them).
    pub names: Vec<&'static str>,
}

impl Archive {
    pub fn index() -> Self {
        // Names are padded with NULs to align the file's bytes.
        let mut files: Vec<_> = cpio_reader::iter_files(&ARCHIVE.0)
            .map(|e| (e.name().trim_end_matches('\0'), e.file()))
            .collect();
        files.sort_unstable_by_key(|&(name, _)| name);
        let names = files.iter().map(|&(name, _)| name).collect();
        Archive { files, names }
    }

    /// The contents of the file at index `i` of `names`.
    pub fn file(&self, i: usize) -> &'static [u8] {
        self.files.get(i).map_or(&[], |&(_, bytes)| bytes)
    }

    /// The contents of the file at `path` (absolute, as in the manifest).
    pub fn find(&self, path: &str) -> Option<&'static [u8]> {
        let name = path.strip_prefix('/')?;
        let i = self.files.binary_search_by_key(&name, |&(n, _)| n).ok()?;
        Some(self.files[i].1)
    }
}

/// The cap to the frame of taskman's image that holds the page at
/// `page`, if `page` is a page of the image.
pub fn image_frame(bootinfo: &BootInfo, page: *const u8) -> Option<CPtr> {
    let base = core::ptr::addr_of!(__ehdr_start) as u64;
    let addr = page as u64;
    if !addr.is_multiple_of(PAGE_SIZE) || addr < base {
        return None;
    }
    let slot = bootinfo.user_image_frames.start + (addr - base) / PAGE_SIZE;
    (slot < bootinfo.user_image_frames.end).then_some(slot)
}

/// The length of `file` if its pages can be mapped in place: it starts at
/// a page of taskman's image and every page it covers is one.
pub fn in_place(bootinfo: &BootInfo, file: &[u8]) -> Option<usize> {
    let last = file.len().saturating_sub(1) as u64 & !(PAGE_SIZE - 1);
    let start = file.as_ptr();
    (image_frame(bootinfo, start).is_some()
        && image_frame(bootinfo, start.wrapping_add(last as usize)).is_some())
    .then_some(file.len())
}
