//! Benchmarks, run when the boot arguments say `qsoe.mode=bench`. They
//! print `bench: NAME VALUE` lines and never fail on a number: QEMU's
//! clocks only mean something as ratios taken in one boot. Taskman
//! measures the raw round trip within one address space here;
//! `/bin/qsoe-bench` measures the rest between processes.

use crate::clock::cycles;
use crate::taskman_threads::{TaskmanThread, FULL_TIME};
use crate::Taskman;
use sel4::Error;
use sel4_root_task::println;
use sel4_sys::{object, CPtr, MessageInfo, Word};

const ROUND_TRIPS: u64 = 20_000;

/// Runs every benchmark and prints its figures.
pub fn run(tm: &mut Taskman) {
    let unit = tm.boot.args.clock.unit();
    match raw_round_trip(tm) {
        Ok(n) => println!("bench: raw_passive_{unit}_one_address_space {n}"),
        Err(e) => println!("taskman: raw IPC benchmark could not run: {e:?}"),
    }
}

/// The round trip everything else is measured against: `seL4_Call` to a
/// passive server on the same core that answers with `seL4_ReplyRecv`,
/// one message register each way (the kernel's slowpath: our kernels are
/// built without the fastpath, see cmake/kernel-settings.cmake). Answers
/// cycles per round trip.
pub fn raw_round_trip(tm: &mut Taskman) -> Result<u64, Error> {
    let endpoint = tm.objects.create(object::ENDPOINT, 0)?;
    let reply = tm.objects.create(object::REPLY, 0)?;
    let result = TaskmanThread::start(tm, 0, 255, FULL_TIME, echo_server, [endpoint, reply])
        .and_then(|server| {
            // The first call runs the server on its own scheduling context until
            // it waits in ReplyRecv; without it, it becomes passive and runs on
            // each caller's donated time, as passive servers do.
            sel4_sys::call(endpoint, MessageInfo::new(0, 0, 0, 1), [0; 4]);
            let timed = server.sc.unbind_tcb(server.tcb).map(|()| {
                let start = cycles();
                for i in 0..ROUND_TRIPS {
                    sel4_sys::call(endpoint, MessageInfo::new(0, 0, 0, 1), [i, 0, 0, 0]);
                }
                (cycles() - start) / ROUND_TRIPS
            });
            server.destroy(tm).and(timed)
        });
    tm.objects.destroy(reply)?;
    tm.objects.destroy(endpoint)?;
    result
}

extern "C" fn echo_server(endpoint: CPtr, reply: CPtr, _tcb: Word) -> ! {
    let mut msg = sel4_sys::recv(endpoint, reply);
    loop {
        msg = sel4_sys::reply_recv(endpoint, MessageInfo::new(0, 0, 0, 1), msg.mrs, reply);
    }
}
