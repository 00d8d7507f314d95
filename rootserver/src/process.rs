//! The spawn path and its undoing.
//!
//! Spawn decides everything first (`elf_plan`, `initial_stack`,
//! `spawn_plan`: pure, host-tested), then carves a block from the pool and
//! retypes every object of the process out of it, in the plan's order:
//!
//! ```text
//! object CNode slot: 0 CSpace root   1 VSpace   2 TCB   3 SchedContext
//!                    4 fault endpoint (badged)   5 IPC area (untyped)
//!                    6.. reply cell, replies, channel cells (made later)
//!                    then page tables, frames
//! ```
//!
//! The object CNode is a leaf of taskman's top-level CNode, so these caps
//! need no slots of taskman's own. Whatever happens, a process is undone
//! the same way: one revoke of its block, then the block, its top-level
//! entry and its ASID go back.

use crate::calls::Parked;
use crate::clock::Stopwatch;
use crate::kernel_error::refused;
use crate::thread_objects::{ThreadObjects, WAKE_SIGNAL};
use crate::{archive, Taskman};
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;
use qsoe_abi::errno::{Errno, E2BIG, EAGAIN, EINVAL, EIO, ENOENT, ENOEXEC, ENOMEM, EPERM};
use qsoe_abi::grants::{Abilities, Grant, GRANTS_PATH};
use qsoe_abi::ipc::{Coid, ConnectionBadge, TaskmanBadge, PULSE_BADGE};
use qsoe_abi::layout::{self, slot, ThreadArea, CNODE_BITS};
use qsoe_abi::wire::SpawnPhase;
use qsoe_abi::Pid;
use sel4::{
    CNode, Endpoint, Error, Frame, Notification, PageTable, SchedContext, SchedControl, Tcb, VSpace,
};
use sel4_root_task::println;
use sel4_sys::{init_cap, object, tcb_flag, vm_attributes, CPtr, CapRights, UserContext, Word};
use taskman_core::channels::{ConnectionTable, Receivers, Target};
use taskman_core::console_line::ConsoleLine;
use taskman_core::cspace::{self, leaf_guard, root_guard, TOP_SLOT_DEPTH};
use taskman_core::demand_pages::{DemandPages, FirstTouch};
use taskman_core::elf_plan::{self, LoadPlan, PagePlan, TlsTemplate, PAGE_SIZE};
use taskman_core::initial_stack::{self, StackImage};
use taskman_core::leases::{Backing, LeaseTable, UserMemory};
use taskman_core::policy;
use taskman_core::processes::Wakeup;
use taskman_core::signals::Signals;
use taskman_core::spawn_plan::{self, object_slot as obj, Kind, PageFrame, SpawnPlan};
use taskman_core::thread_page;
use taskman_core::threads::ThreadTable;
use taskman_core::untyped_pool::{NodeId, MIN_BITS};

/// Pages a program may have; its object CNode must fit in one leaf.
const MAX_PROGRAM_PAGES: usize = 3_000;
/// Processes run below taskman (255) and its helper threads (200).
const PRIORITY: Word = 100;
/// Each process's scheduling context: its core's full time, shared round
/// robin with the other processes there.
const BUDGET_US: Word = 10_000;
/// The most retypes the kernel does in one invocation.
const RETYPE_FAN_OUT: u64 = 256;

/// A live process, as taskman keeps it.
pub struct Process {
    pub path: String,
    pub core: u64,
    /// What it may do and hold: its program's grant, narrowed to its
    /// parent's and to what the spawn asked.
    pub grant: Grant,
    /// Where it may attach in the pathname space, besides `name_attach`'s
    /// names: its program's grants, as far as its parent held them.
    pub prefixes: Vec<Vec<u8>>,
    block: NodeId,
    /// Its block's size, for `/proc`.
    pub block_bytes: u64,
    leaf: u64,
    object_cnode_bits: u8,
    asid_pool: usize,
    /// The reply object taskman holds while the process is blocked in
    /// `waitpid` or `pause`.
    pub parked: Option<CPtr>,
    pub ipc: ProcessIpc,
    /// Its threads after the first.
    pub threads: ThreadTable<ThreadObjects, Parked>,
    /// Where `tp` points in a thread page, and the TLS image to copy
    /// there, for each new thread.
    pub tp_offset: u64,
    pub tls: Option<TlsTemplate>,
    /// Its pages that are mapped on first touch.
    demand: DemandPages,
    /// The object-CNode slot of its first frame.
    frames_base: u64,
    /// What backs each of its pages, for bulk copies.
    pub memory: UserMemory,
    /// The memory it has lent for calls in progress.
    pub leases: LeaseTable,
    /// Taskman's mappings of its frames (`bulk`).
    pub direct: crate::bulk::DirectMap,
    /// The object-CNode slots of its page tables not mapped yet.
    tables: Range<u64>,
    /// Its device registers, mapped (`device`).
    pub devices: crate::device::DeviceMaps,
    /// What each signal does to it, which wait for its signal thread, and
    /// whether it is stopped (`signal`).
    pub signals: Signals,
    /// Its signal thread, blocked in `SIGNAL_WAIT`: the tid and how to
    /// answer it.
    pub signal_waiter: Option<(i32, Parked)>,
}

/// A process's side of QNX IPC, as taskman keeps it.
#[derive(Default)]
pub struct ProcessIpc {
    pub connections: ConnectionTable,
    /// Channel cells made so far, each with the chid living in it.
    pub cells: Vec<Option<i32>>,
    /// How many reply objects it has (made with its first channel).
    pub reply_objects: usize,
    /// Which of its threads receive on each channel cell.
    pub receivers: Receivers,
    /// Console output not yet ended by a newline.
    pub console_line: ConsoleLine,
    /// Its threads that serve passively (`passive`): bit `tid`.
    pub passive_threads: u64,
    /// Its opens on connections to taskman's resource manager.
    pub opens: crate::files::Opens,
}

impl ProcessIpc {
    /// A new process's connections: taskman's side channel and the
    /// console as fds 0, 1 and 2, taskman's or the console driver's
    /// (channel `console`), whose first message opens it.
    fn at_birth(console: Option<i32>) -> Self {
        let mut ipc = ProcessIpc::default();
        ipc.connections.attach(0, Target::Taskman, true);
        let target = console.map_or(Target::Files, Target::Channel);
        for index in 0..3 {
            ipc.connections
                .attach_exact(Self::console_coid(index), target);
        }
        if console.is_none() {
            ipc.opens = crate::files::at_birth();
        }
        ipc
    }

    /// The coid of console fd `index` (0..3) at birth.
    fn console_coid(index: u16) -> Coid {
        Coid {
            index,
            generation: 0,
            side: false,
        }
    }
}

impl Process {
    pub fn tcb(&self) -> Tcb {
        Tcb(self.object(obj::TCB))
    }

    /// Taskman's CPtr of slot `i` of the object CNode.
    pub fn object(&self, i: u64) -> CPtr {
        cspace::cptr(self.leaf, i)
    }

    /// Retypes one object from the untyped `from` into slot `i` of the
    /// object CNode.
    pub fn retype_object(
        &self,
        root: CNode,
        from: CPtr,
        object_type: Word,
        size_bits: usize,
        i: u64,
    ) -> Result<(), Error> {
        sel4::Untyped(from).retype(
            object_type,
            size_bits,
            root,
            self.leaf,
            TOP_SLOT_DEPTH,
            i,
            1,
        )
    }

    /// Slot `i` of the process's own CSpace, for CNode invocations.
    pub fn own_slot(&self, i: u64) -> sel4::Slot {
        CNode(self.object(obj::CNODE)).slot_at(i, CNODE_BITS)
    }

    /// The TCB of running thread `tid` (1 for its first).
    pub fn thread_tcb(&self, tid: i32) -> Option<Tcb> {
        match tid {
            1 => Some(self.tcb()),
            t => self.threads.running(t).map(ThreadObjects::tcb),
        }
    }

    /// Thread `tid`'s wake notification (bound to it once it receives).
    pub fn thread_wake(&self, tid: i32) -> Option<Notification> {
        match tid {
            1 => Some(Notification(self.object(obj::WAKE))),
            t => self.threads.running(t).map(ThreadObjects::wake),
        }
    }

    /// The cap taskman signals to wake thread `tid` for a pulse.
    pub fn thread_wake_signal(&self, tid: i32) -> Option<CPtr> {
        match tid {
            1 => Some(self.object(obj::WAKE_SIGNAL)),
            t => self.threads.running(t).map(|o| o.slots[WAKE_SIGNAL]),
        }
    }

    /// Thread `tid`'s own scheduling context, if the thread runs.
    pub fn thread_sc(&self, tid: i32) -> Option<SchedContext> {
        match tid {
            1 => Some(SchedContext(self.object(obj::SCHED_CONTEXT))),
            t => self.threads.running(t).map(ThreadObjects::sc),
        }
    }

    /// The object CNode's top-level entry and radix, for the census.
    pub fn object_cnode(&self) -> (u64, u8) {
        (self.leaf, self.object_cnode_bits)
    }
}

/// What a spawn asks for, decoded and checked.
pub struct SpawnRequest<'a> {
    pub path: &'a [u8],
    pub argv: Vec<&'a [u8]>,
    pub envp: Vec<&'a [u8]>,
    pub core: Option<u64>,
    pub block_bits: u8,
    /// The most the child may be granted.
    pub grant: Grant,
}

/// What a half-built process holds, so a failure can give it all back.
struct Partial {
    block: NodeId,
    /// The object-CNode slot of the first frame.
    frames_base: u64,
    /// The object-CNode slots of the page tables not mapped yet.
    tables: Range<u64>,
    leaf: Option<u64>,
    asid_pool: Option<usize>,
    /// The slot the object CNode passes through on its way to its leaf.
    temp: Option<CPtr>,
}

fn kernel(e: Error) -> Errno {
    refused("spawn", e)
}

/// Starts a program from the boot archive as a child of `parent`.
pub fn spawn(tm: &mut Taskman, parent: Pid, req: &SpawnRequest) -> Result<Pid, Errno> {
    let mut watch = Stopwatch::start();
    let new = decode_spawn(tm, parent, req)?;
    watch.lap(&mut tm.spawn_profile, SpawnPhase::Plan);
    perform_spawn(tm, parent, new, watch)
}

/// A spawn that can be done: everything about the new process decided.
struct NewProcess<'a> {
    path: &'a str,
    image: &'static [u8],
    load: LoadPlan,
    plan: SpawnPlan,
    stack: StackImage,
    demand: DemandPages,
    tp_offset: u64,
    block_bits: u8,
    grant: Grant,
    core: u64,
    /// Whether `core` is the round robin's choice (which then moves on).
    round_robin: bool,
    pid: Pid,
    /// The console driver's channel and its endpoint, for fds 0..2; `None`
    /// for taskman's own console.
    console: Option<(i32, CPtr)>,
}

/// Decides the new process and checks the parent's ability and quota, the
/// child's budget and the process table's room (its memory reserved),
/// changing nothing else.
fn decode_spawn<'a>(
    tm: &mut Taskman,
    parent: Pid,
    req: &SpawnRequest<'a>,
) -> Result<NewProcess<'a>, Errno> {
    let held = match tm.processes.get(parent) {
        Some(p) => p.grant,
        None => Grant::ALL,
    };
    if !held.abilities.contains(Abilities::SPAWN) {
        return Err(EPERM);
    }
    let path = core::str::from_utf8(req.path).map_err(|_| ENOENT)?;
    let image = tm.archive.find(path).ok_or(ENOENT)?;
    let load = elf_plan::plan(
        image,
        layout::PROGRAM_START..layout::PROGRAM_END,
        MAX_PROGRAM_PAGES,
    )
    .map_err(|_| ENOEXEC)?;
    let tp_offset = thread_page::tp_offset(load.tls).ok_or(ENOEXEC)?;
    let plan = spawn_plan::plan(&load, archive::in_place(tm.bootinfo, image));
    if plan.object_cnode_bits > cspace::LEAF_BITS {
        return Err(ENOEXEC);
    }
    let stack_top = thread_page::stack_top(&ThreadArea::FIRST, tp_offset);
    let stack = initial_stack::build(
        stack_top,
        &req.argv,
        &req.envp,
        &auxv(&load),
        (layout::STACK_PAGES * PAGE_SIZE / 2) as usize,
    )
    .map_err(|_| E2BIG)?;
    let bits = match req.block_bits {
        0 => plan.block_bits.max(MIN_BITS),
        b if (MIN_BITS..64).contains(&b) => b,
        _ => return Err(EINVAL),
    };
    let grants = tm.archive.find(GRANTS_PATH).unwrap_or(&[]);
    let grant = Grant::granted(grants, req.path)
        .narrow(held)
        .narrow(req.grant);
    if 1u64 << bits > grant.limits.budget {
        return Err(ENOMEM);
    }
    let cores = tm.cores_online();
    let core = policy::spawn_core(req.core, tm.next_core, cores)?;
    if tm.processes.children(parent) as u64 >= held.limits.children {
        return Err(EAGAIN);
    }
    let pid = tm.processes.next_pid().ok_or(EAGAIN)?;
    if !tm.processes.reserve(parent) {
        return Err(ENOMEM);
    }
    let demand = DemandPages::of(&plan, &load, stack_top - stack.bytes.len() as u64);
    let console = tm.console_driver.and_then(|d| {
        let channel = tm.channels.get(d.chid).filter(|c| c.owner == d.pid)?;
        let owner = tm.processes.get(d.pid)?;
        Some((
            d.chid,
            owner.object(obj::channel(channel.cell as u64) + obj::ENDPOINT),
        ))
    });
    Ok(NewProcess {
        path,
        image,
        load,
        plan,
        stack,
        demand,
        tp_offset,
        block_bits: bits,
        grant,
        core,
        round_robin: req.core.is_none(),
        pid,
        console,
    })
}

/// Makes the process decode decided: its block from the pool (`ENOMEM`
/// when none is left that big), its objects, pages and thread; whatever
/// fails gives back all it took.
fn perform_spawn(
    tm: &mut Taskman,
    parent: Pid,
    new: NewProcess,
    mut watch: Stopwatch,
) -> Result<Pid, Errno> {
    let block = tm.objects.alloc_block(new.block_bits).map_err(|_| ENOMEM)?;
    let mut partial = Partial {
        block,
        frames_base: 0,
        tables: 0..0,
        leaf: None,
        asid_pool: None,
        temp: None,
    };
    let built = build(tm, &mut partial, &new, &mut watch).and_then(|()| {
        let started = start(tm, &partial, &new);
        watch.lap(&mut tm.spawn_profile, SpawnPhase::Start);
        started
    });
    if let Err(e) = built {
        undo(tm, partial);
        return Err(e);
    }
    let process = Process {
        path: String::from(new.path),
        core: new.core,
        grant: new.grant,
        prefixes: crate::path::granted_prefixes(tm, parent, new.path),
        block,
        block_bytes: 1 << new.block_bits,
        leaf: partial.leaf.unwrap_or_default(),
        object_cnode_bits: new.plan.object_cnode_bits,
        asid_pool: partial.asid_pool.unwrap_or_default(),
        parked: None,
        ipc: ProcessIpc::at_birth(new.console.map(|(chid, _)| chid)),
        threads: ThreadTable::default(),
        tp_offset: new.tp_offset,
        tls: new.load.tls,
        memory: user_memory(&new, partial.leaf.unwrap_or_default(), partial.frames_base),
        leases: LeaseTable::default(),
        direct: Default::default(),
        demand: new.demand,
        frames_base: partial.frames_base,
        tables: partial.tables,
        devices: Default::default(),
        signals: Signals::default(),
        signal_waiter: None,
    };
    let inserted = tm.processes.insert(parent, process);
    debug_assert_eq!(inserted, Some(new.pid));
    if new.round_robin {
        tm.next_core = new.core;
    }
    tm.spawn_profile.spawns += 1;
    Ok(new.pid)
}

/// What backs each page of a new process: its own frames (writable where
/// the program's segment is, and for its stack and thread page), or the
/// program file's pages in taskman's image.
fn user_memory(new: &NewProcess, leaf: u64, frames_base: u64) -> UserMemory {
    let mut memory = UserMemory::default();
    for (i, &vaddr) in new.plan.page_vaddrs.iter().enumerate() {
        let program_page = new.load.pages.get(i);
        let backing = match new.plan.page_frames[i] {
            PageFrame::File(offset) => Backing::Image {
                addr: new.image[offset..].as_ptr() as u64,
            },
            PageFrame::Own => Backing::Frame {
                cap: cspace::cptr(leaf, frames_base + new.plan.frame_slots[i]),
                writable: program_page.is_none_or(|p| p.perms.write),
            },
        };
        memory.insert(vaddr, backing);
    }
    memory
}

fn auxv(load: &LoadPlan) -> Vec<(u64, u64)> {
    use initial_stack::*;
    let mut v = alloc::vec![(AT_PAGESZ, PAGE_SIZE), (AT_ENTRY, load.entry)];
    if let Some(phdr) = load.phdr_vaddr {
        v.extend([
            (AT_PHDR, phdr),
            (AT_PHENT, load.phent as u64),
            (AT_PHNUM, load.phnum as u64),
        ]);
    }
    v
}

/// Retypes every object from the block and fills and maps the pages.
fn build(
    tm: &mut Taskman,
    partial: &mut Partial,
    new: &NewProcess,
    watch: &mut Stopwatch,
) -> Result<(), Errno> {
    let NewProcess {
        pid,
        load,
        plan,
        stack,
        demand,
        tp_offset,
        image,
        ..
    } = new;
    let (pid, tp_offset) = (*pid, *tp_offset);
    let objects = &mut tm.objects;
    let block = objects.block_cap(partial.block);
    let leaf = objects.alloc_leaf().map_err(kernel)?;
    partial.leaf = Some(leaf);
    let at = |i: u64| cspace::cptr(leaf, i);
    let page_tables = plan
        .objects
        .iter()
        .find(|o| o.kind == Kind::PageTable)
        .map_or(0, |o| o.count);
    let frames_base = obj::PAGE_TABLES + page_tables;
    partial.frames_base = frames_base;
    // The plan puts the object CNode first: everything after it is
    // retyped straight into it.
    for o in &plan.objects {
        let Some(first) = object_cnode_slot(o.kind, frames_base) else {
            let temp = objects.alloc_slot().map_err(kernel)?;
            partial.temp = Some(temp);
            let radix = plan.object_cnode_bits;
            objects
                .retype_at(block, o.object_type, radix as usize, temp)
                .map_err(kernel)?;
            objects
                .top_slot(leaf)
                .mutate_from(objects.slot(temp), leaf_guard(radix))
                .map_err(kernel)?;
            continue;
        };
        // The size argument: radix for CNodes, bytes for scheduling
        // contexts, ignored for fixed-size objects.
        let size = match o.kind {
            Kind::CNode => CNODE_BITS as usize,
            Kind::SchedContext | Kind::IpcArea => o.size_bits as usize,
            _ => 0,
        };
        let mut done = 0;
        while done < o.count {
            let n = (o.count - done).min(RETYPE_FAN_OUT);
            block
                .retype(
                    o.object_type,
                    size,
                    objects.root,
                    leaf,
                    TOP_SLOT_DEPTH,
                    first + done,
                    n as usize,
                )
                .map_err(kernel)?;
            done += n;
        }
    }
    partial.asid_pool = Some(
        objects
            .assign_asid(VSpace(at(obj::VSPACE)))
            .map_err(kernel)?,
    );

    watch.lap(&mut tm.spawn_profile, SpawnPhase::Retype);

    let vspace = VSpace(at(obj::VSPACE));
    partial.tables = obj::PAGE_TABLES..frames_base;
    // `page_vaddrs` starts with the program's pages, in `load.pages` order.
    for (i, &vaddr) in plan.page_vaddrs.iter().enumerate() {
        if demand.contains(vaddr) {
            continue;
        }
        let frame = Frame(at(frames_base + plan.frame_slots[i]));
        let program_page = load.pages.get(i);
        let (rights, attrs) = match (plan.page_frames[i], program_page) {
            (PageFrame::File(offset), Some(page)) => {
                let source =
                    archive::image_frame(tm.bootinfo, image[offset..].as_ptr()).ok_or(EIO)?;
                tm.objects
                    .slot(frame.0)
                    .copy(tm.objects.slot(source), CapRights::READ)
                    .map_err(kernel)?;
                program_rights(page)
            }
            _ => {
                let filled = fill(
                    tm,
                    frame,
                    vaddr,
                    program_page,
                    load,
                    stack,
                    tp_offset,
                    image,
                )?;
                watch.lap(&mut tm.spawn_profile, SpawnPhase::Copy);
                filled
            }
        };
        map_page(
            vspace,
            frame,
            vaddr,
            (rights, attrs),
            &mut partial.tables,
            leaf,
        )
        .map_err(kernel)?;
        watch.lap(&mut tm.spawn_profile, SpawnPhase::Map);
    }

    let objects = &mut tm.objects;
    let endpoint = objects.slot(tm.endpoint.0);
    let send_and_reply = CapRights::WRITE.union(CapRights::GRANT_REPLY);
    objects
        .slot(at(obj::FAULT_EP))
        .mint(
            endpoint,
            send_and_reply,
            TaskmanBadge::Fault { pid, tid: 1 }.encode(),
        )
        .map_err(kernel)?;
    CNode(at(obj::CNODE))
        .slot_at(slot::TASKMAN, CNODE_BITS)
        .mint(
            endpoint,
            send_and_reply,
            TaskmanBadge::Side { pid }.encode(),
        )
        .map_err(kernel)?;
    CNode(at(obj::CNODE))
        .slot_at(slot::TCB, CNODE_BITS)
        .copy(objects.slot(at(obj::TCB)), CapRights::ALL)
        .map_err(kernel)?;
    for index in 0..3u16 {
        let (from, rights, badge) = match new.console {
            Some((_, channel)) => (
                objects.slot(channel),
                CapRights::WRITE.union(CapRights::GRANT_REPLY),
                ConnectionBadge {
                    pid,
                    scoid: ProcessIpc::console_coid(index).encode(),
                }
                .encode(),
            ),
            None => (
                endpoint,
                send_and_reply,
                TaskmanBadge::File { pid, index }.encode(),
            ),
        };
        CNode(at(obj::CNODE))
            .slot_at(slot::CONNECTION_BASE + index as u64, CNODE_BITS)
            .mint(from, rights, badge)
            .map_err(kernel)?;
    }
    if let Some(t) = partial.temp.take() {
        objects.free_slot(t);
    }
    watch.lap(&mut tm.spawn_profile, SpawnPhase::Retype);
    Ok(())
}

/// Maps `frame` at `vaddr` with `(rights, attributes)`, first mapping the
/// page tables it needs from `tables`, the unmapped ones of the process
/// whose object CNode is top-level entry `leaf`.
fn map_page(
    vspace: VSpace,
    frame: Frame,
    vaddr: u64,
    (rights, attrs): (CapRights, Word),
    tables: &mut Range<u64>,
    leaf: u64,
) -> Result<(), Error> {
    loop {
        match frame.map(vspace, vaddr, rights, attrs) {
            Err(e @ Error::FailedLookup { .. }) => {
                let Some(table) = tables.next() else {
                    return Err(e);
                };
                PageTable(cspace::cptr(leaf, table)).map(vspace, vaddr, vm_attributes::DEFAULT)?;
            }
            done => return done,
        }
    }
}

/// Gives a process the page its data fault at `addr` touched, if that page
/// is one of those mapped on first touch; answers whether the access may
/// be retried (the page is mapped now, by this fault or an earlier one).
pub fn demand_fault(tm: &mut Taskman, pid: Pid, addr: u64) -> bool {
    let mut watch = Stopwatch::start();
    let Some(p) = tm.processes.get_mut(pid) else {
        return false;
    };
    let page = match p.demand.for_fault(addr) {
        None => return false,
        Some(FirstTouch::Mapped) => return true,
        Some(FirstTouch::Map(page)) => page,
    };
    let mapped = map_page(
        VSpace(p.object(obj::VSPACE)),
        Frame(p.object(p.frames_base + page.frame)),
        page.vaddr,
        (CapRights::READ_WRITE, vm_attributes::EXECUTE_NEVER),
        &mut p.tables,
        p.leaf,
    );
    match mapped {
        Ok(()) => {
            p.demand.mapped(page);
            watch.lap(&mut tm.spawn_profile, SpawnPhase::Demand);
            true
        }
        Err(e) => {
            println!("taskman: pid {pid}: cannot map {:#x}: {e:?}", page.vaddr);
            false
        }
    }
}

/// The object-CNode slot where objects of `kind` start; `None` for the
/// object CNode itself, which lives in a top-level entry.
fn object_cnode_slot(kind: Kind, frames_base: u64) -> Option<u64> {
    match kind {
        Kind::ObjectCNode => None,
        Kind::CNode => Some(obj::CNODE),
        Kind::VSpace => Some(obj::VSPACE),
        Kind::Tcb => Some(obj::TCB),
        Kind::SchedContext => Some(obj::SCHED_CONTEXT),
        Kind::IpcArea => Some(obj::IPC_AREA),
        Kind::PageTable => Some(obj::PAGE_TABLES),
        Kind::Frame => Some(frames_base),
    }
}

/// Writes a page's initial contents (if any) and answers how to map it;
/// `program_page` is the plan of the program page at `vaddr`, if it is one.
#[allow(clippy::too_many_arguments)]
fn fill(
    tm: &mut Taskman,
    frame: Frame,
    vaddr: u64,
    program_page: Option<&PagePlan>,
    load: &LoadPlan,
    stack: &StackImage,
    tp_offset: u64,
    image: &[u8],
) -> Result<(CapRights, Word), Errno> {
    let rw = (CapRights::READ_WRITE, vm_attributes::EXECUTE_NEVER);
    let write = |tm: &mut Taskman, f: &mut dyn FnMut(&mut [u8])| {
        tm.window
            .with_frame(&mut tm.objects, frame, |page| f(page))
            .map_err(kernel)
    };
    if let Some(page) = program_page {
        if !page.copies.is_empty() {
            write(tm, &mut |bytes| {
                for c in &page.copies {
                    bytes[c.page_offset..c.page_offset + c.len]
                        .copy_from_slice(&image[c.file_offset..c.file_offset + c.len]);
                }
            })?;
        }
        return Ok(program_rights(page));
    }
    let area = ThreadArea::FIRST;
    let stack_top = thread_page::stack_top(&area, tp_offset);
    let stack_bottom = stack_top - stack.bytes.len() as u64;
    let has_stack = vaddr < stack_top && vaddr + PAGE_SIZE > stack_bottom;
    if vaddr == area.thread_page || has_stack {
        write(tm, &mut |bytes| {
            if vaddr == area.thread_page {
                let tls = load.tls.map_or(&[][..], |t| {
                    &image[t.file_offset..t.file_offset + t.file_size]
                });
                thread_page::write(bytes, &area, tp_offset, tls);
            }
            if has_stack {
                let from = vaddr.max(stack_bottom);
                let to = (vaddr + PAGE_SIZE).min(stack_top);
                let src = (from - stack_bottom) as usize..(to - stack_bottom) as usize;
                let dst = (from - vaddr) as usize..(to - vaddr) as usize;
                bytes[dst].copy_from_slice(&stack.bytes[src]);
            }
        })?;
    }
    Ok(rw)
}

/// The rights and attributes a program page is mapped with.
fn program_rights(page: &PagePlan) -> (CapRights, Word) {
    let rights = if page.perms.write {
        CapRights::READ_WRITE
    } else {
        CapRights::READ
    };
    let attrs = if page.perms.execute {
        vm_attributes::DEFAULT
    } else {
        vm_attributes::EXECUTE_NEVER
    };
    (rights, attrs)
}

/// Gives the thread its spaces, time and registers, and lets it run.
fn start(tm: &mut Taskman, partial: &Partial, new: &NewProcess) -> Result<(), Errno> {
    let plan = &new.plan;
    let leaf = partial.leaf.unwrap_or_default();
    let at = |i: u64| cspace::cptr(leaf, i);
    let tcb = Tcb(at(obj::TCB));
    let sc = SchedContext(at(obj::SCHED_CONTEXT));
    sel4::Untyped(at(obj::IPC_AREA))
        .retype(
            object::NOTIFICATION,
            0,
            tm.objects.root,
            leaf,
            TOP_SLOT_DEPTH,
            obj::WAKE,
            1,
        )
        .map_err(kernel)?;
    wake_signal(tm, Notification(at(obj::WAKE)), at(obj::WAKE_SIGNAL)).map_err(kernel)?;
    let ipc_frame = Frame(at(
        partial.frames_base + plan.frame_slots[plan.thread_page()]
    ));
    ThreadSetup {
        tcb,
        sc,
        cnode: CNode(at(obj::CNODE)),
        vspace: VSpace(at(obj::VSPACE)),
        ipc_buffer: (ThreadArea::FIRST.ipc_buffer(), ipc_frame),
        fault_endpoint: Endpoint(at(obj::FAULT_EP)),
        core: new.core,
    }
    .apply(tm)
    .map_err(kernel)?;
    // The kernel's log names threads; only a debug kernel has the call.
    if sel4_config::platform::KERNEL_DEBUG {
        tcb.set_name(new.path.rsplit('/').next().unwrap_or(new.path));
    }
    let regs = UserContext {
        pc: new.load.entry,
        sp: new.stack.sp,
        tp: ThreadArea::FIRST.thread_page + new.tp_offset,
        ..Default::default()
    };
    tcb.write_registers(true, &regs).map_err(kernel)
}

/// What makes a TCB a thread of a process: its spaces, IPC buffer,
/// time on its core, priority and fault endpoint.
pub struct ThreadSetup {
    pub tcb: Tcb,
    pub sc: SchedContext,
    pub cnode: CNode,
    pub vspace: VSpace,
    /// Its address in the process and its frame.
    pub ipc_buffer: (Word, Frame),
    pub fault_endpoint: Endpoint,
    pub core: u64,
}

/// Mints into `slot` the copy of `wake` that taskman signals for pulses,
/// badged so that the woken receive knows it for one.
pub fn wake_signal(tm: &Taskman, wake: Notification, slot: CPtr) -> Result<(), Error> {
    tm.objects
        .slot(slot)
        .mint(tm.objects.slot(wake.0), CapRights::WRITE, PULSE_BADGE)
}

impl ThreadSetup {
    pub fn apply(&self, tm: &Taskman) -> Result<(), Error> {
        let (ipc_vaddr, ipc_frame) = self.ipc_buffer;
        self.tcb.configure(
            self.cnode,
            root_guard(CNODE_BITS),
            self.vspace,
            ipc_vaddr,
            ipc_frame,
        )?;
        SchedControl(tm.bootinfo.sched_control.start + self.core)
            .configure(self.sc, BUDGET_US, BUDGET_US, 0)?;
        self.tcb.set_sched_params(
            Tcb(init_cap::TCB),
            0,
            PRIORITY,
            self.sc,
            self.fault_endpoint,
        )?;
        // Lazy FPU: off until the thread's first floating-point
        // instruction (`server::first_fp`), so switching to a thread that
        // never computes with floats saves and loads no FPU state.
        self.tcb.set_flags(0, tcb_flag::FPU_DISABLED).map(drop)
    }
}

/// Gives back everything a failed spawn took.
fn undo(tm: &mut Taskman, partial: Partial) {
    release(tm, partial.block, partial.leaf, partial.asid_pool);
    if let Some(t) = partial.temp {
        tm.objects.free_slot(t);
    }
}

/// One revoke takes every object of the process; then the block, the
/// top-level entry and the ASID go back.
///
/// The VSpace goes first: with its ASID gone, the kernel unmaps the frames
/// and page tables without a TLB shootdown each (one ASID flush instead of
/// an SBI remote fence per page, which costs milliseconds under QEMU).
fn release(tm: &mut Taskman, block: NodeId, leaf: Option<u64>, asid_pool: Option<usize>) {
    if let Some(l) = leaf {
        let _ = tm.objects.slot(cspace::cptr(l, obj::VSPACE)).delete();
    }
    if let Err(e) = tm.objects.release_block(block) {
        println!("taskman: cannot revoke a process block: {e:?}");
    }
    if let Some(l) = leaf {
        tm.objects.free_leaf(l);
    }
    if let Some(a) = asid_pool {
        tm.objects.release_asid(a);
    }
}

/// Takes back the objects of a process whose threads are all retired:
/// its VSpace, block, top-level entry and ASID (see `release`).
pub fn release_objects(tm: &mut Taskman, process: &Process) {
    let mut watch = Stopwatch::start();
    release(
        tm,
        process.block,
        Some(process.leaf),
        Some(process.asid_pool),
    );
    watch.lap(&mut tm.spawn_profile, SpawnPhase::Teardown);
}

/// Answers a parent whose `waitpid` a child's exit or stop satisfied.
pub fn answer_waiter(tm: &mut Taskman, w: Wakeup) {
    let Some(parent) = tm.processes.get_mut(w.parent) else {
        return;
    };
    if let Some(held) = parent.parked.take() {
        crate::calls::send(held, 0, &[w.reaped.pid as Word, w.reaped.status as Word]);
        tm.replies.push(held);
    }
}
