//! What taskman writes in a new thread's thread page (see
//! `qsoe_abi::layout`): from the top down, the IPC buffer (left to the
//! kernel), ThreadControl with the IPC buffer's address, the TLS block,
//! and below them the top of the stack.

use crate::elf_plan::TlsTemplate;
use qsoe_abi::layout::{ThreadArea, IPC_BUFFER_OFFSET, MAX_THREADS, THREAD_CONTROL_BYTES};

const PAGE: u64 = 0x1000;

/// Where `tp` points within every thread page of a program with TLS
/// template `tls`: the TLS block ends at or below the IPC buffer, aligned
/// as the program asks, with ThreadControl just below it. `None` if the
/// block does not fit.
pub fn tp_offset(tls: Option<TlsTemplate>) -> Option<u64> {
    let (size, align) = tls.map_or((0, 16), |t| (t.mem_size as u64, (t.align as u64).max(16)));
    if !align.is_power_of_two() {
        return None;
    }
    let tp = IPC_BUFFER_OFFSET.checked_sub(size)? & !(align - 1);
    (tp >= THREAD_CONTROL_BYTES).then_some(tp)
}

/// Where a thread's stack starts (its first push goes below): just under
/// its ThreadControl, 16-byte aligned as the RISC-V ABI wants.
pub fn stack_top(area: &ThreadArea, tp_offset: u64) -> u64 {
    (area.thread_page + tp_offset - THREAD_CONTROL_BYTES) & !15
}

/// Writes the thread's ThreadControl and TLS image into its thread page
/// `page` (fresh, so all zeros), for a thread whose page is `area`'s.
/// `tls_image` is the TLS template's file bytes.
pub fn write(page: &mut [u8], area: &ThreadArea, tp_offset: u64, tls_image: &[u8]) {
    let tp = tp_offset as usize;
    let control = tp - THREAD_CONTROL_BYTES as usize;
    page[control..control + 8].copy_from_slice(&area.ipc_buffer().to_le_bytes());
    page[tp..tp + tls_image.len()].copy_from_slice(tls_image);
}

/// The stack page `addr` lies in, if it lies in the stack of a thread
/// after the first: that thread's index and the page's position from
/// the bottom of its stack. Those stacks are mapped on first touch.
pub fn later_stack_page(addr: u64) -> Option<(usize, u64)> {
    (0..MAX_THREADS).find_map(|index| {
        let area = ThreadArea::of(index);
        let stack = area.stack_bottom()..area.thread_page;
        stack
            .contains(&addr)
            .then(|| (index, (addr - area.stack_bottom()) / PAGE))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_stacks_are_found_page_by_page() {
        let a = ThreadArea::of(2);
        assert_eq!(later_stack_page(a.stack_bottom()), Some((2, 0)));
        assert_eq!(
            later_stack_page(a.thread_page - 1),
            Some((2, a.stack_pages - 1))
        );
        assert_eq!(
            later_stack_page(a.thread_page),
            None,
            "the thread page is mapped"
        );
        assert_eq!(
            later_stack_page(a.stack_bottom() - 1),
            None,
            "the guard page"
        );
        let first = ThreadArea::FIRST;
        assert_eq!(later_stack_page(first.thread_page - 1), None);
        let last = ThreadArea::of(MAX_THREADS - 1);
        assert_eq!(
            later_stack_page(last.stack_bottom()).map(|p| p.0),
            Some(MAX_THREADS - 1)
        );
    }

    fn tls(mem_size: usize, align: usize) -> Option<TlsTemplate> {
        Some(TlsTemplate {
            file_offset: 0,
            file_size: 0,
            mem_size,
            align,
        })
    }

    #[test]
    fn tls_ends_below_the_ipc_buffer_and_control_below_tp() {
        for t in [None, tls(8, 8), tls(100, 64), tls(1000, 16)] {
            let tp = tp_offset(t).unwrap();
            let (size, align) = t.map_or((0, 16), |t| (t.mem_size as u64, t.align as u64));
            assert!(tp + size <= IPC_BUFFER_OFFSET);
            assert_eq!(tp % align.max(16), 0);
            for area in [ThreadArea::FIRST, ThreadArea::of(MAX_THREADS - 1)] {
                let top = stack_top(&area, tp);
                assert_eq!(top % 16, 0);
                assert!(top + THREAD_CONTROL_BYTES <= area.thread_page + tp);
                assert!(top > area.thread_page, "the stack starts in the page");
            }
        }
        assert_eq!(tp_offset(tls(IPC_BUFFER_OFFSET as usize, 16)), None);
        assert_eq!(tp_offset(tls(8, 24)), None);
    }

    #[test]
    fn control_names_the_ipc_buffer_and_tls_follows_tp() {
        let area = ThreadArea::of(3);
        let tp = tp_offset(tls(16, 16)).unwrap();
        let mut page = [0u8; 4096];
        write(&mut page, &area, tp, &[7, 7, 7]);
        let control = (tp - THREAD_CONTROL_BYTES) as usize;
        let ipc = u64::from_le_bytes(page[control..control + 8].try_into().unwrap());
        assert_eq!(ipc, area.ipc_buffer());
        assert_eq!(page[tp as usize..tp as usize + 4], [7, 7, 7, 0]);
    }
}
