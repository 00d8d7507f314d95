//! Pages a process is given on first touch. Their frames are retyped at
//! spawn with everything else, so the memory is charged up front and a
//! touch can never fail for want of it; only the mapping waits until the
//! process first faults on the page. A program's zero-filled pages (its
//! `.bss`) and the part of its stack below the initial stack image are
//! mapped this way: most processes never touch most of them, and every
//! mapping costs a TLB fence on every other core.

use crate::elf_plan::{LoadPlan, PAGE_SIZE};
use crate::spawn_plan::SpawnPlan;
use alloc::vec::Vec;
use qsoe_abi::layout::ThreadArea;

/// Pages of one run at most: its mapped set is one word.
const RUN_PAGES: u64 = 64;

/// Consecutive pages backed by consecutive frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    first_vaddr: u64,
    /// The first page's frame, as an offset among the process's frame slots.
    first_frame: u64,
    pages: u64,
    /// Bit `i` set: page `i` is mapped.
    mapped: u64,
}

/// A page to map for a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemandPage {
    pub vaddr: u64,
    /// Its frame, as an offset among the process's frame slots.
    pub frame: u64,
    run: usize,
}

/// What a data fault on a page mapped on first touch asks of taskman.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstTouch {
    /// Map the page; the access then succeeds.
    Map(DemandPage),
    /// Nothing: the page was mapped (read-write) after the access faulted,
    /// for another thread of the process that touched it first, so the
    /// fault is stale and retrying the access succeeds.
    Mapped,
}

/// Every page of a process that is mapped on first touch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemandPages {
    runs: Vec<Run>,
}

impl DemandPages {
    /// The pages of `plan` left for first touch when the initial stack
    /// image starts at `image_bottom`: writable, non-executable program
    /// pages with nothing to copy, and stack pages wholly below the image.
    pub fn of(plan: &SpawnPlan, load: &LoadPlan, image_bottom: u64) -> Self {
        let stack = ThreadArea::FIRST.stack_bottom()..ThreadArea::FIRST.thread_page;
        let mut pages = Self::default();
        for (i, &vaddr) in plan.page_vaddrs.iter().enumerate() {
            let lazy = match load.pages.get(i) {
                Some(p) => p.perms.write && !p.perms.execute && p.copies.is_empty(),
                None => stack.contains(&vaddr) && vaddr + PAGE_SIZE <= image_bottom,
            };
            if lazy {
                pages.push(vaddr, plan.frame_slots[i]);
            }
        }
        pages
    }

    fn push(&mut self, vaddr: u64, frame: u64) {
        if let Some(r) = self.runs.last_mut() {
            let next = r.first_vaddr + r.pages * PAGE_SIZE;
            if next == vaddr && r.first_frame + r.pages == frame && r.pages < RUN_PAGES {
                r.pages += 1;
                return;
            }
        }
        self.runs.push(Run {
            first_vaddr: vaddr,
            first_frame: frame,
            pages: 1,
            mapped: 0,
        });
    }

    /// Whether `page_vaddr` (page aligned) is left for first touch, mapped
    /// or not.
    pub fn contains(&self, page_vaddr: u64) -> bool {
        self.find(page_vaddr).is_some()
    }

    fn find(&self, addr: u64) -> Option<(usize, u64)> {
        let i = self
            .runs
            .partition_point(|r| r.first_vaddr + r.pages * PAGE_SIZE <= addr);
        let r = self.runs.get(i)?;
        (addr >= r.first_vaddr).then(|| (i, (addr - r.first_vaddr) / PAGE_SIZE))
    }

    /// What a data (not instruction) fault at `addr` asks for: `None`
    /// means the fault is real (`addr` is none of these pages).
    pub fn for_fault(&self, addr: u64) -> Option<FirstTouch> {
        let (run, page) = self.find(addr)?;
        let r = &self.runs[run];
        Some(if r.mapped & (1 << page) == 0 {
            FirstTouch::Map(DemandPage {
                vaddr: r.first_vaddr + page * PAGE_SIZE,
                frame: r.first_frame + page,
                run,
            })
        } else {
            FirstTouch::Mapped
        })
    }

    /// Records that `page` is now mapped.
    pub fn mapped(&mut self, page: DemandPage) {
        let r = &mut self.runs[page.run];
        r.mapped |= 1 << ((page.vaddr - r.first_vaddr) / PAGE_SIZE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf_plan::{PageCopy, PagePlan, Perms};
    use crate::spawn_plan;
    use qsoe_abi::layout;

    fn page(vaddr: u64, write: bool, execute: bool, copies: bool) -> PagePlan {
        PagePlan {
            vaddr,
            perms: Perms {
                read: true,
                write,
                execute,
            },
            copies: if copies {
                alloc::vec![PageCopy {
                    page_offset: 0,
                    file_offset: 0,
                    len: 8,
                }]
            } else {
                Vec::new()
            },
            zeroed: false,
        }
    }

    /// Text, data with contents, then two pages of `.bss`.
    fn program() -> LoadPlan {
        LoadPlan {
            entry: 0x10000,
            pages: alloc::vec![
                page(0x10000, false, true, true),
                page(0x11000, true, false, true),
                page(0x12000, true, false, false),
                page(0x13000, true, false, false),
            ],
            phdr_vaddr: None,
            phent: 56,
            phnum: 1,
            tls: None,
        }
    }

    #[test]
    fn bss_and_the_stack_below_its_image_wait_for_a_touch() {
        let load = program();
        let plan = spawn_plan::plan(&load, None);
        let thread_page = ThreadArea::FIRST.thread_page;
        // An image within the thread page.
        let d = DemandPages::of(&plan, &load, thread_page + 100);
        assert!(!d.contains(0x10000) && !d.contains(0x11000));
        assert!(d.contains(0x12000) && d.contains(0x13000));
        assert!(!d.contains(thread_page), "the thread page is filled");
        let top = thread_page - PAGE_SIZE;
        assert!(d.contains(top));
        assert!(d.contains(ThreadArea::FIRST.stack_bottom()));
        // An image reaching into the stack page below: that one is filled.
        let d = DemandPages::of(&plan, &load, thread_page - 1);
        assert!(!d.contains(top) && d.contains(top - PAGE_SIZE));
    }

    #[test]
    fn a_page_is_given_once() {
        let load = program();
        let plan = spawn_plan::plan(&load, None);
        let mut d = DemandPages::of(&plan, &load, ThreadArea::FIRST.thread_page);
        let map = |t: Option<FirstTouch>| match t {
            Some(FirstTouch::Map(p)) => Some(p),
            _ => None,
        };
        let p = map(d.for_fault(0x13abc)).expect("bss page");
        assert_eq!((p.vaddr, p.frame), (0x13000, 3));
        d.mapped(p);
        assert_eq!(d.for_fault(0x13000), Some(FirstTouch::Mapped));
        assert_eq!(map(d.for_fault(0x12fff)).map(|p| p.frame), Some(2));
        assert_eq!(d.for_fault(0x11000), None);
        assert_eq!(d.for_fault(0), None);
        assert_eq!(d.for_fault(u64::MAX), None);
        let below = ThreadArea::FIRST.thread_page - 2 * PAGE_SIZE;
        let stack = map(d.for_fault(below)).expect("stack");
        assert_eq!(
            stack.frame,
            load.pages.len() as u64 + layout::STACK_PAGES - 2
        );
    }

    #[test]
    fn long_runs_split_at_one_word() {
        let mut d = DemandPages::default();
        for i in 0..200 {
            d.push(0x100000 + i * PAGE_SIZE, i);
        }
        assert_eq!(d.runs.len(), 4);
        for i in [0, 63, 64, 199] {
            let Some(FirstTouch::Map(p)) = d.for_fault(0x100000 + i * PAGE_SIZE) else {
                panic!("page {i} is not lazy");
            };
            assert_eq!(p.frame, i);
            d.mapped(p);
            assert_eq!(
                d.for_fault(0x100000 + i * PAGE_SIZE),
                Some(FirstTouch::Mapped)
            );
        }
        assert!(matches!(
            d.for_fault(0x100000 + PAGE_SIZE),
            Some(FirstTouch::Map(_))
        ));
        assert_eq!(d.for_fault(0x100000 + 200 * PAGE_SIZE), None);
    }
}
