//! Frames of device memory at a chosen physical address.

use crate::boot::Boot;
use crate::Taskman;
use sel4::{Error, Frame, Untyped};
use sel4_sys::{object, size_bits};

/// Creates a frame for the device page at `paddr` from the device untyped
/// that covers it.
///
/// Retype places objects one after another, each aligned to its size, so
/// the watermark is first moved to `paddr` by creating one padding untyped
/// per set bit of the offset (largest first, so each lands aligned). The
/// padding is deleted once the frame exists; the untyped keeps its
/// watermark because the frame is still its child.
pub fn frame_at(tm: &mut Taskman, paddr: u64) -> Result<Frame, Error> {
    let (untyped, base, bits) = tm
        .boot
        .device_untyped(paddr)
        .ok_or(Error::InvalidArgument { which: paddr })?;
    let offset = paddr - base;
    let mut padding = alloc::vec::Vec::new();
    let mut result = Ok(());
    for bit in (size_bits::PAGE..bits as usize)
        .rev()
        .filter(|b| offset & (1 << b) != 0)
    {
        match tm.objects.create_in(untyped, object::UNTYPED, bit) {
            Ok(slot) => padding.push(slot),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let frame = result.and_then(|()| tm.objects.create_in(untyped, object::PAGE_4K, 0));
    for slot in padding {
        tm.objects.destroy(slot)?;
    }
    frame.map(Frame)
}

impl Boot {
    /// The physical address of the first device the device tree lists as
    /// compatible with one of `compatible`.
    pub fn device_address(&self, compatible: &[&str]) -> Option<u64> {
        let node = self.fdt.as_ref()?.find_compatible(compatible)?;
        let reg = node.reg()?.next()?;
        Some(reg.starting_address as u64)
    }

    /// The first interrupt of the first device the device tree lists as
    /// compatible with one of `compatible`.
    pub fn device_irq(&self, compatible: &[&str]) -> Option<u64> {
        let node = self.fdt.as_ref()?.find_compatible(compatible)?;
        node.interrupts()?.next().map(|i| i as u64)
    }

    /// The frequency of the `time` counter (`/cpus/timebase-frequency`).
    pub fn timebase_hz(&self) -> Option<u64> {
        let cpus = self.fdt.as_ref()?.find_node("/cpus")?;
        cpus.property("timebase-frequency")?
            .as_usize()
            .map(|hz| hz as u64)
    }

    /// The device untyped that covers `paddr`, with its base and size bits.
    pub fn device_untyped(&self, paddr: u64) -> Option<(Untyped, u64, u8)> {
        self.facts
            .untypeds
            .iter()
            .find(|u| u.is_device && u.paddr <= paddr && paddr < u.end())
            .map(|u| (Untyped(u.slot), u.paddr, u.size_bits))
    }
}
