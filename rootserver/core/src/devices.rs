//! The devices the manifest lets processes drive, and the part of each
//! process's address space their registers are mapped into.
//!
//! The table's order is the grants file's device order
//! (`qsoe_abi::grants::DeviceNames`), so a grant's `Devices` bits index
//! it. Taskman fills each entry from the device tree at boot; a device the
//! tree lacks, or one taskman keeps for itself, is an empty entry and
//! grants nothing.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EINVAL, ENOMEM, EPERM};
use qsoe_abi::grants::Devices;
use qsoe_abi::layout::{DEVICE_AREA, DEVICE_AREA_PAGES};

const PAGE: u64 = 0x1000;

/// The most pages of one register window taskman makes frames for; a
/// bigger window is granted only this far.
pub const MAX_REGION_PAGES: u64 = 64;

/// One grantable device: its register windows and interrupts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    /// Physical address and size of each register window.
    pub regions: Vec<(u64, u64)>,
    pub irqs: Vec<u32>,
}

impl Device {
    /// The pages of its register windows taskman makes frames for.
    pub fn pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.regions.iter().flat_map(|&(base, size)| {
            let first = base & !(PAGE - 1);
            let end = base.saturating_add(size.max(1)).next_multiple_of(PAGE);
            let count = ((end - first) / PAGE).min(MAX_REGION_PAGES);
            (0..count).map(move |i| first + i * PAGE)
        })
    }
}

/// The grantable devices, by their bit in `Devices`.
#[derive(Clone, Debug, Default)]
pub struct DeviceTable {
    devices: Vec<Option<Device>>,
}

impl DeviceTable {
    pub fn new(devices: Vec<Option<Device>>) -> Self {
        Self { devices }
    }

    pub fn get(&self, index: usize) -> Option<&Device> {
        self.devices.get(index)?.as_ref()
    }

    fn granted(&self, granted: Devices) -> impl Iterator<Item = &Device> {
        self.devices
            .iter()
            .enumerate()
            .filter(move |(i, _)| granted.contains(*i))
            .filter_map(|(_, d)| d.as_ref())
    }

    /// Every page taskman makes a frame for, in address order, once.
    pub fn all_pages(&self) -> Vec<u64> {
        let mut pages: Vec<u64> = self
            .devices
            .iter()
            .flatten()
            .flat_map(Device::pages)
            .collect();
        pages.sort_unstable();
        pages.dedup();
        pages
    }

    /// The first page and the page count of `[paddr, paddr + len)`, if it
    /// lies within the frames of one granted device (`EPERM` if not).
    pub fn pages_for(&self, granted: Devices, paddr: u64, len: u64) -> Result<(u64, u64), Errno> {
        let end = paddr.checked_add(len).filter(|_| len > 0).ok_or(EINVAL)?;
        let first = paddr & !(PAGE - 1);
        let count = (end.next_multiple_of(PAGE) - first) / PAGE;
        let covered = |d: &Device| (0..count).all(|i| d.pages().any(|p| p == first + i * PAGE));
        if self.granted(granted).any(covered) {
            Ok((first, count))
        } else {
            Err(EPERM)
        }
    }

    /// Whether a granted device has interrupt `irq`.
    pub fn irq_granted(&self, granted: Devices, irq: u32) -> bool {
        self.granted(granted).any(|d| d.irqs.contains(&irq))
    }
}

/// Where a process's device mappings lie in `DEVICE_AREA`: first fit, by
/// page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceArea {
    /// First page index to page count, of each mapping.
    maps: BTreeMap<u64, u64>,
}

impl DeviceArea {
    /// Mappings one process may hold at once.
    pub const MAX_MAPS: usize = 16;

    /// Takes `count` pages; answers their address (`ENOMEM` if they do not
    /// fit or the process holds `MAX_MAPS`).
    pub fn take(&mut self, count: u64) -> Result<u64, Errno> {
        if self.maps.len() >= Self::MAX_MAPS || count == 0 {
            return Err(ENOMEM);
        }
        let mut at = 0;
        for (&start, &len) in &self.maps {
            if start - at >= count {
                break;
            }
            at = start + len;
        }
        if at + count > DEVICE_AREA_PAGES {
            return Err(ENOMEM);
        }
        self.maps.insert(at, count);
        Ok(DEVICE_AREA + at * PAGE)
    }

    /// The page count of the mapping at `vaddr`, given back (`EINVAL` if
    /// no mapping starts there).
    pub fn give_back(&mut self, vaddr: u64) -> Result<u64, Errno> {
        let index = vaddr
            .checked_sub(DEVICE_AREA)
            .filter(|o| o % PAGE == 0)
            .ok_or(EINVAL)?
            / PAGE;
        self.maps.remove(&index).ok_or(EINVAL)
    }

    /// Whether a mapping would fit.
    pub fn check(&self, count: u64) -> Result<(), Errno> {
        self.clone().take(count).map(drop)
    }

    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> DeviceTable {
        DeviceTable::new(alloc::vec![
            Some(Device {
                regions: alloc::vec![(0x1000_0000, 0x100)],
                irqs: alloc::vec![10],
            }),
            None,
            Some(Device {
                regions: alloc::vec![(0x1000_1000, 0x2000)],
                irqs: alloc::vec![1, 2],
            }),
        ])
    }

    #[test]
    fn only_granted_windows_map() {
        let t = table();
        let uart = Devices::from_bits(0b001);
        assert_eq!(t.pages_for(uart, 0x1000_0000, 0x100), Ok((0x1000_0000, 1)));
        assert_eq!(t.pages_for(uart, 0x1000_0010, 8), Ok((0x1000_0000, 1)));
        assert_eq!(t.pages_for(uart, 0x1000_0000, 0x1001), Err(EPERM));
        assert_eq!(t.pages_for(uart, 0x1000_1000, 8), Err(EPERM));
        assert_eq!(
            t.pages_for(Devices::ALL, 0x1000_1800, 0x1000),
            Ok((0x1000_1000, 2))
        );
        assert_eq!(t.pages_for(Devices::ALL, 0x1000_1000, 0), Err(EINVAL));
        assert_eq!(t.pages_for(Devices::ALL, u64::MAX, 2), Err(EINVAL));
        assert!(t.irq_granted(uart, 10) && !t.irq_granted(uart, 1));
        assert!(t.irq_granted(Devices::ALL, 2));
        assert!(!t.irq_granted(Devices::from_bits(0b010), 10));
        assert_eq!(t.all_pages(), [0x1000_0000, 0x1000_1000, 0x1000_2000]);
    }

    #[test]
    fn big_windows_are_capped() {
        let d = Device {
            regions: alloc::vec![(0x3000_0000, 0x1000_0000)],
            irqs: alloc::vec![],
        };
        assert_eq!(d.pages().count() as u64, MAX_REGION_PAGES);
    }

    #[test]
    fn the_area_is_first_fit_and_given_back() {
        let mut a = DeviceArea::default();
        let x = a.take(2).unwrap();
        let y = a.take(1).unwrap();
        assert_eq!((x, y), (DEVICE_AREA, DEVICE_AREA + 2 * PAGE));
        assert_eq!(a.give_back(x), Ok(2));
        assert_eq!(a.give_back(x), Err(EINVAL));
        assert_eq!(a.take(1), Ok(DEVICE_AREA));
        assert_eq!(a.take(DEVICE_AREA_PAGES), Err(ENOMEM));
        assert_eq!(a.give_back(DEVICE_AREA + 1), Err(EINVAL));
        let mut full = DeviceArea::default();
        for _ in 0..DeviceArea::MAX_MAPS {
            full.take(1).unwrap();
        }
        assert_eq!(full.check(1), Err(ENOMEM));
    }
}
