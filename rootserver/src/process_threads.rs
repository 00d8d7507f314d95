//! Threads of a process after its first (`ThreadCreate`, `ThreadJoin`,
//! a thread's end).
//!
//! Each thread gets a block of its own from the pool: TCB, scheduling
//! context on the process's core, its stack pages (mapped on first touch)
//! and its thread page (IPC buffer, ThreadControl, TLS), at
//! `ThreadArea::of(index)`, inside the page table the first thread
//! already uses. Its fault endpoint is badged with its index, so a
//! fault names the thread. A thread ends like a process's first one: the
//! agent of its core retires it, then one revoke of its block takes the
//! rest.

use crate::calls::{Parked, Via};
use crate::kernel_error::refused;
use crate::process::{Process, ThreadSetup};
use crate::thread_objects::*;
use crate::Taskman;
use qsoe_abi::errno::{Errno, EAGAIN, EBADF, EDEADLK, EINVAL, ENOMEM, ESRCH};
use qsoe_abi::ipc::{error_label, TaskmanBadge};
use qsoe_abi::layout::ThreadArea;
use qsoe_abi::Pid;
use sel4::{CNode, Endpoint, Frame, SchedContext, VSpace};
use sel4_root_task::println;
use sel4_sys::{
    fault, object, size_bits, vm_attributes, CapRights, MessageInfo, Received, UserContext, Word,
};
use taskman_core::leases::Backing;
use taskman_core::spawn_plan::object_slot as obj;
use taskman_core::thread_page;
use taskman_core::threads::Join;

/// Starts a thread of `pid` at `entry`, with `function` and `argument`
/// for it; answers its tid.
pub fn create(
    tm: &mut Taskman,
    pid: Pid,
    entry: Word,
    function: Word,
    argument: Word,
) -> Result<i32, Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let index = p.threads.free_index()?;
    let running = p.threads.iter_running().count() as u64;
    if running >= p.grant.limits.threads {
        return Err(EAGAIN);
    }
    if p.block_bytes + ((running + 1) << THREAD_BLOCK_BITS) > p.grant.limits.budget {
        return Err(ENOMEM);
    }
    let block = tm
        .objects
        .alloc_block(THREAD_BLOCK_BITS)
        .map_err(|_| ENOMEM)?;
    let mut objects = ThreadObjects {
        block,
        slots: [0; SLOTS],
        stack_mapped: 0,
    };
    let tid = index as i32 + 2;
    let regs = [entry, function, argument, tid as Word];
    if let Err(e) = build(tm, pid, index, &mut objects, regs) {
        release(tm, objects);
        return Err(e);
    }
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    let frames = &objects.slots[FIRST_FRAME..FIRST_FRAME + FRAMES];
    for (vaddr, &cap) in ThreadArea::of(index).pages().zip(frames) {
        let writable = true;
        p.memory.insert(vaddr, Backing::Frame { cap, writable });
    }
    Ok(p.threads.started(index, objects))
}

fn build(
    tm: &mut Taskman,
    pid: Pid,
    index: usize,
    t: &mut ThreadObjects,
    [entry, function, argument, tid]: [Word; 4],
) -> Result<(), Errno> {
    let kernel = |e| refused("thread", e);
    for s in t.slots.iter_mut() {
        *s = tm.objects.alloc_slot().map_err(|_| EAGAIN)?;
    }
    let untyped = tm.objects.block_cap(t.block);
    // Largest first: nothing pads the block.
    for f in 0..FRAMES {
        let slot = t.slots[FIRST_FRAME + f];
        tm.objects
            .retype_at(untyped, object::PAGE_4K, 0, slot)
            .map_err(kernel)?;
    }
    tm.objects
        .retype_at(untyped, object::TCB, 0, t.slots[TCB])
        .map_err(kernel)?;
    tm.objects
        .retype_at(
            untyped,
            object::SCHED_CONTEXT,
            size_bits::MIN_SCHED_CONTEXT,
            t.slots[SCHED_CONTEXT],
        )
        .map_err(kernel)?;
    tm.objects
        .retype_at(untyped, object::NOTIFICATION, 0, t.slots[WAKE])
        .map_err(kernel)?;
    crate::process::wake_signal(tm, t.wake(), t.slots[WAKE_SIGNAL]).map_err(kernel)?;

    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    let (core, tp_offset, tls) = (p.core, p.tp_offset, p.tls);
    let image = tm.archive.find(&p.path).ok_or(EINVAL)?;
    let (cnode, vspace) = (CNode(p.object(obj::CNODE)), VSpace(p.object(obj::VSPACE)));
    let area = ThreadArea::of(index);
    let page = Frame(t.slots[THREAD_PAGE]);
    let tls_image = tls.map_or(&[][..], |t| {
        &image[t.file_offset..t.file_offset + t.file_size]
    });
    tm.window
        .with_frame(&mut tm.objects, page, |bytes| {
            thread_page::write(bytes, &area, tp_offset, tls_image)
        })
        .map_err(kernel)?;
    // The stack pages below wait for first touch (`stack_fault`).
    page.map(
        vspace,
        area.thread_page,
        CapRights::READ_WRITE,
        vm_attributes::EXECUTE_NEVER,
    )
    .map_err(kernel)?;
    let badge = TaskmanBadge::Fault {
        pid,
        tid: tid as i32,
    }
    .encode();
    let send_and_reply = CapRights::WRITE.union(CapRights::GRANT_REPLY);
    tm.objects
        .slot(t.slots[FAULT_EP])
        .mint(tm.objects.slot(tm.endpoint.0), send_and_reply, badge)
        .map_err(kernel)?;

    let tcb = t.tcb();
    let sc = SchedContext(t.slots[SCHED_CONTEXT]);
    ThreadSetup {
        tcb,
        sc,
        cnode,
        vspace,
        ipc_buffer: (area.ipc_buffer(), page),
        fault_endpoint: Endpoint(t.slots[FAULT_EP]),
        core,
    }
    .apply(tm)
    .map_err(kernel)?;
    let mut regs = UserContext {
        pc: entry,
        sp: thread_page::stack_top(&area, tp_offset),
        tp: area.thread_page + tp_offset,
        ..Default::default()
    };
    regs.a[..3].copy_from_slice(&[function, argument, tid]);
    tcb.write_registers(true, &regs).map_err(kernel)
}

/// Gives back everything a thread had; its TCB must be retired (or never
/// have run).
fn release(tm: &mut Taskman, t: ThreadObjects) {
    if t.slots[FAULT_EP] != 0 {
        let _ = tm.objects.slot(t.slots[FAULT_EP]).delete();
    }
    if let Err(e) = tm.objects.release_block(t.block) {
        println!("taskman: cannot revoke a thread's block: {e:?}");
    }
    for s in t.slots.into_iter().filter(|&s| s != 0) {
        tm.objects.free_slot(s);
    }
}

fn retire(tm: &Taskman, core: u64, t: &ThreadObjects) {
    if let Err(e) = tm.agents.retire(tm.objects.root, core, t.slots[TCB]) {
        println!("taskman: cannot retire a thread: {e:?}");
    }
}

/// Thread `tid` of `pid` ended with `value`: it is retired and destroyed,
/// and a thread waiting to join it gets the value. (Its channels' pulses
/// are the dispatcher's to redirect: `channel::thread_gone`.)
pub fn exit(tm: &mut Taskman, pid: Pid, tid: i32, value: Word) -> Result<(), Errno> {
    let p = tm.processes.get_mut(pid).ok_or(ESRCH)?;
    let core = p.core;
    let (objects, joiner) = p.threads.ended(tid, value).ok_or(ESRCH)?;
    retire(tm, core, &objects);
    release(tm, objects);
    // Its frames went with its block, and taskman's copies of them.
    let index = (tid - 2) as usize;
    crate::bulk::forget(tm, pid, ThreadArea::of(index).pages());
    if let Some(j) = joiner {
        j.via.answer(j.reply, Ok(&[value]));
        tm.replies.push(j.reply);
    }
    Ok(())
}

/// Thread `joiner` of `pid` joins thread `tid`. `Some(value)` if it had
/// ended; `None` if the joiner now waits, with the request loop's reply
/// object set aside for it, to be answered `via` its way back.
pub fn join(
    tm: &mut Taskman,
    pid: Pid,
    joiner: i32,
    tid: i32,
    via: Via,
) -> Result<Option<Word>, Errno> {
    if joiner == tid {
        return Err(EDEADLK);
    }
    let fresh = crate::replies::spare(tm)?;
    let reply = tm.reply;
    let joined = match tm.processes.get_mut(pid) {
        Some(p) => p.threads.join(tid, || Ok(Parked { reply, via })),
        None => Err(ESRCH),
    };
    match joined {
        Ok(Join::Waits) => {
            tm.reply = fresh;
            Ok(None)
        }
        Ok(Join::Ended(value)) => {
            tm.replies.push(fresh);
            Ok(Some(value))
        }
        Err(e) => {
            tm.replies.push(fresh);
            Err(e)
        }
    }
}

/// Retires every thread of an ending process but its first.
pub fn stop_all(tm: &Taskman, p: &Process) {
    for (_, t) in p.threads.iter_running() {
        retire(tm, p.core, t);
    }
}

/// Destroys the (retired) threads of a dead process; their joiners' reply
/// objects go back to the spares.
pub fn destroy_all(tm: &mut Taskman, p: &mut Process) {
    for (objects, joiner) in p.threads.drain() {
        release(tm, objects);
        tm.replies.extend(joiner.map(|j| j.reply));
    }
}

/// Gives a thread after the first the page of its stack that a data
/// fault at `addr` touched; answers whether the access may be retried (the
/// page is mapped now, by this fault or an earlier one). Any thread of the
/// process may touch it.
pub fn stack_fault(tm: &mut Taskman, pid: Pid, addr: u64) -> bool {
    let Some((index, page)) = thread_page::later_stack_page(addr) else {
        return false;
    };
    let Some(p) = tm.processes.get_mut(pid) else {
        return false;
    };
    let vspace = VSpace(p.object(obj::VSPACE));
    let Some(t) = p.threads.running_at_mut(index) else {
        return false;
    };
    // Mapped already, after this access faulted: another thread touched
    // the page first; the retry succeeds.
    if t.stack_mapped & (1 << page) != 0 {
        return true;
    }
    let vaddr = ThreadArea::of(index).stack_bottom() + page * 0x1000;
    let frame = Frame(t.slots[FIRST_FRAME + page as usize]);
    let mapped = frame.map(
        vspace,
        vaddr,
        CapRights::READ_WRITE,
        vm_attributes::EXECUTE_NEVER,
    );
    match mapped {
        Ok(()) => {
            t.stack_mapped |= 1 << page;
            true
        }
        Err(e) => {
            println!("taskman: pid {pid}: cannot map {vaddr:#x}: {e:?}");
            false
        }
    }
}

/// A cap fault is a system call on a slot that holds no usable cap (a
/// connection whose channel is gone, or a made-up one). The call returns
/// `EBADF` instead of the process dying: answers whether that worked.
pub fn cap_fault(tm: &Taskman, pid: Pid, tid: i32, msg: &Received) -> bool {
    if msg.info.label() != fault::CAP_FAULT {
        return false;
    }
    let Some(tcb) = tm.processes.get(pid).and_then(|p| p.thread_tcb(tid)) else {
        return false;
    };
    let Ok(mut regs) = tcb.read_registers() else {
        return false;
    };
    // Resume after the ecall as if it had returned an error answer:
    // a0 the badge, a1 the message info.
    regs.pc = msg.mrs[fault::CAP_FAULT_IP] + 4;
    regs.a[0] = 0;
    regs.a[1] = MessageInfo::new(error_label(EBADF), 0, 0, 0).0;
    tcb.write_registers(false, &regs).is_ok()
}
