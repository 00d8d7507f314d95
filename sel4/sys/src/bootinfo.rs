use crate::{consts::BOOTINFO_FRAME_SIZE, IpcBuffer, Word};
use sel4_config::kernel::MAX_NUM_BOOTINFO_UNTYPED_CAPS;

/// A half-open range `[start, end)` of slots in the initial CNode.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRegion {
    pub start: Word,
    pub end: Word,
}

impl SlotRegion {
    pub const fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    pub fn contains(&self, slot: Word) -> bool {
        (self.start..self.end).contains(&slot)
    }
}

/// One untyped capability described in BootInfo.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UntypedDesc {
    pub paddr: Word,
    pub size_bits: u8,
    pub is_device: u8,
    pub padding: [u8; 6],
}

impl UntypedDesc {
    pub const fn size(&self) -> u64 {
        1u64 << self.size_bits
    }
}

/// The BootInfo page the kernel hands the initial thread (MCS layout: the
/// SchedControl region comes before the untyped region).
#[repr(C)]
pub struct BootInfo {
    pub extra_len: Word,
    pub node_id: Word,
    pub num_nodes: Word,
    pub num_io_pt_levels: Word,
    pub ipc_buffer: *mut IpcBuffer,
    pub empty: SlotRegion,
    pub shared_frames: SlotRegion,
    pub user_image_frames: SlotRegion,
    pub user_image_paging: SlotRegion,
    pub io_space_caps: SlotRegion,
    pub extra_bi_pages: SlotRegion,
    pub init_thread_cnode_size_bits: Word,
    pub init_thread_domain: Word,
    pub sched_control: SlotRegion,
    pub untyped: SlotRegion,
    pub untyped_list: [UntypedDesc; MAX_NUM_BOOTINFO_UNTYPED_CAPS],
}

impl BootInfo {
    /// The untyped descriptors that are in use, paired with their slots.
    pub fn untypeds(&self) -> impl Iterator<Item = (Word, &UntypedDesc)> + '_ {
        (self.untyped.start..self.untyped.end).zip(self.untyped_list.iter())
    }

    /// The extra BootInfo that follows the BootInfo frame.
    ///
    /// # Safety
    /// `self` must be the kernel's BootInfo, mapped with its extra pages.
    pub unsafe fn extra(&self) -> &[u8] {
        let base = (self as *const Self as *const u8).add(BOOTINFO_FRAME_SIZE);
        core::slice::from_raw_parts(base, self.extra_len as usize)
    }
}

/// Header of each chunk in the extra BootInfo.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BootInfoHeader {
    pub id: Word,
    pub len: Word,
}

/// Chunk id of the device tree in the extra BootInfo.
pub const BOOTINFO_HEADER_FDT: Word = 6;

/// Finds the chunk with `id` in the extra BootInfo bytes; its payload
/// follows the header. Returns `None` for malformed or missing chunks.
pub fn find_extra_chunk(extra: &[u8], id: Word) -> Option<&[u8]> {
    let header_len = core::mem::size_of::<BootInfoHeader>();
    let mut at = 0usize;
    while at + header_len <= extra.len() {
        let word = |o: usize| -> Word {
            Word::from_le_bytes(extra[at + o..at + o + 8].try_into().unwrap())
        };
        let (chunk_id, len) = (word(0), word(8) as usize);
        if len < header_len || at.checked_add(len)? > extra.len() {
            return None;
        }
        if chunk_id == id {
            return Some(&extra[at + header_len..at + len]);
        }
        at += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: u64, payload: &[u8]) -> std::vec::Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend(((16 + payload.len()) as u64).to_le_bytes());
        v.extend(payload);
        v
    }

    #[test]
    fn finds_fdt_after_padding() {
        let mut extra = chunk(0, &[0; 8]);
        extra.extend(chunk(BOOTINFO_HEADER_FDT, b"dtb!"));
        assert_eq!(
            find_extra_chunk(&extra, BOOTINFO_HEADER_FDT),
            Some(&b"dtb!"[..])
        );
    }

    #[test]
    fn rejects_truncated_and_zero_length_chunks() {
        let mut extra = chunk(BOOTINFO_HEADER_FDT, b"dtb!");
        extra.truncate(18);
        assert_eq!(find_extra_chunk(&extra, BOOTINFO_HEADER_FDT), None);
        let zero = [0u8; 32];
        assert_eq!(find_extra_chunk(&zero, BOOTINFO_HEADER_FDT), None);
    }
}
