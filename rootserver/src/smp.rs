//! One thread on every core, to prove each core schedules taskman's work:
//! each asks the kernel which core it runs on and reports that to the
//! initial thread over an endpoint.

use crate::threads::LocalThread;
use crate::Taskman;
use alloc::vec::Vec;
use sel4::{Error, Tcb};
use sel4_config::platform::HARTS;
use sel4_sys::{object, CPtr, MessageInfo, Word};

/// Below the initial thread's 255 so that it is never starved on core 0.
const PROBE_PRIORITY: Word = 200;

/// What one probe thread told the initial thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreReport {
    /// The core the thread was configured for.
    pub core: u64,
    /// The core the kernel says the thread ran on.
    pub affinity: u64,
}

/// Starts a probe on every core, collects the reports and tears the probes
/// down again.
pub fn probe_every_core(tm: &mut Taskman) -> Result<Vec<CoreReport>, Error> {
    let cores = tm.bootinfo.num_nodes.min(HARTS as u64);
    let endpoint = tm.objects.create(object::ENDPOINT, 0)?;
    let reply = tm.objects.create(object::REPLY, 0)?;
    let mut probes = Vec::new();
    let mut result = Ok(());
    for core in 0..cores {
        match LocalThread::start(tm, core, PROBE_PRIORITY, probe_main, [core, endpoint]) {
            Ok(t) => probes.push(t),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }

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
        if let Err(e) = p.destroy(tm) {
            result = Err(e);
        }
    }
    for slot in [reply, endpoint] {
        tm.objects.destroy(slot)?;
    }
    reports.sort_by_key(|r| r.core);
    result.map(|()| reports)
}

extern "C" fn probe_main(core: Word, endpoint: CPtr, tcb: CPtr) -> ! {
    let affinity = Tcb(tcb).affinity();
    sel4_sys::call(
        endpoint,
        MessageInfo::new(0, 0, 0, 2),
        [core, affinity, 0, 0],
    );
    // The initial thread destroys this thread once every probe reported.
    // Until then it must not wait on the endpoint: as a receiver there it
    // would take another probe's report, and that probe would never get its
    // answer.
    loop {
        let _ = Tcb(tcb).suspend();
    }
}
