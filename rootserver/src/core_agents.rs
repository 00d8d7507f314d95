//! One taskman thread on every core, its *agent*. At boot each agent tells
//! the kernel's view of where it runs (the proof that every core schedules
//! taskman's work); after that it does the kernel operations that must
//! happen on the core a process thread lives on.
//!
//! Why they must: seL4 16.0.0 on RISC-V keeps one pending-IPI word per core.
//! Destroying a thread that runs on another core, or that owns that core's
//! FPU (every user thread does once it has run, since the kernel switches
//! FPU state eagerly), makes the kernel send that core a *remote call* IPI.
//! When that core acknowledges it, it clears the word; a *reschedule* IPI
//! sent to it in between is dropped, so a thread that was just woken there
//! waits on an idle core until something else interrupts it, which may be
//! never. Done by the agent on the thread's own core, the same operations
//! need no IPI at all.

use crate::taskman_threads::{TaskmanThread, FULL_TIME};
use crate::Taskman;
use alloc::vec::Vec;
use sel4::{CNode, Error, Tcb};
use sel4_config::platform::{HARTS, KERNEL_DEBUG};
use sel4_sys::{object, CPtr, InvocationError, MessageInfo, Word};

/// Above processes (100) so that an agent runs as soon as it is asked,
/// below the initial thread's 255 so that it is never starved on core 0.
const AGENT_PRIORITY: Word = 200;

/// What an agent is asked to do: the request's label.
mod op {
    use sel4_sys::Word;
    /// Answer with the core the kernel says the agent runs on (words:
    /// `[core]`, the core it was configured for, answered back on a
    /// release kernel).
    pub const WHERE: Word = 1;
    /// Suspend a thread and delete its TCB: words `[root, tcb]`, the TCB
    /// cap's slot in the CSpace named by the root CNode cap.
    pub const RETIRE: Word = 2;
    /// Suspend a thread: words `[tcb]`, a slot in taskman's CSpace.
    pub const SUSPEND: Word = 3;
    /// Resume a suspended thread: words `[tcb]`.
    pub const RESUME: Word = 4;
}

/// What one agent reported at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreReport {
    /// The core the thread was configured for.
    pub core: u64,
    /// The core the kernel says the thread ran on.
    pub affinity: u64,
}

struct Agent {
    /// Kept for as long as the agent runs: taskman never ends it.
    _thread: TaskmanThread,
    endpoint: CPtr,
}

/// The agent of each core, by core.
#[derive(Default)]
pub struct CoreAgents {
    agents: Vec<Agent>,
}

impl CoreAgents {
    /// Starts an agent on every core and asks each where it runs. On an
    /// error, the agents started so far stay (operations on cores without
    /// one run on taskman's own core instead).
    pub fn start(tm: &mut Taskman) -> (Self, Result<Vec<CoreReport>, Error>) {
        let cores = tm.bootinfo.num_nodes.min(HARTS as u64);
        let mut agents = CoreAgents::default();
        let mut reports = Vec::new();
        for core in 0..cores {
            match start_agent(tm, core) {
                Ok(agent) => {
                    agents.agents.push(agent);
                    let affinity = agents.ask(core, op::WHERE, [core, 0, 0, 0]);
                    reports.push(CoreReport {
                        core,
                        affinity: affinity.map_or(Word::MAX, |w| w[0]),
                    });
                }
                Err(e) => return (agents, Err(e)),
            }
        }
        (agents, Ok(reports))
    }

    /// Suspends the thread of `tcb` (a slot in taskman's CSpace) that runs
    /// on `core` and deletes its TCB, with every copy of the cap, on that
    /// core.
    pub fn retire(&self, root: CNode, core: u64, tcb: CPtr) -> Result<(), Error> {
        if (core as usize) < self.agents.len() {
            self.ask(core, op::RETIRE, [root.0, tcb, 0, 0]).map(drop)
        } else {
            retire_here(root, tcb)
        }
    }

    /// Suspends the thread of `tcb` that runs on `core` (a stop), on that
    /// core.
    pub fn suspend(&self, core: u64, tcb: Tcb) -> Result<(), Error> {
        self.on_core(core, op::SUSPEND, tcb, Tcb::suspend)
    }

    /// Resumes the suspended thread of `tcb` that runs on `core`, on that
    /// core: the kernel restarts it where it was, repeating the system
    /// call it was blocked in.
    pub fn resume(&self, core: u64, tcb: Tcb) -> Result<(), Error> {
        self.on_core(core, op::RESUME, tcb, Tcb::resume)
    }

    fn on_core(
        &self,
        core: u64,
        label: Word,
        tcb: Tcb,
        here: fn(Tcb) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if (core as usize) < self.agents.len() {
            self.ask(core, label, [tcb.0, 0, 0, 0]).map(drop)
        } else {
            here(tcb)
        }
    }

    fn ask(&self, core: u64, label: Word, words: [Word; 4]) -> Result<[Word; 4], Error> {
        let agent = &self.agents[core as usize];
        let answer = sel4_sys::call(agent.endpoint, MessageInfo::new(label, 0, 0, 4), words);
        match answer.info.label() {
            0 => Ok(answer.mrs),
            code => Err(InvocationError {
                code,
                mrs: answer.mrs,
            }
            .into()),
        }
    }
}

fn start_agent(tm: &mut Taskman, core: u64) -> Result<Agent, Error> {
    let endpoint = tm.objects.create(object::ENDPOINT, 0)?;
    let reply = match tm.objects.create(object::REPLY, 0) {
        Ok(r) => r,
        Err(e) => {
            let _ = tm.objects.destroy(endpoint);
            return Err(e);
        }
    };
    match TaskmanThread::start(
        tm,
        core,
        AGENT_PRIORITY,
        FULL_TIME,
        agent_main,
        [endpoint, reply],
    ) {
        Ok(thread) => Ok(Agent {
            _thread: thread,
            endpoint,
        }),
        Err(e) => {
            let _ = tm.objects.destroy(reply);
            let _ = tm.objects.destroy(endpoint);
            Err(e)
        }
    }
}

fn retire_here(root: CNode, tcb: CPtr) -> Result<(), Error> {
    Tcb(tcb).suspend()?;
    // The process's own CSpace holds a copy of the cap; the revoke takes it,
    // so the delete removes the last cap and the TCB goes with it.
    root.slot(tcb).revoke()?;
    root.slot(tcb).delete()
}

/// Serves requests from the initial thread, one at a time: the answer's
/// label is 0 or the kernel's error code, with its message words.
extern "C" fn agent_main(endpoint: CPtr, reply: CPtr, tcb: CPtr) -> ! {
    let mut request = sel4_sys::recv(endpoint, reply);
    loop {
        let result = match request.info.label() {
            // Only a debug kernel says where a thread runs; on a release
            // kernel the answer itself is the proof that the agent ran, on
            // the core its scheduling context was configured for.
            op::WHERE if KERNEL_DEBUG => Ok([Tcb(tcb).affinity(), 0, 0, 0]),
            op::WHERE => Ok([request.mrs[0], 0, 0, 0]),
            op::RETIRE => {
                let [root, target, ..] = request.mrs;
                retire_here(CNode(root), target).map(|()| [0; 4])
            }
            op::SUSPEND => Tcb(request.mrs[0]).suspend().map(|()| [0; 4]),
            op::RESUME => Tcb(request.mrs[0]).resume().map(|()| [0; 4]),
            _ => Err(Error::IllegalOperation),
        };
        let (label, words) = match result {
            Ok(words) => (0, words),
            Err(e) => {
                let e = InvocationError::from(e);
                (e.code, e.mrs)
            }
        };
        request = sel4_sys::reply_recv(endpoint, MessageInfo::new(label, 0, 0, 4), words, reply);
    }
}
