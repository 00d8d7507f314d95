//! Threads in taskman's own address space and CSpace: each with its own
//! TCB, scheduling context (configured through one core's SchedControl) and
//! IPC buffer frame, all from taskman's reserve, and a stack and
//! thread-control block from a small static pool.

use crate::Taskman;
use core::sync::atomic::{AtomicBool, Ordering};
use sel4::{Error, Frame, SchedContext, SchedControl, Tcb, VSpace};
use sel4_root_task::ThreadLocalBlock;
use sel4_sys::{init_cap, object, size_bits, CPtr, CapRights, IpcBuffer, UserContext, Word};

const STACK_SIZE: usize = 16 * 1024;
/// Threads taskman can run at once besides its initial thread.
const POOL: usize = 12;
/// A scheduling context's budget and period, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub budget_us: Word,
    pub period_us: Word,
}

/// All of the core's time, round robin with the other threads at the
/// same priority.
pub const FULL_TIME: Timing = Timing {
    budget_us: 5_000,
    period_us: 5_000,
};

#[repr(C, align(16))]
struct Stacks([[u8; STACK_SIZE]; POOL]);
static mut STACKS: Stacks = Stacks([[0; STACK_SIZE]; POOL]);
static mut BLOCKS: [ThreadLocalBlock; POOL] =
    [const { ThreadLocalBlock::new(core::ptr::null_mut(), 0) }; POOL];
static TAKEN: [AtomicBool; POOL] = [const { AtomicBool::new(false) }; POOL];

/// A running thread of taskman's.
pub struct TaskmanThread {
    pub tcb: Tcb,
    pub sc: SchedContext,
    ipc_frame: CPtr,
    pool_index: usize,
}

impl TaskmanThread {
    /// Starts `entry(args[0], args[1], tcb)` on `core` at `priority` with
    /// `timing`; the third argument is the slot of the thread's own TCB.
    pub fn start(
        tm: &mut Taskman,
        core: u64,
        priority: Word,
        timing: Timing,
        entry: extern "C" fn(Word, Word, Word) -> !,
        args: [Word; 2],
    ) -> Result<Self, Error> {
        let pool_index = (0..POOL)
            .find(|&i| {
                TAKEN[i]
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            })
            .ok_or(Error::NotEnoughMemory { bytes_left: 0 })?;
        let mut created = [0; 3];
        let result = Self::build(
            tm,
            (core, priority, timing),
            entry,
            args,
            pool_index,
            &mut created,
        );
        if result.is_err() {
            for slot in created.into_iter().filter(|&s| s != 0) {
                let _ = tm.objects.destroy(slot);
            }
            TAKEN[pool_index].store(false, Ordering::Release);
        }
        result
    }

    fn build(
        tm: &mut Taskman,
        (core, priority, timing): (u64, Word, Timing),
        entry: extern "C" fn(Word, Word, Word) -> !,
        args: [Word; 2],
        pool_index: usize,
        created: &mut [CPtr; 3],
    ) -> Result<Self, Error> {
        let objects = &mut tm.objects;
        created[0] = objects.create(object::TCB, 0)?;
        created[1] = objects.create(object::SCHED_CONTEXT, size_bits::MIN_SCHED_CONTEXT)?;
        created[2] = objects.create(object::PAGE_4K, 0)?;
        let (tcb, sc, ipc_frame) = (Tcb(created[0]), SchedContext(created[1]), created[2]);
        let ipc_buffer = tm
            .window
            .map(objects, Frame(ipc_frame), CapRights::READ_WRITE)?;

        // SAFETY: the pool entry is ours until `destroy` gives it back.
        let (stack_top, tp) = unsafe {
            let blocks = &mut *core::ptr::addr_of_mut!(BLOCKS);
            blocks[pool_index] =
                ThreadLocalBlock::new(ipc_buffer as *mut IpcBuffer, pool_index as Word);
            let stacks = &*core::ptr::addr_of!(STACKS);
            (
                stacks.0[pool_index].as_ptr_range().end as Word,
                blocks[pool_index].thread_pointer() as Word,
            )
        };

        tcb.configure(
            objects.root,
            0,
            VSpace(init_cap::VSPACE),
            ipc_buffer,
            Frame(ipc_frame),
        )?;
        SchedControl(tm.bootinfo.sched_control.start + core).configure(
            sc,
            timing.budget_us,
            timing.period_us,
            0,
        )?;
        tcb.set_sched_params(Tcb(init_cap::TCB), 0, priority, sc, sel4::Endpoint::NULL)?;
        let mut regs = UserContext {
            pc: entry as *const () as Word,
            sp: stack_top,
            tp,
            ..Default::default()
        };
        regs.a[..3].copy_from_slice(&[args[0], args[1], tcb.0]);
        tcb.write_registers(true, &regs)?;
        Ok(Self {
            tcb,
            sc,
            ipc_frame,
            pool_index,
        })
    }

    /// Destroys the thread, wherever it is, and gives everything back
    /// (the window page its IPC buffer used stays reserved).
    pub fn destroy(self, tm: &mut Taskman) -> Result<(), Error> {
        let mut result = Ok(());
        for slot in [self.tcb.0, self.sc.0, self.ipc_frame] {
            if let Err(e) = tm.objects.destroy(slot) {
                result = Err(e);
            }
        }
        TAKEN[self.pool_index].store(false, Ordering::Release);
        result
    }
}
