//! Taskman's request loop: every process's side channel and fault
//! endpoint end at one endpoint, and the badge says who is speaking and
//! whether it is a fault. Nothing a process sends can stop the loop: a
//! request that does not decode gets an error reply.

use crate::calls::{self, Via};
use crate::heap::Headroom;
use crate::process::{self, Process, SpawnRequest};
use crate::signal::Outcome;
use crate::{
    bulk, channel, connection, console, device, event, files, interrupt, passive, path,
    process_threads, replies, signal, ticker, timer, Taskman,
};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EBADF, EBUSY, EINVAL, ENOMEM, ENOSYS, EPERM, ESRCH, ESRVRFAULT};
use qsoe_abi::grants::Abilities;
use qsoe_abi::ipc::{error_label, TaskmanBadge};
use qsoe_abi::wait::{self, WNOHANG, WUNTRACED};
use qsoe_abi::wire::{self, Census, Request};
use qsoe_abi::Pid;
use sel4_root_task::println;
use sel4_sys::{fault, ipc_buffer, tcb_flag, CPtr, MessageInfo, Received, Word};
use taskman_core::channels::Target;
use taskman_core::policy::{self, Kill};
use taskman_core::processes::{WaitFor, INIT, TASKMAN};
use taskman_core::spawn_plan::object_slot as obj;

/// What the loop does after a request.
enum Answer {
    Reply(Vec<Word>),
    /// The caller is gone (it exited or was killed): nobody to answer.
    Nobody,
    /// The caller blocks; its reply object was set aside.
    Parked,
}

/// Serves requests and faults until init ends; answers init's wait status.
pub fn serve(tm: &mut Taskman) -> i32 {
    let endpoint = tm.endpoint.0;
    loop {
        tm.headroom = tm.heap.ensure_headroom(&mut tm.objects);
        let msg = sel4_sys::recv(endpoint, tm.reply);
        handle(tm, msg);
        console::tell_driver(tm);
        // After the answer: a server that was waiting on taskman while a
        // process it served ended is running now, perhaps stranded.
        let servers = core::mem::take(&mut tm.rescue_after);
        passive::rescue(tm, &servers);
        if let Some((pid, tid)) = tm.rebind_after.take() {
            passive::own_back(tm, pid, tid);
        }
        if let Some(status) = tm.init_status.take() {
            return status;
        }
    }
}

fn handle(tm: &mut Taskman, msg: Received) {
    // The notification bound to taskman's thread (the alarm, interrupts):
    // not a message, nobody to reply to.
    if msg.badge & (timer::ALARM_BADGE | interrupt::BADGES) != 0 {
        if msg.badge & interrupt::BADGES != 0 {
            interrupt::fired(tm, msg.badge & interrupt::BADGES);
        }
        if msg.badge & timer::ALARM_BADGE != 0 {
            timer::alarm(tm);
        }
        return;
    }
    if msg.badge == ticker::SWEEP_BADGE {
        passive::sweep(tm);
        reply(tm.reply, 0, &[]);
        return;
    }
    let words = message_words(&msg);
    // Only taskman mints caps to its endpoint, so every badge decodes.
    let Some(badge) = TaskmanBadge::decode(msg.badge) else {
        println!(
            "taskman: a message with a badge taskman never minted: {:#x}",
            msg.badge
        );
        return;
    };
    match badge {
        TaskmanBadge::Fault { pid, tid } => {
            let label = msg.info.label();
            let syscall = words.get(fault::UNKNOWN_SYSCALL_SYSCALL).copied();
            if label == fault::UNKNOWN_SYSCALL && syscall == Some(wire::THREAD_TRAP) {
                thread_trap(tm, Caller::thread(pid, tid, &words), &words);
                return;
            }
            if first_fp(tm, pid, tid, label, &words)
                || first_touch(tm, pid, label, &words)
                || process_threads::cap_fault(tm, pid, tid, &msg)
            {
                // The fault reply restarts the thread where its registers say.
                reply(tm.reply, 0, &[]);
                return;
            }
            let sig = fault_signal(pid, &msg, tm);
            end(tm, pid, wait::signaled(sig));
        }
        TaskmanBadge::File { pid, index } => {
            let (label, answer) = files::message(tm, pid, index, &msg, &words);
            reply(tm.reply, label, &answer);
        }
        TaskmanBadge::Side { pid } => {
            let caller = Caller {
                pid,
                tid: None,
                via: Via::SideChannel,
            };
            let answer =
                wire::decode(msg.info.label(), &words).and_then(|req| request(tm, caller, req));
            send_answer(tm, caller, answer);
        }
    }
}

/// Whether the fault was thread `tid`'s first floating-point instruction,
/// its FPU now on (`policy::first_fp_instruction`).
fn first_fp(tm: &Taskman, pid: Pid, tid: i32, label: Word, words: &[Word]) -> bool {
    let Some(tcb) = tm.processes.get(pid).and_then(|p| p.thread_tcb(tid)) else {
        return false;
    };
    let exception = words.get(fault::USER_EXCEPTION_NUMBER).copied();
    // The label first: a page fault needs no question to the kernel.
    label == fault::USER_EXCEPTION
        && policy::first_fp_instruction(label, exception.unwrap_or(0), fpu_on(tcb) == Some(false))
        && tcb.set_flags(tcb_flag::FPU_DISABLED, 0).is_ok()
}

/// Whether `tcb`'s FPU is on, as the kernel says: clearing and setting no
/// flag answers the flags in force.
fn fpu_on(tcb: sel4::Tcb) -> Option<bool> {
    let flags = tcb.set_flags(0, 0).ok()?;
    Some(flags & tcb_flag::FPU_DISABLED == 0)
}

/// Whether the fault (`label`, `words`) was a data access to a page left
/// for first touch, now mapped: the program's own or a later thread's
/// stack.
fn first_touch(tm: &mut Taskman, pid: Pid, label: Word, words: &[Word]) -> bool {
    let data = label == fault::VM_FAULT && words.get(fault::VM_FAULT_PREFETCH) == Some(&0);
    let Some(&addr) = words.get(fault::VM_FAULT_ADDR).filter(|_| data) else {
        return false;
    };
    process::demand_fault(tm, pid, addr) || process_threads::stack_fault(tm, pid, addr)
}

/// A thread request: its operation in a6, its words in a0..a5.
fn thread_trap(tm: &mut Taskman, caller: Caller, words: &[Word]) {
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    let args: Vec<Word> = (0..wire::THREAD_TRAP_WORDS)
        .map(|i| word(fault::UNKNOWN_SYSCALL_A0 + i))
        .collect();
    let answer = wire::decode(word(fault::UNKNOWN_SYSCALL_A6), &args)
        .and_then(|req| request(tm, caller, req));
    send_answer(tm, caller, answer);
}

fn send_answer(tm: &Taskman, caller: Caller, answer: Result<Answer, Errno>) {
    match answer {
        Ok(Answer::Reply(words)) => caller.via.answer(tm.reply, Ok(&words)),
        Err(e) => caller.via.answer(tm.reply, Err(e)),
        Ok(Answer::Parked | Answer::Nobody) => {}
    }
}

/// Who is asking, as the kernel-delivered badge says, and how to answer.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub pid: Pid,
    /// The calling thread: known only for thread requests, which come
    /// through the thread's own fault endpoint.
    pub tid: Option<i32>,
    pub via: Via,
}

impl Caller {
    fn thread(pid: Pid, tid: i32, words: &[Word]) -> Self {
        Caller {
            pid,
            tid: Some(tid),
            via: Via::trap(words),
        }
    }
}

/// The message registers a request carries, as many as its length says.
fn message_words(msg: &Received) -> Vec<Word> {
    let len = (msg.info.length() as usize).min(wire::MAX_WORDS);
    // SAFETY: taskman's runtime set up tp; the buffer is this thread's.
    let buffer = unsafe { &*ipc_buffer() };
    (0..len)
        .map(|i| if i < 4 { msg.mrs[i] } else { buffer.msg[i] })
        .collect()
}

/// Answers on a reply object: label 0 with `words`, or an error label.
pub fn reply(reply: CPtr, label: Word, words: &[Word]) {
    calls::send(reply, label, words)
}

fn request(tm: &mut Taskman, caller: Caller, req: Request) -> Result<Answer, Errno> {
    let pid = caller.pid;
    if tm.processes.get(pid).is_none() {
        return Err(ESRCH);
    }
    // What acts on the calling thread must know it from the kernel.
    let thread = || caller.tid.ok_or(EPERM);
    let makes_things = matches!(
        req,
        Request::Spawn(_)
            | Request::ThreadCreate { .. }
            | Request::ChannelCreate { .. }
            | Request::ConnectAttach { .. }
    );
    if makes_things && tm.headroom == Headroom::Tight {
        return Err(ENOMEM);
    }
    Ok(match req {
        Request::GetPid => Answer::Reply(alloc::vec![
            pid as Word,
            tm.processes.parent(pid).unwrap_or(TASKMAN) as Word,
        ]),
        Request::Spawn(s) => {
            let spawn = SpawnRequest {
                path: s.path,
                argv: s.argv.iter().collect(),
                envp: s.envp.iter().collect(),
                core: s.core,
                block_bits: s.block_bits,
                grant: s.grant,
            };
            let child = process::spawn(tm, pid, &spawn)?;
            Answer::Reply(alloc::vec![child as Word])
        }
        Request::Exit { status } => {
            end(tm, pid, wait::exited(status));
            Answer::Nobody
        }
        Request::WaitPid {
            pid: target,
            options,
        } => {
            let wait_for = WaitFor::from_arg(target)?;
            let untraced = options & WUNTRACED != 0;
            let found = match tm.processes.reap(pid, wait_for)? {
                None if untraced => tm.processes.take_stop(pid, wait_for),
                found => found,
            };
            match found {
                Some(r) => Answer::Reply(alloc::vec![r.pid as Word, r.status as Word]),
                None if options & WNOHANG != 0 => Answer::Reply(alloc::vec![0, 0]),
                None => {
                    park(tm, pid)?;
                    tm.processes.park(pid, wait_for, untraced);
                    Answer::Parked
                }
            }
        }
        Request::Kill {
            pid: target,
            signal: sig,
        } => {
            let parent = tm.processes.parent(target);
            let alive = tm.processes.get(target).is_some();
            let any = tm
                .processes
                .get(pid)
                .is_some_and(|p| p.grant.abilities.contains(Abilities::SIGNAL));
            if policy::kill(pid, target, parent, alive, sig, any)? == Kill::Nothing {
                return Ok(Answer::Reply(Vec::new()));
            }
            // A caller that signals itself and lives on is answered first:
            // a stop must find it back in user mode, not in this call.
            let to_self = target == pid;
            if to_self && !signal::ends(tm, pid, sig) {
                caller.via.answer(tm.reply, Ok(&[]));
            }
            if signal::send(tm, target, sig) == Outcome::End {
                end(tm, target, wait::signaled(sig));
            }
            if to_self {
                Answer::Nobody
            } else {
                Answer::Reply(Vec::new())
            }
        }
        Request::SignalAction {
            signal: sig,
            disposition,
        } => Answer::Reply(alloc::vec![
            signal::action(tm, pid, sig, disposition)? as Word
        ]),
        Request::ConsoleClaim { chid, event } => {
            console::claim(tm, pid, chid, event)?;
            Answer::Reply(Vec::new())
        }
        Request::ConsoleTake => Answer::Reply(console::take(tm, pid, wire::CONSOLE_TAKE_WORDS)?),
        Request::SignalWait => match signal::wait(tm, pid, thread()?, caller.via)? {
            Some(sig) => Answer::Reply(alloc::vec![sig as Word]),
            None => Answer::Parked,
        },
        Request::Pause => {
            park(tm, pid)?;
            Answer::Parked
        }
        Request::Census => {
            // A full slot scan: it costs in proportion to the whole system.
            let granted = tm.processes.get(pid).map(|p| p.grant.abilities);
            if !granted.is_some_and(|a| a.contains(Abilities::CENSUS)) {
                return Err(EPERM);
            }
            // The kernel counts slots only in a debug build.
            if !sel4_config::platform::KERNEL_DEBUG {
                return Err(ENOSYS);
            }
            Answer::Reply(census(tm).to_words().to_vec())
        }
        Request::SpawnProfile => {
            // Timing of the whole system: for those that may take a census.
            let granted = tm.processes.get(pid).map(|p| p.grant.abilities);
            if !granted.is_some_and(|a| a.contains(Abilities::CENSUS)) {
                return Err(EPERM);
            }
            let profile = core::mem::take(&mut tm.spawn_profile);
            Answer::Reply(profile.to_words().to_vec())
        }
        Request::ThreadCreate {
            entry,
            function,
            argument,
        } => {
            let tid = process_threads::create(tm, pid, entry, function, argument)?;
            Answer::Reply(alloc::vec![tid as Word])
        }
        Request::ThreadExit { value } => {
            let tid = thread()?;
            process_threads::exit(tm, pid, tid, value)?;
            // Its bound notification went with it.
            channel::thread_gone(tm, pid, tid);
            timer::forget_thread(tm, pid, tid);
            Answer::Nobody
        }
        Request::ClockInfo => Answer::Reply(timer::info(tm)),
        Request::TimerCreate { clock, event } => {
            let id = timer::create(tm, pid, clock, event)?;
            Answer::Reply(alloc::vec![id as Word])
        }
        Request::TimerSettime {
            id,
            flags,
            value,
            interval,
        } => Answer::Reply(timer::settime(tm, pid, id, flags, value, interval)?),
        Request::TimerDestroy { id } => {
            timer::destroy(tm, pid, id)?;
            Answer::Reply(Vec::new())
        }
        Request::TimerWake { tid, deadline } => {
            let id = timer::wake_at(tm, pid, tid, deadline)?;
            Answer::Reply(alloc::vec![id as Word])
        }
        Request::TimerCall { deadline, pc } => {
            let id = timer::cut_call_at(tm, pid, thread()?, deadline, pc)?;
            Answer::Reply(alloc::vec![id as Word])
        }
        Request::Sleep { deadline } => {
            match timer::sleep(tm, pid, thread()?, caller.via, deadline)? {
                Some(()) => Answer::Reply(Vec::new()),
                None => Answer::Parked,
            }
        }
        Request::ThreadConsumed { tid } => {
            let sc = tm
                .processes
                .get(pid)
                .and_then(|p| p.thread_sc(tid))
                .ok_or(ESRCH)?;
            let us = sc.consumed().map_err(|_| ESRCH)?;
            Answer::Reply(alloc::vec![us])
        }
        Request::ThreadJoin { tid } => {
            let joiner = thread()?;
            match process_threads::join(tm, pid, joiner, tid, caller.via)? {
                Some(value) => Answer::Reply(alloc::vec![value]),
                None => Answer::Parked,
            }
        }
        Request::ThreadState { tid } => {
            let tcb = tm
                .processes
                .get(pid)
                .and_then(|p| p.thread_tcb(tid))
                .ok_or(ESRCH)?;
            let fpu = fpu_on(tcb).ok_or(ESRCH)?;
            let holds = passive::holds_context(tm, pid, tid)?;
            Answer::Reply(alloc::vec![holds as Word, fpu as Word])
        }
        Request::Reply {
            reply,
            tid,
            label,
            words,
        } => {
            let p = tm.processes.get(pid).ok_or(ESRCH)?;
            if reply as usize >= p.ipc.reply_objects {
                return Err(EINVAL);
            }
            calls::send(p.object(obj::REPLIES + reply as u64), label, words);
            tm.rebind_after = Some((pid, tid));
            Answer::Reply(Vec::new())
        }
        Request::ChannelCreate { flags } => {
            Answer::Reply(channel::create(tm, pid, thread()?, flags)?)
        }
        r @ (Request::ChannelDestroy { .. }
        | Request::PulseTake { .. }
        | Request::ChannelReceive { .. }) => Answer::Reply(channel::request(tm, pid, r)?),
        Request::DeliverEvent {
            client,
            scoid,
            event,
        } => {
            event::deliver_for_server(tm, pid, client, scoid, &event)?;
            Answer::Reply(Vec::new())
        }
        r @ (Request::ConnectAttach { .. }
        | Request::ConnectDetach { .. }
        | Request::ConnectServerInfo { .. }
        | Request::PulseSend { .. }) => Answer::Reply(connection::request(tm, pid, r)?),
        r @ (Request::PathAttach { .. }
        | Request::PathDetach { .. }
        | Request::PathResolve { .. }) => Answer::Reply(path::request(tm, pid, r)?),
        Request::DeviceFind { index, compatible } => {
            Answer::Reply(device::find(tm, compatible, index)?.to_vec())
        }
        Request::MmapDevice { paddr, len, prot } => {
            Answer::Reply(alloc::vec![device::map(tm, pid, paddr, len, prot)?])
        }
        Request::MunmapDevice { vaddr } => {
            device::unmap(tm, pid, vaddr)?;
            Answer::Reply(Vec::new())
        }
        Request::InterruptAttach { irq, event } => {
            Answer::Reply(alloc::vec![interrupt::attach(tm, pid, irq, event)? as Word])
        }
        Request::InterruptUnmask { id } => {
            interrupt::unmask(tm, pid, id)?;
            Answer::Reply(Vec::new())
        }
        Request::InterruptDetach { id } => {
            interrupt::detach(tm, pid, id)?;
            Answer::Reply(Vec::new())
        }
        r @ (Request::Lease { .. }
        | Request::Unlease { .. }
        | Request::BulkRead(_)
        | Request::BulkWrite(_)) => Answer::Reply(bulk::request(tm, pid, r)?),
    })
}

/// Before a process's objects go: its channels end (blocked senders get
/// `EBADF`), every client still waiting for its reply gets `ESRVRFAULT`,
/// and the owners of channels it was connected to hear of it (their
/// runtimes drop the calls of its they hold).
fn end_ipc(tm: &mut Taskman, pid: Pid) {
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    let owned: Vec<i32> = p.ipc.cells.iter().flatten().copied().collect();
    let connected: Vec<(i32, i32)> = p
        .ipc
        .connections
        .iter()
        .filter_map(|(c, t)| match t {
            Target::Channel(chid) => Some((chid, c.encode())),
            _ => None,
        })
        .collect();
    for chid in owned {
        channel::destroy(tm, chid, EBADF);
    }
    tm.paths.remove_process(pid);
    if let Some(p) = tm.processes.get_mut(pid) {
        for k in 0..p.ipc.reply_objects as u64 {
            let label = error_label(ESRVRFAULT);
            sel4_sys::send(
                p.object(obj::REPLIES + k),
                MessageInfo::new(label, 0, 0, 0),
                [0; 4],
            );
        }
        if let Some(line) = p.ipc.console_line.take() {
            println!("{}", alloc::string::String::from_utf8_lossy(&line));
        }
    }
    for &(chid, coid) in &connected {
        connection::disconnected(tm, pid, chid, coid);
    }
    for (i, &(chid, _)) in connected.iter().enumerate() {
        if connected[..i].iter().all(|&(c, _)| c != chid) {
            channel::client_gone(tm, chid, pid);
        }
    }
}

/// Sets the current reply object aside for `pid` and takes a fresh one
/// for the loop. One thread of a process can wait in `waitpid` or `pause`
/// at a time; another gets `EBUSY`.
fn park(tm: &mut Taskman, pid: Pid) -> Result<(), Errno> {
    if tm.processes.get(pid).is_none_or(|p| p.parked.is_some()) {
        return Err(EBUSY);
    }
    let fresh = replies::spare(tm)?;
    let held = core::mem::replace(&mut tm.reply, fresh);
    if let Some(p) = tm.processes.get_mut(pid) {
        p.parked = Some(held);
    }
    Ok(())
}

/// Ends process `pid` with wait status `status`: tears it down and answers
/// every parent whose `waitpid` this satisfies. The teardown order lives
/// here and nowhere else:
///
/// 1. every thread is retired, each by the agent of its own core, so
///    nothing the process does races what follows;
/// 2. its channels end and the clients it held get `ESRVRFAULT`
///    (`end_ipc`);
/// 3. it leaves the process table, becoming a zombie;
/// 4. its VSpace, block, top-level entry and ASID go back, then its
///    threads' blocks (after the VSpace, so their pages need no
///    unmapping), and the reply object it was parked on;
/// 5. once the request is answered, a passive server its calls reached,
///    left running on one of its scheduling contexts (deleted now), gets
///    its own back (`passive::rescue`).
pub fn end(tm: &mut Taskman, pid: Pid, status: i32) {
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    let servers = passive::reachable_servers(tm, pid);
    let parent = tm.processes.parent(pid);
    stop(tm, p);
    end_ipc(tm, pid);
    let Some((mut process, wakeups)) = tm.processes.exit(pid, status) else {
        return;
    };
    passive::forget_process(tm, &process);
    timer::forget_process(tm, pid);
    interrupt::release(tm, pid);
    console::forget_process(tm, pid);
    device::release(tm, core::mem::take(&mut process.devices));
    process::release_objects(tm, &process);
    process_threads::destroy_all(tm, &mut process);
    bulk::release(tm, core::mem::take(&mut process.direct));
    let held = process.parked.into_iter();
    tm.replies
        .extend(held.chain(process.signal_waiter.map(|(_, w)| w.reply)));
    for w in wakeups {
        process::answer_waiter(tm, w);
    }
    if let Some(parent) = parent {
        signal::child_changed(tm, parent);
    }
    tm.rescue_after.extend(servers);
    if pid == INIT {
        tm.init_status = Some(status);
    }
}

/// Stops a process's threads for good: each is retired (suspended, its
/// TCB deleted) by the agent of its own core (see `core_agents` for the
/// kernel race this avoids).
fn stop(tm: &Taskman, process: &Process) {
    process_threads::stop_all(tm, process);
    if let Err(e) = tm
        .agents
        .retire(tm.objects.root, process.core, process.tcb().0)
    {
        println!(
            "taskman: cannot retire the thread of {}: {e:?}",
            process.path
        );
    }
}

/// The signal a fault kills with, after one log line.
fn fault_signal(pid: Pid, msg: &Received, tm: &Taskman) -> u32 {
    let path = tm
        .processes
        .get(pid)
        .map_or("?", |p: &Process| p.path.as_str());
    let m = message_words(msg);
    let word = |i: usize| m.get(i).copied().unwrap_or(0);
    let (sig, what) = policy::fault_signal(msg.info.label(), word(fault::USER_EXCEPTION_NUMBER));
    let (pc, addr) = match msg.info.label() {
        fault::VM_FAULT => (word(fault::VM_FAULT_IP), word(fault::VM_FAULT_ADDR)),
        _ => (word(0), 0),
    };
    println!(
        "taskman: pid {pid} ({path}) killed by {}: {what} at {addr:#x}, pc {pc:#x}",
        qsoe_abi::signal::name(sig)
    );
    sig
}

/// Taskman's accounting, each figure as its bookkeeping says and as the
/// kernel reports it: every slot of taskman's CSpace (its leaves and the
/// processes' object CNodes) and of every process's own CSpace root.
pub fn census(tm: &mut Taskman) -> Census {
    let objects = &mut tm.objects;
    let (mut kernel_slots, mut kernel_untyped_slots) = (0, 0);
    let leaves = objects
        .slot_leaves()
        .into_iter()
        .map(|leaf| (leaf, taskman_core::cspace::LEAF_BITS))
        .chain(tm.processes.alive().map(|(_, p)| p.object_cnode()));
    for (leaf, radix) in leaves.collect::<Vec<_>>() {
        let (all, untyped) = objects.kernel_count_leaf(leaf, radix);
        kernel_slots += all;
        kernel_untyped_slots += untyped;
    }
    let roots: Vec<CPtr> = tm
        .processes
        .alive()
        .map(|(_, p)| p.object(taskman_core::spawn_plan::object_slot::CNODE))
        .collect();
    let process_slots = roots
        .into_iter()
        .map(|root| objects.kernel_count_cnode(root, qsoe_abi::layout::CNODE_BITS))
        .sum();
    let kernel_free_bytes = objects.kernel_free_bytes().unwrap_or(0);
    let heap = sel4_root_task::heap_use();
    let alive = || tm.processes.alive().map(|(_, p)| p);
    Census {
        kernel_slots,
        kernel_untyped_slots,
        allocator_slots: objects.slots_in_use() as u64,
        pool_split_caps: objects.pool.split_nodes() as u64,
        pool_free_bytes: objects.pool.free_bytes(),
        kernel_free_bytes,
        pool_total_bytes: objects.pool.total_bytes(),
        largest_free_bits: objects.pool.largest_free_bits().unwrap_or(0) as u64,
        processes: tm.processes.len() as u64,
        spare_replies: tm.replies.len() as u64,
        process_slots,
        heap_used_bytes: heap.used as u64,
        heap_mapped_bytes: heap.grown_mapped as u64,
        channels: tm.channels.len() as u64,
        connections: alive().map(|p| p.ipc.connections.len() as u64).sum(),
        threads: alive()
            .map(|p| p.threads.iter_running().count() as u64)
            .sum(),
        asid_pools: objects.asid_pools_made() as u64,
        heap_pages: tm.heap.pages() as u64,
        timers: tm.timers.table.len() as u64,
    }
}
