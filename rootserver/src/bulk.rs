//! Bulk data between a client and the server of its call
//! (`taskman_core::leases` decides what may be reached): taskman copies
//! between the two processes' frames itself.
//!
//! To reach a process's frame, taskman maps a copy of its cap into its
//! own address space at `DIRECT_BASE` plus the frame's physical address,
//! the first time a copy touches it, and keeps it there until the frame
//! goes: the revoke that ends the process (or the thread) deletes the
//! copy and its mapping with the rest. A steady stream of bulk calls
//! then costs a `memcpy` and no mapping at all, and no page of one
//! process is ever mapped into another.

use crate::vspace::map_at;
use crate::Taskman;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, E2BIG, EBADF, EFAULT, EINVAL, ENOMEM, ESRCH};
use qsoe_abi::ipc::{Coid, MAX_BULK_BYTES};
use qsoe_abi::wire::{Bulk, Request};
use qsoe_abi::Pid;
use sel4::Frame;
use sel4_sys::{CPtr, CapRights, Word};
use taskman_core::channels::Target;
use taskman_core::leases::{pages, span, Backing, Lease, Region, PAGE_SIZE};
use taskman_core::processes::TASKMAN;

/// Where taskman sees the frames it copies through: RAM's physical
/// addresses, moved up into a part of its address space nothing else uses.
const DIRECT_BASE: u64 = 0x10_0000_0000;

/// Taskman's copies of a process's frames, mapped at `DIRECT_BASE`, by
/// the page of the process they back: the copy's slot and where taskman
/// sees the page.
pub type DirectMap = BTreeMap<u64, (CPtr, u64)>;

/// Serves the bulk requests of process `pid`.
pub fn request(tm: &mut Taskman, pid: Pid, req: Request) -> Result<Vec<Word>, Errno> {
    match req {
        Request::Lease { coid, send, recv } => {
            let lease = decode_lease(tm, pid, coid, send, recv)?;
            let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
            let id = p.leases.lend(lease)?;
            Ok(alloc::vec![id as Word])
        }
        Request::Unlease { lease } => {
            let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
            p.leases.end(lease).map(|()| Vec::new())
        }
        Request::BulkRead(b) => {
            let lease = lent(tm, pid, &b)?;
            let from = span(&lease.send, b.offset, b.len);
            let n = from.iter().map(|r| r.len).sum();
            let to = [Region {
                addr: b.addr,
                len: n,
            }];
            copy(tm, (b.client, &from), (pid, &to))?;
            Ok(alloc::vec![n as Word])
        }
        Request::BulkWrite(b) => {
            let lease = lent(tm, pid, &b)?;
            let to = span(&lease.recv, b.offset, b.len);
            let n = to.iter().map(|r| r.len).sum();
            let from = [Region {
                addr: b.addr,
                len: n,
            }];
            copy(tm, (pid, &from), (b.client, &to))?;
            Ok(alloc::vec![n as Word])
        }
        _ => Err(EINVAL),
    }
}

/// Checks a lease request, changing nothing: the connection leads to a
/// server, the regions are the caller's memory (the receive ones
/// writable), and neither side is larger than a label can say.
fn decode_lease(
    tm: &Taskman,
    pid: Pid,
    coid: i32,
    send: &[u64],
    recv: &[u64],
) -> Result<Lease, Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let (_, target) = p.ipc.connections.get(coid).ok_or(EBADF)?;
    let server = match target {
        Target::Channel(chid) => tm.channels.get(chid).ok_or(EBADF)?.owner,
        Target::Files => TASKMAN,
        Target::Taskman => return Err(EINVAL),
    };
    let regions = |words: &[u64]| -> Vec<Region> {
        words
            .chunks(2)
            .map(|w| Region {
                addr: w[0],
                len: w[1],
            })
            .filter(|r| r.len > 0)
            .collect()
    };
    let (send, recv) = (regions(send), regions(recv));
    for side in [&send, &recv] {
        let bytes = side
            .iter()
            .try_fold(0u64, |sum, r| sum.checked_add(r.len))
            .ok_or(E2BIG)?;
        if bytes > MAX_BULK_BYTES as u64 {
            return Err(E2BIG);
        }
        if !side.iter().all(|r| r.valid()) {
            return Err(EFAULT);
        }
    }
    p.memory.check(&send, false)?;
    p.memory.check(&recv, true)?;
    Ok(Lease {
        server,
        scoid: coid,
        send,
        recv,
    })
}

/// The lease a bulk request names, if it was lent to `server`.
fn lent(tm: &Taskman, server: Pid, b: &Bulk) -> Result<Lease, Errno> {
    let client = tm.processes.get(b.client).ok_or(ESRCH)?;
    Ok(client.leases.lent_to(b.lease, server, b.scoid)?.clone())
}

/// The lease `client` lent taskman itself on its connection `index`
/// (taskman's own connections are known by index).
pub fn lent_to_taskman(tm: &Taskman, client: Pid, index: u16, lease: u8) -> Option<Lease> {
    let l = tm.processes.get(client)?.leases.get(lease)?;
    let ours =
        l.server == TASKMAN && Coid::decode(l.scoid).is_some_and(|c| !c.side && c.index == index);
    ours.then(|| l.clone())
}

/// Where taskman reaches byte `vaddr` of `pid` (within its page), mapping
/// the frame into the direct map the first time; `write` asks for a page
/// the process may write.
fn reach(tm: &mut Taskman, pid: Pid, vaddr: u64, write: bool) -> Result<*mut u8, Errno> {
    let Taskman {
        processes, objects, ..
    } = tm;
    let p = processes.get_mut(pid).ok_or(ESRCH)?;
    let page = vaddr & !(PAGE_SIZE - 1);
    let within = (vaddr - page) as usize;
    let cap = match p.memory.backing(vaddr) {
        Some(Backing::Image { addr }) if !write => return Ok((addr as usize + within) as *mut u8),
        Some(Backing::Frame { cap, writable }) if writable || !write => cap,
        _ => return Err(EFAULT),
    };
    if let Some(&(_, seen)) = p.direct.get(&page) {
        return Ok((seen as usize + within) as *mut u8);
    }
    let copy = objects.alloc_slot().map_err(|_| ENOMEM)?;
    let mapped = objects
        .slot(copy)
        .copy(objects.slot(cap), CapRights::READ_WRITE)
        .and_then(|()| Frame(copy).physical_address())
        .and_then(|paddr| {
            map_at(
                objects,
                Frame(copy),
                DIRECT_BASE + paddr,
                CapRights::READ_WRITE,
            )?;
            Ok(paddr)
        });
    match mapped {
        Ok(paddr) => {
            p.direct.insert(page, (copy, DIRECT_BASE + paddr));
            Ok(((DIRECT_BASE + paddr) as usize + within) as *mut u8)
        }
        Err(_) => {
            let _ = objects.slot(copy).delete();
            objects.free_slot(copy);
            Err(ENOMEM)
        }
    }
}

/// Copies the bytes of `from` (regions of one process) into `to` (of
/// another, the same length), checking both sides whole first.
fn copy(tm: &mut Taskman, from: (Pid, &[Region]), to: (Pid, &[Region])) -> Result<(), Errno> {
    for (pid, regions, write) in [(from.0, from.1, false), (to.0, to.1, true)] {
        let p = tm.processes.get(pid).ok_or(ESRCH)?;
        p.memory.check(regions, write)?;
    }
    let src: Vec<Region> = pages(from.1).collect();
    let dst: Vec<Region> = pages(to.1).collect();
    let (mut i, mut j) = (0, 0);
    let (mut s_at, mut d_at) = (0u64, 0u64);
    let (mut s_ptr, mut d_ptr) = (core::ptr::null_mut(), core::ptr::null_mut());
    while i < src.len() && j < dst.len() {
        if s_at == 0 {
            s_ptr = reach(tm, from.0, src[i].addr, false)?;
        }
        if d_at == 0 {
            d_ptr = reach(tm, to.0, dst[j].addr, true)?;
        }
        let n = (src[i].len - s_at).min(dst[j].len - d_at);
        // SAFETY: both pointers lie in frames mapped into taskman (or its
        // image) for at least `n` bytes from here, within one page each;
        // a frame of one process is never a frame of another, so the
        // ranges do not overlap unless `from` and `to` are one process,
        // which `copy` then does as `memmove` would.
        unsafe {
            core::ptr::copy(
                s_ptr.wrapping_add(s_at as usize),
                d_ptr.wrapping_add(d_at as usize),
                n as usize,
            )
        };
        s_at += n;
        d_at += n;
        if s_at == src[i].len {
            i += 1;
            s_at = 0;
        }
        if d_at == dst[j].len {
            j += 1;
            d_at = 0;
        }
    }
    Ok(())
}

/// Copies `bytes` of taskman's into the receive regions of `lease`
/// (taskman's own resource manager answering a lent read).
pub fn deliver(tm: &mut Taskman, client: Pid, lease: &Lease, bytes: &[u8]) -> Result<(), Errno> {
    let to = span(&lease.recv, 0, bytes.len() as u64);
    tm.processes
        .get(client)
        .ok_or(ESRCH)?
        .memory
        .check(&to, true)?;
    let mut at = 0;
    for piece in pages(&to) {
        let d = reach(tm, client, piece.addr, true)?;
        let n = piece.len as usize;
        // SAFETY: `d` reaches `n` bytes of one mapped frame of the client.
        unsafe { core::ptr::copy_nonoverlapping(bytes[at..].as_ptr(), d, n) };
        at += n;
    }
    Ok(())
}

/// The bytes `lease` sends, from `offset`, at most `len` (taskman's own
/// resource manager taking a lent write).
pub fn collect(
    tm: &mut Taskman,
    client: Pid,
    lease: &Lease,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, Errno> {
    let from = span(&lease.send, offset, len);
    let mut out = Vec::new();
    for piece in pages(&from) {
        let s = reach(tm, client, piece.addr, false)?;
        // SAFETY: `s` reaches `piece.len` bytes of one page of the client.
        out.extend_from_slice(unsafe { core::slice::from_raw_parts(s, piece.len as usize) });
    }
    Ok(out)
}

/// The pages at `vaddrs` of `pid` have gone (their frames with them):
/// taskman's copies of them were deleted by the same revoke, and their
/// slots are free again.
pub fn forget(tm: &mut Taskman, pid: Pid, vaddrs: impl Iterator<Item = u64>) {
    let Some(p) = tm.processes.get_mut(pid) else {
        return;
    };
    let mut freed = Vec::new();
    for v in vaddrs {
        p.memory.remove(v);
        freed.extend(
            p.direct
                .remove(&(v & !(PAGE_SIZE - 1)))
                .map(|(slot, _)| slot),
        );
    }
    for slot in freed {
        tm.objects.free_slot(slot);
    }
}

/// A process has gone: the slots of taskman's copies of its frames (whose
/// caps its block's revoke deleted) are free again.
pub fn release(tm: &mut Taskman, direct: DirectMap) {
    for (_, (slot, _)) in direct {
        tm.objects.free_slot(slot);
    }
}
