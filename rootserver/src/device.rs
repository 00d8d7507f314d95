//! Devices: frames of device memory at chosen physical addresses, the
//! devices the manifest lets processes drive, and `mmap_device_memory`.
//!
//! At boot taskman finds each grantable device (`qsoe_abi::grants`) in
//! the device tree and makes a frame for every page of its registers, in
//! address order (`frame_at` only moves forward through a device
//! untyped). A process granted the device gets copies of those frames
//! mapped in its device area; the copies, and the page table under them,
//! are taskman's, and go when the mapping or the process does.

use crate::boot::Boot;
use crate::objects::Objects;
use crate::Taskman;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EINVAL, EIO, ENODEV, ENOMEM, ESRCH};
use qsoe_abi::grants::{parse_device, DeviceNames, GRANTS_PATH};
use qsoe_abi::mman::PROT_WRITE;
use qsoe_abi::wire::NO_IRQ;
use qsoe_abi::Pid;
use sel4::{Error, Frame, PageTable, Untyped, VSpace};
use sel4_root_task::println;
use sel4_sys::{object, size_bits, vm_attributes, CPtr, CapRights, Word};
use taskman_core::devices::{Device, DeviceArea, DeviceTable};
use taskman_core::spawn_plan::object_slot as obj;

const PAGE: u64 = 1 << size_bits::PAGE;

/// A process's device mappings.
#[derive(Default)]
pub struct DeviceMaps {
    area: DeviceArea,
    /// Each mapping's address and taskman's copies of its frames.
    maps: Vec<(u64, Vec<CPtr>)>,
    /// The page table under the device area, made at the first mapping.
    table: Option<CPtr>,
}

/// Finds the grantable devices and makes their frames. A device the tree
/// lacks, one whose frames cannot be made, or one with a page taskman
/// keeps (`keep_frame`) grants nothing.
pub fn start(tm: &mut Taskman) {
    let grants = tm.archive.find(GRANTS_PATH).unwrap_or(&[]);
    let names = DeviceNames::of(grants);
    let wanted: Vec<Option<(alloc::string::String, u32)>> = names
        .as_slice()
        .iter()
        .map(|f| parse_device(f).map(|(c, i)| (c.into(), i)))
        .collect();
    let mut devices: Vec<Option<Device>> = wanted
        .iter()
        .map(|w| {
            let (compatible, index) = w.as_ref()?;
            let found = tm.boot.find_device(compatible, *index);
            if found.is_none() {
                println!("taskman: no device {compatible} #{index} to grant");
            }
            found.filter(|d| {
                let kept = d.pages().any(|p| tm.kept_pages.contains(&p));
                if kept {
                    println!("taskman: device {compatible} #{index} is taskman's own");
                }
                !kept
            })
        })
        .collect();
    for page in DeviceTable::new(devices.clone()).all_pages() {
        if tm.device_frames.contains_key(&page) {
            continue;
        }
        if let Err(e) = frame_at(tm, page) {
            println!("taskman: no frame for device page {page:#x} ({e:?})");
            for d in devices.iter_mut() {
                if d.as_ref().is_some_and(|d| d.pages().any(|p| p == page)) {
                    *d = None;
                }
            }
        }
    }
    tm.devices = DeviceTable::new(devices);
}

/// The frame at `paddr` (`frame_at`), which no process may be granted.
pub fn keep_frame(tm: &mut Taskman, paddr: u64) -> Result<Frame, Error> {
    let frame = frame_at(tm, paddr)?;
    tm.kept_pages.push(paddr);
    Ok(frame)
}

/// Answers the first register window and interrupt of the `index`-th
/// grantable device compatible with `compatible`.
pub fn find(tm: &Taskman, compatible: &[u8], index: u32) -> Result<[Word; 3], Errno> {
    let grants = tm.archive.find(GRANTS_PATH).unwrap_or(&[]);
    let names = DeviceNames::of(grants);
    let bit = names
        .as_slice()
        .iter()
        .position(|f| {
            parse_device(f) == Some((core::str::from_utf8(compatible).unwrap_or(""), index))
        })
        .ok_or(ENODEV)?;
    let device = tm.devices.get(bit).ok_or(ENODEV)?;
    let &(paddr, size) = device.regions.first().ok_or(ENODEV)?;
    let irq = device.irqs.first().map_or(NO_IRQ, |&i| i as Word);
    Ok([paddr, size, irq])
}

/// `mmap_device_memory` for `pid`: maps the pages of `[paddr, paddr +
/// len)`, which must lie in a device it is granted; answers the address
/// of `paddr` there.
pub fn map(tm: &mut Taskman, pid: Pid, paddr: u64, len: u64, prot: u32) -> Result<u64, Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let (first, count) = tm.devices.pages_for(p.grant.devices, paddr, len)?;
    p.devices.area.check(count)?;
    let frames: Vec<Frame> = (0..count)
        .map(|i| tm.device_frames.get(&(first + i * PAGE)).copied())
        .collect::<Option<_>>()
        .ok_or(EIO)?;
    let rights = if prot & PROT_WRITE != 0 {
        CapRights::READ_WRITE
    } else {
        CapRights::READ
    };
    let (processes, objects) = (&mut tm.processes, &mut tm.objects);
    let p = processes.get_mut(pid).ok_or(ESRCH)?;
    let vaddr = p.devices.area.take(count)?;
    let vspace = VSpace(p.object(obj::VSPACE));
    let mut copies = Vec::new();
    let mut mapped = Ok(());
    for (i, frame) in frames.iter().enumerate() {
        mapped = copy_of(objects, *frame, rights).and_then(|copy| {
            copies.push(copy);
            map_page(
                objects,
                &mut p.devices,
                vspace,
                Frame(copy),
                vaddr + i as u64 * PAGE,
                rights,
            )
        });
        if mapped.is_err() {
            break;
        }
    }
    if let Err(e) = mapped {
        println!("taskman: pid {pid}: cannot map device page {first:#x}: {e:?}");
        for copy in copies {
            let _ = objects.destroy(copy);
        }
        let _ = p.devices.area.give_back(vaddr);
        return Err(ENOMEM);
    }
    p.devices.maps.push((vaddr, copies));
    Ok(vaddr + (paddr - first))
}

/// A copy of `frame` in a fresh slot of taskman's.
fn copy_of(objects: &mut Objects, frame: Frame, rights: CapRights) -> Result<CPtr, Error> {
    let slot = objects.alloc_slot()?;
    objects
        .slot(slot)
        .copy(objects.slot(frame.0), rights)
        .inspect_err(|_| objects.free_slot(slot))?;
    Ok(slot)
}

/// Maps `frame` at `vaddr` in the device area, first making and mapping
/// the area's page table if it has none.
fn map_page(
    objects: &mut Objects,
    maps: &mut DeviceMaps,
    vspace: VSpace,
    frame: Frame,
    vaddr: u64,
    rights: CapRights,
) -> Result<(), Error> {
    let attrs = vm_attributes::EXECUTE_NEVER;
    match frame.map(vspace, vaddr, rights, attrs) {
        Err(Error::FailedLookup { .. }) if maps.table.is_none() => {
            let table = objects.create(object::PAGE_TABLE, 0)?;
            if let Err(e) = PageTable(table).map(vspace, vaddr, vm_attributes::DEFAULT) {
                let _ = objects.destroy(table);
                return Err(e);
            }
            maps.table = Some(table);
            frame.map(vspace, vaddr, rights, attrs)
        }
        done => done,
    }
}

/// `munmap_device_memory` of `pid`'s mapping at `vaddr` (any address in
/// its first page).
pub fn unmap(tm: &mut Taskman, pid: Pid, vaddr: u64) -> Result<(), Errno> {
    let (processes, objects) = (&mut tm.processes, &mut tm.objects);
    let p = processes.get_mut(pid).ok_or(ESRCH)?;
    let start = vaddr & !(PAGE - 1);
    let at = p
        .devices
        .maps
        .iter()
        .position(|(v, _)| *v == start)
        .ok_or(EINVAL)?;
    p.devices.area.give_back(start)?;
    let (_, copies) = p.devices.maps.swap_remove(at);
    for copy in copies {
        // Deleting a mapped frame cap unmaps it.
        let _ = objects.destroy(copy);
    }
    Ok(())
}

/// Gives back every device mapping of an ended process (its
/// `Process::devices`), before its address space goes.
pub fn release(tm: &mut Taskman, maps: DeviceMaps) {
    let slots = maps.maps.into_iter().flat_map(|(_, c)| c).chain(maps.table);
    for slot in slots {
        if let Err(e) = tm.objects.destroy(slot) {
            println!("taskman: cannot delete a device mapping's cap: {e:?}");
        }
    }
}

/// Creates a frame for the device page at `paddr` from the device untyped
/// that covers it.
///
/// Retype places objects one after another, each aligned to its size, so
/// the untyped's watermark is first moved to `paddr` with padding
/// untypeds (`policy::padding_bits`). The padding is deleted once the
/// frame exists; the untyped keeps its watermark because the frame is
/// still its child. The watermark only moves forward: a page below one
/// taken before from the same untyped cannot be had (`InvalidArgument`).
///
/// Each page's frame is made once and kept (`Taskman::device_frames`).
pub fn frame_at(tm: &mut Taskman, paddr: u64) -> Result<Frame, Error> {
    if let Some(&frame) = tm.device_frames.get(&paddr) {
        return Ok(frame);
    }
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
    tm.device_frames.insert(paddr, Frame(frame));
    Ok(Frame(frame))
}

impl Boot {
    /// The `index`-th node, in tree order, compatible with `compatible`:
    /// its register windows and interrupts.
    pub fn find_device(&self, compatible: &str, index: u32) -> Option<Device> {
        let node = self
            .fdt
            .as_ref()?
            .all_nodes()
            .filter(|n| {
                n.compatible()
                    .is_some_and(|c| c.all().any(|s| s == compatible))
            })
            .nth(index as usize)?;
        let regions: Vec<(u64, u64)> = node
            .reg()?
            .map(|r| (r.starting_address as u64, r.size.unwrap_or(0) as u64))
            .collect();
        let irqs = node
            .interrupts()
            .map(|i| i.map(|n| n as u32).collect())
            .unwrap_or_default();
        (!regions.is_empty()).then_some(Device { regions, irqs })
    }

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
