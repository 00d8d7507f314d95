//! What taskman maps for an ELF program.
//!
//! Loading is split in two: this module decides, from the file alone, which
//! pages a program needs, with which rights and which file bytes, and rejects
//! anything malformed; the rootserver then only allocates frames, copies and
//! maps. The file is untrusted input, so keeping every check here means it is
//! exercised on the host, garbage included, and the seL4 side never sees a
//! plan that could fault taskman or map outside the user range.

use alloc::{collections::BTreeSet, vec::Vec};
use core::ops::Range;
use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{LittleEndian, Pod};

pub const PAGE_SIZE: u64 = 4096;

type Header = FileHeader64<LittleEndian>;
type Phdr = ProgramHeader64<LittleEndian>;

const PHDR_SIZE: usize = core::mem::size_of::<Phdr>();

/// The rights a page is mapped with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Perms {
    fn from_flags(flags: u32) -> Self {
        Self {
            read: flags & elf::PF_R != 0,
            write: flags & elf::PF_W != 0,
            execute: flags & elf::PF_X != 0,
        }
    }

    fn union(self, other: Self) -> Self {
        Self {
            read: self.read || other.read,
            write: self.write || other.write,
            execute: self.execute || other.execute,
        }
    }
}

/// One byte range of the file copied into a page; the rest of the page is zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCopy {
    pub page_offset: usize,
    pub file_offset: usize,
    pub len: usize,
}

/// One page to allocate, fill and map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagePlan {
    /// Page aligned.
    pub vaddr: u64,
    pub perms: Perms,
    pub copies: Vec<PageCopy>,
    /// Whether part of the page lies in a segment's zero-filled tail
    /// (memory size past file size).
    pub zeroed: bool,
}

impl PagePlan {
    /// The offset of the page of the file that can back this page as it
    /// stands, shared and never copied: a read-only page filled from one
    /// whole page of the file (`file_len` bytes), with nothing to zero.
    /// Bytes after the segment's end in that page are the file's own, as
    /// when a program file is mapped.
    pub fn file_page(&self, file_len: usize) -> Option<usize> {
        let [c] = self.copies.as_slice() else {
            return None;
        };
        let whole = c.page_offset == 0
            && c.file_offset.is_multiple_of(PAGE_SIZE as usize)
            && c.file_offset + PAGE_SIZE as usize <= file_len;
        (whole && !self.perms.write && !self.zeroed).then_some(c.file_offset)
    }
}

/// The initial image of each thread's TLS block (PT_TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsTemplate {
    pub file_offset: usize,
    pub file_size: usize,
    pub mem_size: usize,
    pub align: usize,
}

/// Everything needed to set up a program's memory and its auxiliary vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    pub entry: u64,
    /// Sorted by `vaddr`, each page once.
    pub pages: Vec<PagePlan>,
    /// Where the program headers are in memory, if a PT_LOAD covers them
    /// (for AT_PHDR).
    pub phdr_vaddr: Option<u64>,
    pub phent: u16,
    pub phnum: u16,
    pub tls: Option<TlsTemplate>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    NotElf,
    WrongClass,
    WrongEndian,
    WrongMachine,
    /// Not ET_EXEC: taskman does not relocate, so PIE and shared objects are out.
    NotExecutable,
    /// Something points past the end of the file.
    Truncated,
    BadSegment,
    /// Two PT_LOADs share bytes.
    Overlaps,
    /// A segment lies outside the user range.
    OutOfRange,
    TooBig,
    NoSegments,
    EntryNotExecutable,
}

/// Plans the pages for the ELF executable `elf`.
///
/// `user_range`: the half-open virtual range segments may occupy (taskman
/// keeps page 0 unmapped so NULL faults, and keeps the top for stack/IPC
/// buffer). `max_pages`: a sanity cap, checked before anything is allocated.
pub fn plan(elf: &[u8], user_range: Range<u64>, max_pages: usize) -> Result<LoadPlan, ElfError> {
    let e = LittleEndian;
    let header = parse_header(elf)?;
    let phent = header.e_phentsize(e);
    let phnum = header.e_phnum(e);
    if usize::from(phent) != PHDR_SIZE {
        return Err(ElfError::BadSegment);
    }
    // Extended numbering (the count in section 0) is not for programs this small.
    if phnum == elf::PN_XNUM {
        return Err(ElfError::TooBig);
    }
    let phoff = header.e_phoff(e);
    let phdrs_len = usize::from(phnum) * PHDR_SIZE;
    check_file_range(phoff, phdrs_len as u64, elf.len())?;
    let phoff = phoff as usize;

    let mut segments = Vec::new();
    let mut tls = None;
    for i in 0..usize::from(phnum) {
        let phdr: Phdr = read_aligned(elf, phoff + i * PHDR_SIZE).ok_or(ElfError::Truncated)?;
        match phdr.p_type(e) {
            elf::PT_LOAD if phdr.p_memsz(e) > 0 => {
                segments.push(Segment::new(&phdr, elf.len(), &user_range)?);
            }
            elf::PT_TLS if tls.is_some() => return Err(ElfError::BadSegment),
            elf::PT_TLS => tls = Some(tls_template(&phdr, elf.len())?),
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }

    segments.sort_unstable_by_key(|s| s.vaddr);
    if segments.windows(2).any(|w| w[0].end > w[1].vaddr) {
        return Err(ElfError::Overlaps);
    }
    // Segments are disjoint, so this cannot overflow: the sum is at most
    // the number of pages in the address space.
    let shared = segments
        .windows(2)
        .filter(|w| w[0].last_page() == w[1].first_page())
        .count() as u64;
    let total = segments.iter().map(Segment::page_count).sum::<u64>() - shared;
    if total > max_pages as u64 {
        return Err(ElfError::TooBig);
    }

    let mut pages = Vec::with_capacity(total as usize);
    for segment in &segments {
        segment.add_pages(&mut pages);
    }

    let entry = header.e_entry(e);
    let entry_page = entry & !(PAGE_SIZE - 1);
    match pages.binary_search_by_key(&entry_page, |p| p.vaddr) {
        Ok(i) if pages[i].perms.execute => {}
        _ => return Err(ElfError::EntryNotExecutable),
    }

    let phdrs_end = (phoff + phdrs_len) as u64;
    let phdr_vaddr = segments.iter().find_map(|s| {
        (s.offset <= phoff as u64 && phdrs_end <= s.offset + s.filesz)
            .then(|| s.vaddr + (phoff as u64 - s.offset))
    });

    Ok(LoadPlan {
        entry,
        pages,
        phdr_vaddr,
        phent,
        phnum,
        tls,
    })
}

/// Page tables an Sv39 address space needs for these page addresses besides
/// its root: one per distinct 1 GiB region plus one per distinct 2 MiB region.
pub fn page_tables_needed(pages: impl IntoIterator<Item = u64>) -> usize {
    let mut gigs = BTreeSet::new();
    let mut megs = BTreeSet::new();
    for page in pages {
        gigs.insert(page >> 30);
        megs.insert(page >> 21);
    }
    gigs.len() + megs.len()
}

/// A checked PT_LOAD with a non-empty memory image.
struct Segment {
    offset: u64,
    vaddr: u64,
    filesz: u64,
    /// `vaddr + memsz`, exclusive.
    end: u64,
    perms: Perms,
}

impl Segment {
    fn new(phdr: &Phdr, file_len: usize, user_range: &Range<u64>) -> Result<Self, ElfError> {
        let e = LittleEndian;
        let (offset, vaddr) = (phdr.p_offset(e), phdr.p_vaddr(e));
        let (filesz, memsz) = (phdr.p_filesz(e), phdr.p_memsz(e));
        if filesz > memsz {
            return Err(ElfError::BadSegment);
        }
        check_file_range(offset, filesz, file_len)?;
        let end = vaddr.checked_add(memsz).ok_or(ElfError::OutOfRange)?;
        if vaddr < user_range.start || end > user_range.end {
            return Err(ElfError::OutOfRange);
        }
        if phdr.p_align(e) >= PAGE_SIZE && vaddr % PAGE_SIZE != offset % PAGE_SIZE {
            return Err(ElfError::BadSegment);
        }
        Ok(Self {
            offset,
            vaddr,
            filesz,
            end,
            perms: Perms::from_flags(phdr.p_flags(e)),
        })
    }

    fn first_page(&self) -> u64 {
        self.vaddr & !(PAGE_SIZE - 1)
    }

    fn last_page(&self) -> u64 {
        (self.end - 1) & !(PAGE_SIZE - 1)
    }

    fn page_count(&self) -> u64 {
        (self.last_page() - self.first_page()) / PAGE_SIZE + 1
    }

    /// Appends this segment's pages to `pages`, which holds only pages below
    /// it, merging with the last one if the two share a page.
    fn add_pages(&self, pages: &mut Vec<PagePlan>) {
        let mut page = self.first_page();
        loop {
            let copy = self.copy_into(page);
            let zeroed = self.zeroes(page);
            match pages.last_mut() {
                Some(last) if last.vaddr == page => {
                    last.perms = last.perms.union(self.perms);
                    last.copies.extend(copy);
                    last.zeroed |= zeroed;
                }
                _ => pages.push(PagePlan {
                    vaddr: page,
                    perms: self.perms,
                    copies: copy.into_iter().collect(),
                    zeroed,
                }),
            }
            if page == self.last_page() {
                break;
            }
            page += PAGE_SIZE;
        }
    }

    /// Whether part of `page` lies past the file image, inside the segment.
    fn zeroes(&self, page: u64) -> bool {
        let start = page.max(self.vaddr + self.filesz);
        start < page.saturating_add(PAGE_SIZE).min(self.end)
    }

    /// The part of the file image that lands in `page`, if any.
    fn copy_into(&self, page: u64) -> Option<PageCopy> {
        let start = page.max(self.vaddr);
        // Saturating is exact here: the file image ends at most at u64::MAX.
        let end = page.saturating_add(PAGE_SIZE).min(self.vaddr + self.filesz);
        (start < end).then(|| PageCopy {
            page_offset: (start - page) as usize,
            file_offset: (self.offset + (start - self.vaddr)) as usize,
            len: (end - start) as usize,
        })
    }
}

fn tls_template(phdr: &Phdr, file_len: usize) -> Result<TlsTemplate, ElfError> {
    let e = LittleEndian;
    let (offset, filesz, memsz) = (phdr.p_offset(e), phdr.p_filesz(e), phdr.p_memsz(e));
    if filesz > memsz {
        return Err(ElfError::BadSegment);
    }
    check_file_range(offset, filesz, file_len)?;
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| ElfError::TooBig);
    Ok(TlsTemplate {
        file_offset: to_usize(offset)?,
        file_size: to_usize(filesz)?,
        mem_size: to_usize(memsz)?,
        align: to_usize(phdr.p_align(e))?,
    })
}

fn check_file_range(offset: u64, len: u64, file_len: usize) -> Result<(), ElfError> {
    match offset.checked_add(len) {
        Some(end) if end <= file_len as u64 => Ok(()),
        _ => Err(ElfError::Truncated),
    }
}

fn parse_header(elf: &[u8]) -> Result<Header, ElfError> {
    if !elf.starts_with(&elf::ELFMAG) {
        return Err(ElfError::NotElf);
    }
    let header: Header = read_aligned(elf, 0).ok_or(ElfError::Truncated)?;
    if !header.is_class_64() {
        return Err(ElfError::WrongClass);
    }
    if !header.is_little_endian() {
        return Err(ElfError::WrongEndian);
    }
    // Whatever `object` still objects to (the version) means not ELF as we know it.
    Header::parse(object::bytes_of(&header)).map_err(|_| ElfError::NotElf)?;
    if header.e_machine(LittleEndian) != elf::EM_RISCV {
        return Err(ElfError::WrongMachine);
    }
    if header.e_type(LittleEndian) != elf::ET_EXEC {
        return Err(ElfError::NotExecutable);
    }
    Ok(header)
}

/// Copies a header at `offset` out of `elf`: `object` reads structures in
/// place and wants them aligned, and an image inside an archive need not be.
fn read_aligned<T: Pod>(elf: &[u8], offset: usize) -> Option<T> {
    let mut storage = [0u64; 8];
    let size = core::mem::size_of::<T>();
    let src = elf.get(offset..offset.checked_add(size)?)?;
    let dst = object::bytes_of_mut(&mut storage).get_mut(..size)?;
    dst.copy_from_slice(src);
    object::from_bytes::<T>(dst).ok().map(|(value, _)| *value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const USER: Range<u64> = 0x1000..0x40_0000_0000;
    const RX: Perms = Perms {
        read: true,
        write: false,
        execute: true,
    };
    const RW: Perms = Perms {
        read: true,
        write: true,
        execute: false,
    };

    #[derive(Clone, Copy)]
    struct Seg {
        kind: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
        align: u64,
    }

    fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Seg {
        Seg {
            kind: elf::PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: PAGE_SIZE,
        }
    }

    const TEXT: u32 = elf::PF_R | elf::PF_X;
    const DATA: u32 = elf::PF_R | elf::PF_W;

    fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
        b[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// A RISC-V ELF64 of `len` bytes: header, program headers at 64, and a
    /// non-zero byte pattern everywhere else so copies can be checked.
    fn image(e_type: u16, entry: u64, segs: &[Seg], len: usize) -> Vec<u8> {
        assert!(len >= 64 + segs.len() * 56);
        let mut b: Vec<u8> = (0..len).map(|i| (i % 255) as u8 + 1).collect();
        put(&mut b, 0, &[0x7f, b'E', b'L', b'F', 2, 1, 1]);
        put(&mut b, 7, &[0; 9]);
        put(&mut b, 16, &e_type.to_le_bytes());
        put(&mut b, 18, &elf::EM_RISCV.to_le_bytes());
        put(&mut b, 20, &1u32.to_le_bytes());
        put(&mut b, 24, &entry.to_le_bytes());
        put(&mut b, 32, &64u64.to_le_bytes());
        put(&mut b, 40, &0u64.to_le_bytes());
        put(&mut b, 48, &0u32.to_le_bytes());
        put(&mut b, 52, &64u16.to_le_bytes());
        put(&mut b, 54, &56u16.to_le_bytes());
        put(&mut b, 56, &(segs.len() as u16).to_le_bytes());
        put(&mut b, 58, &[64, 0, 0, 0, 0, 0]);
        for (i, s) in segs.iter().enumerate() {
            let at = 64 + i * 56;
            put(&mut b, at, &s.kind.to_le_bytes());
            put(&mut b, at + 4, &s.flags.to_le_bytes());
            for (j, v) in [s.offset, s.vaddr, s.vaddr, s.filesz, s.memsz, s.align]
                .into_iter()
                .enumerate()
            {
                put(&mut b, at + 8 + j * 8, &v.to_le_bytes());
            }
        }
        b
    }

    fn exec(entry: u64, segs: &[Seg], len: usize) -> Vec<u8> {
        image(elf::ET_EXEC, entry, segs, len)
    }

    /// Text from offset 0 (covering the headers), then data whose bss runs
    /// two pages past its file bytes.
    fn text_data_bss() -> Vec<u8> {
        exec(
            0x10100,
            &[
                load(TEXT, 0, 0x10000, 0x1800, 0x1800),
                load(DATA, 0x1900, 0x12900, 0x200, 0x1800),
            ],
            0x1b00,
        )
    }

    /// The contents of a page as the rootserver would fill it.
    fn fill(page: &PagePlan, elf: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0; PAGE_SIZE as usize];
        for c in &page.copies {
            bytes[c.page_offset..c.page_offset + c.len]
                .copy_from_slice(&elf[c.file_offset..c.file_offset + c.len]);
        }
        bytes
    }

    fn copy(page_offset: usize, file_offset: usize, len: usize) -> PageCopy {
        PageCopy {
            page_offset,
            file_offset,
            len,
        }
    }

    fn err(elf: &[u8]) -> ElfError {
        plan(elf, USER, 1024).unwrap_err()
    }

    #[test]
    fn text_data_and_bss_get_their_pages_perms_and_bytes() {
        let elf = text_data_bss();
        let p = plan(&elf, USER, 1024).unwrap();
        let layout: Vec<(u64, Perms, Vec<PageCopy>)> = p
            .pages
            .iter()
            .map(|pg| (pg.vaddr, pg.perms, pg.copies.clone()))
            .collect();
        assert_eq!(
            layout,
            [
                (0x10000, RX, vec![copy(0, 0, 0x1000)]),
                (0x11000, RX, vec![copy(0, 0x1000, 0x800)]),
                (0x12000, RW, vec![copy(0x900, 0x1900, 0x200)]),
                (0x13000, RW, vec![]),
                (0x14000, RW, vec![]),
            ]
        );
        assert_eq!((p.entry, p.phent, p.phnum, p.tls), (0x10100, 56, 2, None));

        let memory: Vec<u8> = p.pages.iter().flat_map(|pg| fill(pg, &elf)).collect();
        let at = |vaddr: u64| (vaddr - 0x10000) as usize;
        assert_eq!(memory[..0x1800], elf[..0x1800]);
        assert!(memory[at(0x11800)..at(0x12900)].iter().all(|&b| b == 0));
        assert_eq!(memory[at(0x12900)..at(0x12b00)], elf[0x1900..0x1b00]);
        assert!(memory[at(0x12b00)..].iter().all(|&b| b == 0));
    }

    #[test]
    fn only_whole_read_only_file_pages_back_pages_in_place() {
        let elf = exec(
            0x10100,
            &[
                load(TEXT, 0, 0x10000, 0x1800, 0x1800),
                load(elf::PF_R, 0x2000, 0x12000, 0x1000, 0x1000),
                load(elf::PF_R, 0x3000, 0x13000, 0x10, 0x20),
                load(DATA, 0x4000, 0x14000, 0x1000, 0x1000),
            ],
            0x5000,
        );
        let p = plan(&elf, USER, 1024).unwrap();
        let backed: Vec<Option<usize>> = p.pages.iter().map(|pg| pg.file_page(elf.len())).collect();
        // Text: a whole page, then a short one whose rest is the file's;
        // read-only data; read-only data with a zeroed tail; writable data.
        assert_eq!(backed, [Some(0), Some(0x1000), Some(0x2000), None, None]);
        assert!(p.pages[3].zeroed && !p.pages[1].zeroed);
        // The file must hold the whole page.
        assert_eq!(p.pages[2].file_page(0x2fff), None);
    }

    #[test]
    fn a_shared_page_gets_both_copies_and_the_union_of_perms() {
        let elf = exec(
            0x10000,
            &[
                load(TEXT, 0, 0x10000, 0x1234, 0x1234),
                load(DATA, 0x1234, 0x11234, 0x100, 0x200),
            ],
            0x1400,
        );
        let p = plan(&elf, USER, 1024).unwrap();
        assert_eq!(p.pages.len(), 2);
        let shared = &p.pages[1];
        assert_eq!(shared.vaddr, 0x11000);
        assert_eq!(
            shared.perms,
            Perms {
                read: true,
                write: true,
                execute: true
            }
        );
        assert_eq!(
            shared.copies,
            [copy(0, 0x1000, 0x234), copy(0x234, 0x1234, 0x100)]
        );
    }

    #[test]
    fn segments_may_come_in_any_order() {
        let elf = exec(
            0x10000,
            &[
                load(DATA, 0x1900, 0x12900, 0x200, 0x1800),
                load(TEXT, 0, 0x10000, 0x1800, 0x1800),
            ],
            0x1b00,
        );
        let p = plan(&elf, USER, 1024).unwrap();
        assert_eq!(p.pages, plan(&text_data_bss(), USER, 1024).unwrap().pages);
    }

    #[test]
    fn phdr_vaddr_is_found_only_when_a_segment_loads_the_headers() {
        let elf = text_data_bss();
        assert_eq!(plan(&elf, USER, 1024).unwrap().phdr_vaddr, Some(0x10040));
        let elf = exec(
            0x10000,
            &[load(TEXT, 0x1000, 0x10000, 0x800, 0x800)],
            0x1800,
        );
        assert_eq!(plan(&elf, USER, 1024).unwrap().phdr_vaddr, None);
    }

    #[test]
    fn tls_template_is_recorded_and_checked() {
        let tls = Seg {
            kind: elf::PT_TLS,
            flags: elf::PF_R,
            offset: 0x1900,
            vaddr: 0x12900,
            filesz: 0x10,
            memsz: 0x40,
            align: 8,
        };
        let text = load(TEXT, 0, 0x10000, 0x1800, 0x1800);
        let p = plan(&exec(0x10000, &[text, tls], 0x1b00), USER, 1024).unwrap();
        assert_eq!(
            p.tls,
            Some(TlsTemplate {
                file_offset: 0x1900,
                file_size: 0x10,
                mem_size: 0x40,
                align: 8
            })
        );
        let past_end = Seg {
            offset: 0x1af8,
            ..tls
        };
        assert_eq!(
            err(&exec(0x10000, &[text, past_end], 0x1b00)),
            ElfError::Truncated
        );
        let bigger_file = Seg {
            filesz: 0x41,
            ..tls
        };
        assert_eq!(
            err(&exec(0x10000, &[text, bigger_file], 0x1b00)),
            ElfError::BadSegment
        );
        assert_eq!(
            err(&exec(0x10000, &[text, tls, tls], 0x1b00)),
            ElfError::BadSegment
        );
    }

    #[test]
    fn header_errors() {
        assert_eq!(err(b""), ElfError::NotElf);
        assert_eq!(err(b"hello, world"), ElfError::NotElf);
        let elf = text_data_bss();
        assert_eq!(err(&elf[..40]), ElfError::Truncated);

        let with = |at: usize, bytes: &[u8]| {
            let mut e = elf.clone();
            put(&mut e, at, bytes);
            err(&e)
        };
        assert_eq!(with(4, &[1]), ElfError::WrongClass);
        assert_eq!(with(5, &[2]), ElfError::WrongEndian);
        assert_eq!(with(6, &[2]), ElfError::NotElf);
        assert_eq!(
            with(18, &elf::EM_X86_64.to_le_bytes()),
            ElfError::WrongMachine
        );
        assert_eq!(with(54, &[57, 0]), ElfError::BadSegment);
        assert_eq!(with(56, &[0xff, 0xff]), ElfError::TooBig);
        assert_eq!(with(32, &0x1ad0u64.to_le_bytes()), ElfError::Truncated);
        assert_eq!(with(32, &u64::MAX.to_le_bytes()), ElfError::Truncated);
        assert_eq!(with(56, &[0, 0]), ElfError::NoSegments);

        let pie = image(
            elf::ET_DYN,
            0x10100,
            &[load(TEXT, 0, 0x10000, 0x1800, 0x1800)],
            0x1800,
        );
        assert_eq!(err(&pie), ElfError::NotExecutable);
    }

    #[test]
    fn segment_errors() {
        let one = |s: Seg| err(&exec(s.vaddr, &[s], 0x2000));
        let text = load(TEXT, 0, 0x10000, 0x1000, 0x1000);
        assert_eq!(
            one(Seg {
                filesz: 0x1001,
                ..text
            }),
            ElfError::BadSegment
        );
        assert_eq!(
            one(Seg {
                offset: 0x800,
                ..text
            }),
            ElfError::BadSegment
        );
        assert_eq!(
            one(Seg {
                offset: 0x1001,
                ..text
            }),
            ElfError::Truncated
        );
        assert_eq!(
            one(Seg {
                offset: u64::MAX,
                ..text
            }),
            ElfError::Truncated
        );
        assert_eq!(one(Seg { vaddr: 0, ..text }), ElfError::OutOfRange);
        assert_eq!(
            one(Seg {
                vaddr: USER.end - 0x800,
                offset: 0x800,
                ..text
            }),
            ElfError::OutOfRange
        );
        assert_eq!(
            one(Seg {
                vaddr: u64::MAX - 0xfff,
                memsz: 0x2000,
                ..text
            }),
            ElfError::OutOfRange
        );
        assert_eq!(
            one(Seg {
                kind: elf::PT_NOTE,
                ..text
            }),
            ElfError::NoSegments
        );
        assert_eq!(
            one(Seg {
                filesz: 0,
                memsz: 0,
                ..text
            }),
            ElfError::NoSegments
        );
    }

    #[test]
    fn misaligned_offsets_are_fine_when_the_segment_does_not_ask_for_pages() {
        let s = Seg {
            align: 16,
            ..load(TEXT, 0x1810, 0x10000, 0x100, 0x100)
        };
        let elf = exec(0x10000, &[s], 0x2000);
        let p = plan(&elf, USER, 1024).unwrap();
        assert_eq!(p.pages[0].copies, [copy(0, 0x1810, 0x100)]);
    }

    #[test]
    fn overlapping_bytes_are_rejected_but_touching_is_not() {
        let text = load(TEXT, 0, 0x10000, 0x1000, 0x1000);
        let touching = load(DATA, 0x1000, 0x11000, 0x100, 0x100);
        assert!(plan(&exec(0x10000, &[text, touching], 0x2000), USER, 1024).is_ok());
        let overlapping = load(DATA, 0xfff, 0x10fff, 0x100, 0x100);
        assert_eq!(
            err(&exec(0x10000, &[text, overlapping], 0x2000)),
            ElfError::Overlaps
        );
    }

    #[test]
    fn too_many_pages_is_rejected_before_allocating() {
        let elf = text_data_bss();
        assert!(plan(&elf, USER, 5).is_ok());
        assert_eq!(plan(&elf, USER, 4), Err(ElfError::TooBig));
        let huge = exec(
            0x10000,
            &[load(TEXT, 0, 0x10000, 0x1000, USER.end - 0x10000)],
            0x1000,
        );
        assert_eq!(plan(&huge, USER, 1 << 20), Err(ElfError::TooBig));
    }

    #[test]
    fn entry_must_be_in_an_executable_page() {
        let segs = [
            load(TEXT, 0, 0x10000, 0x1800, 0x1800),
            load(DATA, 0x1900, 0x12900, 0x200, 0x1800),
        ];
        for entry in [0x12900, 0x14100, 0x20000, 0, u64::MAX] {
            assert_eq!(
                err(&exec(entry, &segs, 0x1b00)),
                ElfError::EntryNotExecutable,
                "{entry:#x}"
            );
        }
    }

    #[test]
    fn unaligned_input_plans_the_same() {
        let elf = text_data_bss();
        let mut shifted = vec![0u8; elf.len() + 1];
        shifted[1..].copy_from_slice(&elf);
        assert_eq!(plan(&shifted[1..], USER, 1024), plan(&elf, USER, 1024));
    }

    #[test]
    fn page_tables_count_distinct_gigabytes_and_megabytes() {
        assert_eq!(page_tables_needed([]), 0);
        assert_eq!(page_tables_needed([0x10000, 0x11000, 0x10000]), 2);
        assert_eq!(page_tables_needed([0x10000, 0x20_0000]), 3);
        assert_eq!(page_tables_needed([0x4000_0000, 0x10000]), 4);
        let p = plan(&text_data_bss(), USER, 1024).unwrap();
        assert_eq!(page_tables_needed(p.pages.iter().map(|pg| pg.vaddr)), 2);
    }

    /// xorshift64*: deterministic, good enough to scatter mutations.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// What must hold of any plan, whatever the input.
    fn check_invariants(p: &LoadPlan, elf: &[u8], max_pages: usize) {
        assert!(p.pages.len() <= max_pages);
        assert!(p.pages.windows(2).all(|w| w[0].vaddr < w[1].vaddr));
        for page in &p.pages {
            assert_eq!(page.vaddr % PAGE_SIZE, 0);
            assert!(USER.contains(&page.vaddr));
            for c in &page.copies {
                assert!(c.page_offset + c.len <= PAGE_SIZE as usize);
                assert!(c.file_offset + c.len <= elf.len());
            }
        }
    }

    #[test]
    fn never_panics_on_mutated_or_truncated_input() {
        let tls = Seg {
            kind: elf::PT_TLS,
            flags: elf::PF_R,
            offset: 0x1900,
            vaddr: 0x12900,
            filesz: 0x10,
            memsz: 0x40,
            align: 8,
        };
        let base = exec(
            0x10100,
            &[
                load(TEXT, 0, 0x10000, 0x1800, 0x1800),
                load(DATA, 0x1900, 0x12900, 0x200, 0x1800),
                tls,
            ],
            0x1b00,
        );
        for len in 0..=base.len() {
            let _ = plan(&base[..len], USER, 1024);
        }

        let headers = 64 + 3 * 56;
        let interesting = [
            0,
            1,
            0xfff,
            0x1000,
            0x1001,
            0x10000,
            USER.end,
            1 << 63,
            u64::MAX - 0xfff,
            u64::MAX,
        ];
        let mut rng = Rng(0x5eed_1234_abcd_0042);
        let mut ok = 0;
        for _ in 0..20_000 {
            let mut elf = base.clone();
            for _ in 0..1 + rng.below(4) {
                match rng.below(3) {
                    0 => {
                        let at = rng.below(headers);
                        elf[at] = rng.next() as u8;
                    }
                    1 => {
                        let at = rng.below(headers - 7);
                        let v = match rng.below(2) {
                            0 => interesting[rng.below(interesting.len())],
                            _ => rng.next(),
                        };
                        elf[at..at + 8].copy_from_slice(&v.to_le_bytes());
                    }
                    _ => {
                        let at = rng.below(elf.len());
                        elf[at] ^= 1 << rng.below(8);
                    }
                }
            }
            if rng.below(4) == 0 {
                let len = rng.below(elf.len() + 1);
                elf.truncate(len);
            }
            let max_pages = 1 + rng.below(1024);
            if let Ok(p) = plan(&elf, USER, max_pages) {
                check_invariants(&p, &elf, max_pages);
                ok += 1;
            }
        }
        // The mutations should not all be fatal, or the valid paths go unexercised.
        assert!(ok > 100, "only {ok} mutants planned");
    }
}
