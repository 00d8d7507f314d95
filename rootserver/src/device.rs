//! Frames of device memory at a chosen physical address.

use crate::boot::Boot;
use crate::Taskman;
use sel4::{Error, Frame, Untyped};
use sel4_sys::{object, size_bits};

/// Creates a frame for the device page at `paddr` from the device untyped
/// that covers it.
///
/// Retype places objects one after another, each aligned to its size, so
/// the untyped's watermark is first moved to `paddr` with padding
/// untypeds (`policy::padding_bits`). The padding is deleted once the
/// frame exists; the untyped keeps its watermark because the frame is
/// still its child. The watermark only moves forward: a page below one
/// taken before from the same untyped cannot be had (`InvalidArgument`).
pub fn frame_at(tm: &mut Taskman, paddr: u64) -> Result<Frame, Error> {
    let (untyped, base, _) = tm
        .boot
        .device_untyped(paddr)
        .ok_or(Error::InvalidArgument { which: paddr })?;
    let mark = tm.device_marks.get(&untyped.0).copied().unwrap_or(base);
    if paddr < mark {
        return Err(Error::InvalidArgument { which: paddr });
    }
    let mut padding = alloc::vec::Vec::new();
    let mut result = Ok(());
    for bit in taskman_core::policy::padding_bits(mark, paddr) {
        match tm.objects.create_in(untyped, object::UNTYPED, bit as usize) {
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
    let frame = frame?;
    tm.device_marks
        .insert(untyped.0, paddr + (1 << size_bits::PAGE));
    Ok(Frame(frame))
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
