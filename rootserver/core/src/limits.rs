//! Every table taskman keeps and the quotas every process has alike, in
//! one place. The quotas a manifest grants per program (budget, threads,
//! channels, connections, children) are `qsoe_abi::grants::Limits`.
//!
//! Going past a quota is answered with an errno (`EAGAIN`), never a crash.

use qsoe_abi::ipc::REPLY_OBJECTS;

/// Entries of the process table: every ASID but taskman's (pids have a
/// 16-bit index).
pub const PROCESS_TABLE: usize = 65_535;
/// Entries of the system-wide channel table (chids have a 16-bit index).
pub const CHANNEL_TABLE: usize = 65_536;
/// Registrations in the pathname space, the whole system's.
pub const PATH_TABLE: usize = 4096;
/// Pulses queued on one channel before a sender gets `EAGAIN`.
pub const PULSE_QUEUE: usize = 16;

/// What one process may hold at once, whatever its grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Clients it has received from and not yet replied to.
    pub unreplied: usize,
    /// Prefixes it has registered in the pathname space.
    pub paths: usize,
}

// No quota may go past what a process's CSpace and tables have room for.
const _: () = assert!(DEFAULT_QUOTAS.unreplied <= REPLY_OBJECTS);

/// What every process gets.
pub const DEFAULT_QUOTAS: Quotas = Quotas {
    unreplied: 32,
    paths: 32,
};
