//! Taskman's request loop: every process's side channel and fault
//! endpoint end at one endpoint, and the badge says who is speaking and
//! whether it is a fault. Nothing a process sends can stop the loop: a
//! request that does not decode gets an error reply.

use crate::process::{self, Process, SpawnRequest};
use crate::{ipc, process_threads, Taskman};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EBUSY, EINVAL, EPERM, ESRCH};
use qsoe_abi::ipc::{error_label, taskman_badge};
use qsoe_abi::signal::{self, SIGBUS, SIGILL, SIGKILL, SIGSEGV, SIGSYS};
use qsoe_abi::wait::{self, WNOHANG};
use qsoe_abi::wire::{self, Census, Request};
use qsoe_abi::Pid;
use sel4_root_task::println;
use sel4_sys::{fault, ipc_buffer, object, CPtr, MessageInfo, Received, Word};
use taskman_core::processes::{WaitFor, Wakeup, INIT, TASKMAN};

/// What the loop does after a request.
enum Answer {
    Reply(Vec<Word>),
    Error(Errno),
    /// The caller is gone (it exited or was killed): nobody to answer.
    Nobody,
    /// The caller blocks; its reply object was set aside.
    Parked,
}

/// Serves requests and faults until init ends; answers init's wait status.
pub fn serve(tm: &mut Taskman) -> i32 {
    let endpoint = tm.endpoint.0;
    loop {
        let msg = sel4_sys::recv(endpoint, tm.reply);
        handle(tm, msg);
        if let Some(status) = tm.init_status.take() {
            return status;
        }
    }
}

fn handle(tm: &mut Taskman, msg: Received) {
    let pid = (msg.badge & taskman_badge::PID_MASK) as u32 as Pid;
    if msg.badge & taskman_badge::FAULT != 0 {
        if ipc::cap_fault(tm, pid, msg.badge, &msg) {
            // The fault reply restarts the thread where its registers say.
            reply(tm.reply, 0, &[]);
            return;
        }
        let sig = fault_signal(pid, &msg, tm);
        end(tm, pid, wait::signaled(sig));
        return;
    }
    let words = message_words(&msg);
    if msg.badge & taskman_badge::CONSOLE != 0 {
        let label = ipc::console(tm, pid, msg.badge, &msg, &words);
        sel4_sys::send(tm.reply, MessageInfo::new(label, 0, 0, 0), [0; 4]);
        return;
    }
    let answer = match wire::decode(msg.info.label(), &words) {
        Err(e) => Answer::Error(e),
        Ok(req) => match request(tm, pid, req) {
            Ok(a) => a,
            Err(e) => Answer::Error(e),
        },
    };
    match answer {
        Answer::Reply(words) => reply(tm.reply, 0, &words),
        Answer::Error(e) => reply(tm.reply, error_label(e), &[]),
        Answer::Parked | Answer::Nobody => {}
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
    // SAFETY: as in `message_words`.
    let buffer = unsafe { &mut *ipc_buffer() };
    for (i, &w) in words.iter().enumerate().skip(4) {
        buffer.msg[i] = w;
    }
    let mut mrs = [0; 4];
    for (m, &w) in mrs.iter_mut().zip(words) {
        *m = w;
    }
    sel4_sys::send(
        reply,
        MessageInfo::new(label, 0, 0, words.len() as Word),
        mrs,
    );
}

fn request(tm: &mut Taskman, pid: Pid, req: Request) -> Result<Answer, Errno> {
    if tm.processes.get(pid).is_none() {
        return Err(ESRCH);
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
            match tm.processes.reap(pid, wait_for)? {
                Some(r) => Answer::Reply(alloc::vec![r.pid as Word, r.status as Word]),
                None if options & WNOHANG != 0 => Answer::Reply(alloc::vec![0, 0]),
                None => {
                    park(tm, pid)?;
                    tm.processes.park(pid, wait_for);
                    Answer::Parked
                }
            }
        }
        Request::Kill {
            pid: target,
            signal: sig,
        } => {
            if sig == 0 || sig > signal::SIG_MAX {
                return Err(EINVAL);
            }
            if target != pid && tm.processes.parent(target) != Some(pid) {
                return Err(if tm.processes.parent(target).is_some() {
                    EPERM
                } else {
                    ESRCH
                });
            }
            if tm.processes.get(target).is_none() {
                // A zombie: already dead.
                return Ok(Answer::Reply(Vec::new()));
            }
            end(tm, target, wait::signaled(sig));
            if target == pid {
                Answer::Nobody
            } else {
                Answer::Reply(Vec::new())
            }
        }
        Request::Pause => {
            park(tm, pid)?;
            Answer::Parked
        }
        Request::Census => Answer::Reply(census(tm).to_words().to_vec()),
        Request::ThreadCreate {
            entry,
            function,
            argument,
        } => {
            let tid = process_threads::create(tm, pid, entry, function, argument)?;
            Answer::Reply(alloc::vec![tid as Word])
        }
        Request::ThreadExit { tid, value } => {
            process_threads::exit(tm, pid, tid, value)?;
            Answer::Nobody
        }
        Request::ThreadJoin { tid } => match process_threads::join(tm, pid, tid)? {
            Some(value) => Answer::Reply(alloc::vec![value]),
            None => Answer::Parked,
        },
        ipc_request @ (Request::ChannelCreate { .. }
        | Request::ChannelDestroy { .. }
        | Request::ConnectAttach { .. }
        | Request::ConnectDetach { .. }
        | Request::ConnectServerInfo { .. }
        | Request::PulseSend { .. }
        | Request::PulseTake { .. }) => Answer::Reply(ipc::request(tm, pid, ipc_request)?),
    })
}

/// Reply objects made at boot for callers that block. The usual case then
/// never creates kernel objects while serving, so taskman's slot count only
/// moves when more than this many processes are blocked at once.
pub const SPARE_REPLIES: usize = 16;

/// Makes the boot stock of spare reply objects.
pub fn stock_replies(tm: &mut Taskman) {
    while tm.replies.len() < SPARE_REPLIES {
        match tm.objects.create(object::REPLY, 0) {
            Ok(r) => tm.replies.push(r),
            Err(e) => {
                println!("taskman: cannot make spare reply objects: {e:?}");
                return;
            }
        }
    }
}

/// A reply object for the loop to go on with while the current one holds
/// a blocked caller.
pub fn spare_reply(tm: &mut Taskman) -> Result<CPtr, Errno> {
    match tm.replies.pop() {
        Some(r) => Ok(r),
        None => tm.objects.create(object::REPLY, 0).map_err(|_| EAGAIN),
    }
}

/// Sets the current reply object aside for `pid` and takes a fresh one
/// for the loop. One thread of a process can wait in `waitpid` or `pause`
/// at a time; another gets `EBUSY`.
fn park(tm: &mut Taskman, pid: Pid) -> Result<(), Errno> {
    if tm.processes.get(pid).is_none_or(|p| p.parked.is_some()) {
        return Err(EBUSY);
    }
    let fresh = spare_reply(tm)?;
    let held = core::mem::replace(&mut tm.reply, fresh);
    if let Some(p) = tm.processes.get_mut(pid) {
        p.parked = Some(held);
    }
    Ok(())
}

/// Ends process `pid` with wait status `status`: tears it down and answers
/// every parent whose `waitpid` this satisfies.
pub fn end(tm: &mut Taskman, pid: Pid, status: i32) {
    // Its thread stops first, so nothing it does races the teardown.
    let Some(p) = tm.processes.get(pid) else {
        return;
    };
    process::stop(tm, p);
    ipc::process_ending(tm, pid);
    let Some((process, wakeups)) = tm.processes.exit(pid, status) else {
        return;
    };
    process::destroy(tm, process);
    for w in wakeups {
        wake(tm, w);
    }
    if pid == INIT {
        tm.init_status = Some(status);
    }
}

fn wake(tm: &mut Taskman, w: Wakeup) {
    let Some(parent) = tm.processes.get_mut(w.parent) else {
        return;
    };
    if let Some(held) = parent.parked.take() {
        reply(held, 0, &[w.reaped.pid as Word, w.reaped.status as Word]);
        tm.replies.push(held);
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
    let (sig, what) = match msg.info.label() {
        fault::VM_FAULT => (SIGSEGV, "page fault"),
        fault::USER_EXCEPTION => match word(fault::USER_EXCEPTION_NUMBER) {
            // Misaligned fetch, load, store.
            0 | 4 | 6 => (SIGBUS, "misaligned access"),
            _ => (SIGILL, "illegal instruction"),
        },
        fault::CAP_FAULT | fault::UNKNOWN_SYSCALL => (SIGSYS, "bad system call"),
        _ => (SIGKILL, "fault"),
    };
    let (pc, addr) = match msg.info.label() {
        fault::VM_FAULT => (word(fault::VM_FAULT_IP), word(fault::VM_FAULT_ADDR)),
        _ => (word(0), 0),
    };
    println!(
        "taskman: pid {pid} ({path}) killed by {}: {what} at {addr:#x}, pc {pc:#x}",
        signal::name(sig)
    );
    sig
}

/// Taskman's accounting, each figure as its bookkeeping says and as the
/// kernel reports it.
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
    let kernel_free_bytes = objects.kernel_free_bytes().unwrap_or(0);
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
    }
}
