//! The status word `waitpid` reports, in the traditional Unix encoding
//! QNX uses: an exit code in bits 8..16, or a terminating signal in the
//! low seven bits, or 0x7f with the stopping signal in bits 8..16.

/// Options for `waitpid`: answer at once if no child has ended.
pub const WNOHANG: u32 = 1;
/// Options for `waitpid`: also report a child that a signal stopped.
pub const WUNTRACED: u32 = 2;

/// The status of a child that called `exit(code)`.
pub const fn exited(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// The status of a child killed by `signal`.
pub const fn signaled(signal: u32) -> i32 {
    (signal & 0x7f) as i32
}

/// The status of a child that `signal` stopped.
pub const fn stopped(signal: u32) -> i32 {
    ((signal & 0xff) << 8) as i32 | 0x7f
}

#[allow(non_snake_case)]
pub const fn WIFSTOPPED(status: i32) -> bool {
    status & 0xff == 0x7f
}

#[allow(non_snake_case)]
pub const fn WSTOPSIG(status: i32) -> u32 {
    ((status >> 8) & 0xff) as u32
}

#[allow(non_snake_case)]
pub const fn WIFEXITED(status: i32) -> bool {
    status & 0x7f == 0
}

#[allow(non_snake_case)]
pub const fn WEXITSTATUS(status: i32) -> i32 {
    (status >> 8) & 0xff
}

#[allow(non_snake_case)]
pub const fn WIFSIGNALED(status: i32) -> bool {
    status & 0x7f != 0 && status & 0x7f != 0x7f
}

#[allow(non_snake_case)]
pub const fn WTERMSIG(status: i32) -> u32 {
    (status & 0x7f) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::*;

    #[test]
    fn exit_codes_round_trip() {
        for code in [0, 1, 42, 255] {
            let s = exited(code);
            assert!(WIFEXITED(s) && !WIFSIGNALED(s));
            assert_eq!(WEXITSTATUS(s), code);
        }
        assert_eq!(WEXITSTATUS(exited(256 + 7)), 7);
    }

    #[test]
    fn stops_round_trip() {
        for sig in [SIGSTOP, SIGTSTP, SIGTTIN] {
            let s = stopped(sig);
            assert!(WIFSTOPPED(s) && !WIFSIGNALED(s) && !WIFEXITED(s));
            assert_eq!(WSTOPSIG(s), sig);
        }
    }

    #[test]
    fn signals_round_trip() {
        for sig in [SIGILL, SIGSEGV, SIGKILL, SIGABRT] {
            let s = signaled(sig);
            assert!(WIFSIGNALED(s) && !WIFEXITED(s));
            assert_eq!(WTERMSIG(s), sig);
        }
    }
}
