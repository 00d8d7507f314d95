//! Taskman's decisions that are not bookkeeping: who may signal whom,
//! which signal a fault kills with, which core a new process runs on,
//! which cell a new channel takes. The shell asks, then acts.

use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EAGAIN, EINVAL, EPERM, ESRCH};
use qsoe_abi::signal::{SIGBUS, SIGILL, SIGKILL, SIGSEGV, SIGSYS, SIG_MAX};
use qsoe_abi::Pid;
use sel4_sys::{fault, Word};

/// What a permitted `kill` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// Nothing to do: the target is a zombie, or signal 0 only asked
    /// whether the caller may signal it.
    Nothing,
    /// Deliver the signal (`signals::Signals::deliver` says what it does).
    Deliver,
}

/// Whether `caller` may send `signal` to `target`, a process whose parent
/// is `parent` (`None`: no such process) and which is `alive` (else a
/// zombie). A process may signal itself and its children; one with the
/// signal ability (`may_signal_any`) may signal any process but taskman.
/// Signal 0 is POSIX's probe: the checks alone.
pub fn kill(
    caller: Pid,
    target: Pid,
    parent: Option<Pid>,
    alive: bool,
    signal: u32,
    may_signal_any: bool,
) -> Result<Kill, Errno> {
    if signal > SIG_MAX {
        return Err(EINVAL);
    }
    match parent {
        None => Err(ESRCH),
        Some(p) if target != caller && p != caller && !may_signal_any => Err(EPERM),
        Some(_) if !alive || signal == 0 => Ok(Kill::Nothing),
        Some(_) => Ok(Kill::Deliver),
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

/// Whether a fault is a thread's first floating-point instruction: threads
/// start with the FPU off, so that one faults as an illegal instruction.
/// Taskman turns the FPU on and restarts it; if the instruction faults
/// again with the FPU on, it was illegal after all.
pub fn first_fp_instruction(label: Word, exception: Word, fpu_off: bool) -> bool {
    const ILLEGAL_INSTRUCTION: Word = 2;
    fpu_off && label == fault::USER_EXCEPTION && exception == ILLEGAL_INSTRUCTION
}

/// The core a new process runs on: the one asked for if there is such a
/// core, else the one after the last process's (`last`), round robin over
/// `cores`.
pub fn spawn_core(asked: Option<u64>, last: u64, cores: u64) -> Result<u64, Errno> {
    match asked {
        Some(c) if c < cores => Ok(c),
        Some(_) => Err(EINVAL),
        None => Ok((last + 1) % cores.max(1)),
    }
}

/// Where a new channel of a process lives among its channel cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// An empty cell it already has.
    Reuse(usize),
    /// A cell to carve from its IPC area: the next one.
    Carve(usize),
}

/// The cell for a process's next channel, given its cells (each `Some`
/// while a channel lives in it) and the most it may have: the lowest
/// empty one, else a new one, else `EAGAIN`.
pub fn channel_cell<T>(cells: &[Option<T>], max: usize) -> Result<Cell, Errno> {
    match cells.iter().position(Option::is_none) {
        Some(j) => Ok(Cell::Reuse(j)),
        None if cells.len() < max => Ok(Cell::Carve(cells.len())),
        None => Err(EAGAIN),
    }
}

/// The sizes (log2) of the untypeds to retype, in order, to move an
/// untyped's watermark from `from` to `to` (both page-aligned, `from` not
/// past `to`): each the largest that is aligned where it lands and does
/// not pass `to`, as retype aligns every object to its size.
pub fn padding_bits(from: u64, to: u64) -> Vec<u8> {
    let mut at = from;
    let mut bits = Vec::new();
    while at < to {
        let align = if at == 0 { 63 } else { at.trailing_zeros() };
        let fit = 63 - (to - at).leading_zeros();
        let b = align.min(fit);
        bits.push(b as u8);
        at += 1 << b;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_moves_the_watermark_exactly() {
        assert_eq!(padding_bits(0x10_0000, 0x10_0000), Vec::<u8>::new());
        assert_eq!(padding_bits(0, 0x101000), [20, 12]);
        assert_eq!(padding_bits(0x101000, 0x104000), [12, 13]);
        for (from, to) in [
            (0x3000u64, 0x40_0000u64),
            (0x101000, 0x10_000_000),
            (0, 0x7000),
        ] {
            let mut at = from;
            for b in padding_bits(from, to) {
                assert_eq!(at % (1 << b), 0, "aligned");
                at += 1 << b;
            }
            assert_eq!(at, to);
        }
    }

    #[test]
    fn spawn_cores_go_round_robin_unless_asked() {
        assert_eq!(spawn_core(None, 0, 4), Ok(1));
        assert_eq!(spawn_core(None, 3, 4), Ok(0));
        assert_eq!(spawn_core(Some(2), 3, 4), Ok(2));
        assert_eq!(spawn_core(Some(4), 0, 4), Err(EINVAL));
        assert_eq!(spawn_core(None, 0, 1), Ok(0));
    }

    #[test]
    fn channels_reuse_the_lowest_empty_cell_then_carve() {
        assert_eq!(channel_cell::<i32>(&[], 2), Ok(Cell::Carve(0)));
        assert_eq!(channel_cell(&[Some(1), None, None], 4), Ok(Cell::Reuse(1)));
        assert_eq!(channel_cell(&[Some(1)], 4), Ok(Cell::Carve(1)));
        assert_eq!(channel_cell(&[Some(1), Some(2)], 2), Err(EAGAIN));
    }

    #[test]
    fn self_and_children_only() {
        assert_eq!(kill(5, 5, Some(1), true, 9, false), Ok(Kill::Deliver));
        assert_eq!(kill(5, 7, Some(5), true, 15, false), Ok(Kill::Deliver));
        assert_eq!(kill(5, 7, Some(5), false, 15, false), Ok(Kill::Nothing));
        assert_eq!(kill(5, 8, Some(1), true, 9, false), Err(EPERM));
        assert_eq!(kill(5, 8, Some(1), true, 9, true), Ok(Kill::Deliver));
        assert_eq!(kill(5, 8, Some(1), true, 0, false), Err(EPERM));
        assert_eq!(kill(5, 9, None, false, 9, true), Err(ESRCH));
        assert_eq!(kill(5, 7, Some(5), true, 0, false), Ok(Kill::Nothing));
        assert_eq!(kill(5, 7, Some(5), true, SIG_MAX + 1, false), Err(EINVAL));
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
        assert!(first_fp_instruction(fault::USER_EXCEPTION, 2, true));
        assert!(!first_fp_instruction(fault::USER_EXCEPTION, 2, false));
        assert!(!first_fp_instruction(fault::USER_EXCEPTION, 4, true));
        assert!(!first_fp_instruction(fault::VM_FAULT, 2, true));
    }
}
