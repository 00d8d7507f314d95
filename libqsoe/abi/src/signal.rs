//! Signal numbers, with QNX Neutrino's values, what each does by default,
//! and the dispositions a process can ask taskman for.

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGBUS: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGSYS: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGUSR1: u32 = 16;
pub const SIGUSR2: u32 = 17;
pub const SIGCHLD: u32 = 18;
pub const SIGPWR: u32 = 19;
pub const SIGWINCH: u32 = 20;
pub const SIGURG: u32 = 21;
pub const SIGPOLL: u32 = 22;
pub const SIGSTOP: u32 = 23;
pub const SIGTSTP: u32 = 24;
pub const SIGCONT: u32 = 25;
pub const SIGTTIN: u32 = 26;
pub const SIGTTOU: u32 = 27;

/// The largest signal number `kill` accepts.
pub const SIG_MAX: u32 = 64;

/// What a signal does to a process that neither ignores nor catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
    Continue,
}

/// The default action of `signal` (1..=SIG_MAX), as POSIX and QNX have it;
/// signals without a name terminate.
pub fn default_action(signal: u32) -> DefaultAction {
    match signal {
        SIGCHLD | SIGPWR | SIGWINCH | SIGURG => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        _ => DefaultAction::Terminate,
    }
}

/// Whether a process may ignore or catch `signal`: never `SIGKILL` or
/// `SIGSTOP`.
pub fn can_change(signal: u32) -> bool {
    (1..=SIG_MAX).contains(&signal) && signal != SIGKILL && signal != SIGSTOP
}

/// A signal's disposition as `sigaction` sets it in taskman, the word of
/// `wire::op::SIGNAL_ACTION`. The handler itself stays in the process:
/// taskman only needs to know the signal is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// `SIG_DFL`.
    Default = 0,
    /// `SIG_IGN`.
    Ignore = 1,
    /// A handler runs on the process's signal thread.
    Catch = 2,
}

impl Disposition {
    pub fn from_word(word: u64) -> Option<Self> {
        match word {
            0 => Some(Self::Default),
            1 => Some(Self::Ignore),
            2 => Some(Self::Catch),
            _ => None,
        }
    }
}

/// The symbolic name, for taskman's log lines.
pub fn name(signal: u32) -> &'static str {
    match signal {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGQUIT => "SIGQUIT",
        SIGILL => "SIGILL",
        SIGTRAP => "SIGTRAP",
        SIGABRT => "SIGABRT",
        SIGFPE => "SIGFPE",
        SIGKILL => "SIGKILL",
        SIGBUS => "SIGBUS",
        SIGSEGV => "SIGSEGV",
        SIGSYS => "SIGSYS",
        SIGPIPE => "SIGPIPE",
        SIGALRM => "SIGALRM",
        SIGTERM => "SIGTERM",
        SIGUSR1 => "SIGUSR1",
        SIGUSR2 => "SIGUSR2",
        SIGCHLD => "SIGCHLD",
        SIGSTOP => "SIGSTOP",
        SIGTSTP => "SIGTSTP",
        SIGCONT => "SIGCONT",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_posix() {
        assert_eq!(default_action(SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(SIGINT), DefaultAction::Terminate);
        assert_eq!(default_action(SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(SIGSTOP), DefaultAction::Stop);
        assert_eq!(default_action(SIGCONT), DefaultAction::Continue);
        assert_eq!(default_action(40), DefaultAction::Terminate);
    }

    #[test]
    fn kill_and_stop_stay_as_they_are() {
        assert!(!can_change(SIGKILL) && !can_change(SIGSTOP));
        assert!(!can_change(0) && !can_change(SIG_MAX + 1));
        assert!(can_change(SIGTERM) && can_change(SIGCONT) && can_change(SIG_MAX));
        for w in 0..3 {
            assert_eq!(Disposition::from_word(w).map(|d| d as u64), Some(w));
        }
        assert_eq!(Disposition::from_word(3), None);
    }
}
