//! Taskman's decisions about processes that are not bookkeeping: who may
//! signal whom, and which signal a fault kills with. The shell
//! (`rootserver/src/server.rs`) asks, then acts.

use qsoe_abi::errno::{Errno, EINVAL, EPERM, ESRCH};
use qsoe_abi::signal::{SIGBUS, SIGILL, SIGKILL, SIGSEGV, SIGSYS, SIG_MAX};
use qsoe_abi::Pid;
use sel4_sys::{fault, Word};

/// What a permitted `kill` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// The target is a zombie: already dead, nothing to do.
    AlreadyDead,
    /// End the target with the signal.
    End,
}

/// Whether `caller` may send `signal` to `target`, a process whose parent
/// is `parent` (`None`: no such process) and which is `alive` (else a
/// zombie). A process may signal itself and its children.
pub fn kill(
    caller: Pid,
    target: Pid,
    parent: Option<Pid>,
    alive: bool,
    signal: u32,
) -> Result<Kill, Errno> {
    if signal == 0 || signal > SIG_MAX {
        return Err(EINVAL);
    }
    match parent {
        None => Err(ESRCH),
        Some(p) if target != caller && p != caller => Err(EPERM),
        Some(_) if !alive => Ok(Kill::AlreadyDead),
        Some(_) => Ok(Kill::End),
    }
}

/// The signal a fault with message label `label` kills with, and what to
/// call the fault in the log; `exception` is a user exception's number
/// (RISC-V `scause`).
pub fn fault_signal(label: Word, exception: Word) -> (u32, &'static str) {
    match label {
        fault::VM_FAULT => (SIGSEGV, "page fault"),
        fault::USER_EXCEPTION => match exception {
            // Misaligned fetch, load, store.
            0 | 4 | 6 => (SIGBUS, "misaligned access"),
            _ => (SIGILL, "illegal instruction"),
        },
        fault::CAP_FAULT | fault::UNKNOWN_SYSCALL => (SIGSYS, "bad system call"),
        _ => (SIGKILL, "fault"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_and_children_only() {
        assert_eq!(kill(5, 5, Some(1), true, 9), Ok(Kill::End));
        assert_eq!(kill(5, 7, Some(5), true, 15), Ok(Kill::End));
        assert_eq!(kill(5, 7, Some(5), false, 15), Ok(Kill::AlreadyDead));
        assert_eq!(kill(5, 8, Some(1), true, 9), Err(EPERM));
        assert_eq!(kill(5, 9, None, false, 9), Err(ESRCH));
        assert_eq!(kill(5, 7, Some(5), true, 0), Err(EINVAL));
        assert_eq!(kill(5, 7, Some(5), true, SIG_MAX + 1), Err(EINVAL));
    }

    #[test]
    fn faults_map_to_posix_signals() {
        assert_eq!(fault_signal(fault::VM_FAULT, 0).0, SIGSEGV);
        assert_eq!(fault_signal(fault::USER_EXCEPTION, 2).0, SIGILL);
        for misaligned in [0, 4, 6] {
            assert_eq!(fault_signal(fault::USER_EXCEPTION, misaligned).0, SIGBUS);
        }
        assert_eq!(fault_signal(fault::CAP_FAULT, 0).0, SIGSYS);
        assert_eq!(fault_signal(fault::UNKNOWN_SYSCALL, 0).0, SIGSYS);
        assert_eq!(fault_signal(fault::TIMEOUT, 0).0, SIGKILL);
    }
}
