//! Every table taskman keeps and every quota a process has, in one place.
//!
//! The limits that shape a process's CSpace or address space (how many
//! channel cells, connection slots, reply objects and thread areas it has)
//! are part of the contract with libqsoe and live in `qsoe_abi`; they are
//! named here as the quotas they are, so this file is the one list. Going
//! past a quota is answered with an errno (`EAGAIN`), never a crash.

use qsoe_abi::ipc::{MAX_CHANNELS, MAX_CONNECTIONS, REPLY_OBJECTS};
use qsoe_abi::layout::MAX_THREADS;

/// Entries of the process table: every ASID but taskman's (pids have a
/// 16-bit index).
pub const PROCESS_TABLE: usize = 65_535;
/// Entries of the system-wide channel table (chids have a 16-bit index).
pub const CHANNEL_TABLE: usize = 65_536;
/// Registrations in the pathname space, the whole system's.
pub const PATH_TABLE: usize = 4096;
/// Pulses queued on one channel before a sender gets `EAGAIN`.
pub const PULSE_QUEUE: usize = 16;

/// What one process may hold at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Channels it owns.
    pub channels: usize,
    /// Connections, its side channel and stdio included.
    pub connections: usize,
    /// Threads after its first.
    pub threads: usize,
    /// Children, alive or not yet reaped.
    pub children: usize,
    /// Pulses queued on each of its channels.
    pub queued_pulses: usize,
    /// Clients it has received from and not yet replied to.
    pub unreplied: usize,
    /// Prefixes it has registered in the pathname space.
    pub paths: usize,
}

// No quota may go past what a process's CSpace and tables have room for.
const _: () = assert!(DEFAULT_QUOTAS.unreplied <= REPLY_OBJECTS);

/// What every process gets.
pub const DEFAULT_QUOTAS: Quotas = Quotas {
    channels: MAX_CHANNELS,
    connections: MAX_CONNECTIONS,
    threads: MAX_THREADS,
    children: 256,
    queued_pulses: PULSE_QUEUE,
    unreplied: 32,
    paths: 32,
};
