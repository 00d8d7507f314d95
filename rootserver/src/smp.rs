//! One thread on every core, to prove each core schedules taskman's work.
//!
//! Each probe thread gets its own TCB and scheduling context, configured
//! through its core's SchedControl, asks the kernel which core it runs on,
//! and reports that to the initial thread over an endpoint.

use crate::Taskman;
use alloc::vec::Vec;
use sel4::{Error, Frame, SchedContext, SchedControl, Tcb, VSpace};
use sel4_config::platform::HARTS;
use sel4_root_task::ThreadLocalBlock;
use sel4_sys::{
    init_cap, object, size_bits, CPtr, CapRights, IpcBuffer, MessageInfo, UserContext, Word,
};

const STACK_SIZE: usize = 16 * 1024;
/// Below the initial thread's 255 so that it is never starved on core 0.
const PROBE_PRIORITY: Word = 200;
/// Budget and period of a probe's scheduling context, in microseconds.
const PROBE_BUDGET_US: Word = 5_000;

#[repr(C, align(16))]
struct Stacks([[u8; STACK_SIZE]; HARTS]);
static mut STACKS: Stacks = Stacks([[0; STACK_SIZE]; HARTS]);
static mut THREADS: [ThreadLocalBlock; HARTS] =
    [const { ThreadLocalBlock::new(core::ptr::null_mut(), 0) }; HARTS];

/// What one probe thread told the initial thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreReport {
    /// The core the thread was configured for.
    pub core: u64,
    /// The core the kernel says the thread ran on.
    pub affinity: u64,
}

/// Objects of one probe thread, destroyed once it has reported.
struct Probe {
    tcb: CPtr,
    sc: CPtr,
    ipc_frame: CPtr,
}

/// Starts a probe on every core, collects the reports and tears the probes
/// down again.
pub fn probe_every_core(tm: &mut Taskman) -> Result<Vec<CoreReport>, Error> {
    let cores = tm.bootinfo.num_nodes.min(HARTS as u64);
    let endpoint = tm.objects.create(object::ENDPOINT, 0)?;
    let reply = tm.objects.create(object::REPLY, 0)?;
    let mut probes = Vec::new();
    let mut result = (0..cores).try_for_each(|core| {
        let probe = start_probe(tm, core, endpoint)?;
        probes.push(probe);
        Ok(())
    });

    let mut reports = Vec::new();
    if result.is_ok() {
        for _ in 0..probes.len() {
            let msg = sel4_sys::recv(endpoint, reply);
            reports.push(CoreReport {
                core: msg.mrs[0],
                affinity: msg.mrs[1],
            });
            sel4_sys::send(reply, MessageInfo::new(0, 0, 0, 0), [0; 4]);
        }
    }
    for p in probes {
        for slot in [p.tcb, p.sc, p.ipc_frame] {
            if let Err(e) = tm.objects.destroy(slot) {
                result = Err(e);
            }
        }
    }
    for slot in [reply, endpoint] {
        tm.objects.destroy(slot)?;
    }
    reports.sort_by_key(|r| r.core);
    result.map(|()| reports)
}

fn start_probe(tm: &mut Taskman, core: u64, endpoint: CPtr) -> Result<Probe, Error> {
    let objects = &mut tm.objects;
    let tcb = objects.create(object::TCB, 0)?;
    let sc = objects.create(object::SCHED_CONTEXT, size_bits::MIN_SCHED_CONTEXT)?;
    let ipc_frame = objects.create(object::PAGE_4K, 0)?;
    let probe = Probe { tcb, sc, ipc_frame };
    let ipc_buffer = tm
        .window
        .map(objects, Frame(ipc_frame), CapRights::READ_WRITE)?;

    let index = core as usize;
    // SAFETY: each probe has its own stack and block, used by no one else
    // until the probe has been destroyed.
    let (stack_top, tp) = unsafe {
        let threads = &mut *core::ptr::addr_of_mut!(THREADS);
        threads[index] = ThreadLocalBlock::new(ipc_buffer as *mut IpcBuffer, core);
        let stacks = &*core::ptr::addr_of!(STACKS);
        (
            stacks.0[index].as_ptr_range().end as Word,
            threads[index].thread_pointer() as Word,
        )
    };

    let thread = Tcb(tcb);
    thread.configure(
        objects.root,
        0,
        VSpace(init_cap::VSPACE),
        ipc_buffer,
        Frame(ipc_frame),
    )?;
    let control = SchedControl(tm.bootinfo.sched_control.start + core);
    control.configure(SchedContext(sc), PROBE_BUDGET_US, PROBE_BUDGET_US, 0)?;
    thread.set_sched_params(
        Tcb(init_cap::TCB),
        0,
        PROBE_PRIORITY,
        SchedContext(sc),
        sel4::Endpoint::NULL,
    )?;
    let mut regs = UserContext {
        pc: probe_main as *const () as Word,
        sp: stack_top,
        tp,
        ..Default::default()
    };
    regs.a[..3].copy_from_slice(&[core, endpoint, tcb]);
    thread.write_registers(true, &regs)?;
    Ok(probe)
}

extern "C" fn probe_main(core: Word, endpoint: CPtr, tcb: CPtr) -> ! {
    Tcb(tcb).set_name(match core {
        0 => "probe-core0",
        1 => "probe-core1",
        2 => "probe-core2",
        _ => "probe-core3+",
    });
    let affinity = Tcb(tcb).affinity();
    sel4_sys::call(
        endpoint,
        MessageInfo::new(0, 0, 0, 2),
        [core, affinity, 0, 0],
    );
    // The initial thread destroys this thread once every probe reported.
    loop {
        sel4_sys::wait(endpoint);
    }
}
