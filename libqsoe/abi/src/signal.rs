//! Signal numbers, with QNX Neutrino's values.

pub const SIGILL: u32 = 4;
pub const SIGABRT: u32 = 6;
pub const SIGKILL: u32 = 9;
pub const SIGBUS: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGSYS: u32 = 12;
pub const SIGTERM: u32 = 15;

/// The largest signal number `kill` accepts.
pub const SIG_MAX: u32 = 64;

/// The symbolic name, for taskman's log lines.
pub fn name(signal: u32) -> &'static str {
    match signal {
        SIGILL => "SIGILL",
        SIGABRT => "SIGABRT",
        SIGKILL => "SIGKILL",
        SIGBUS => "SIGBUS",
        SIGSEGV => "SIGSEGV",
        SIGSYS => "SIGSYS",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}
