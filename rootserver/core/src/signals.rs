//! One process's signal state: what each signal does to it, which caught
//! signals wait for its signal thread, and whether it is stopped.
//!
//! Taskman keeps only the disposition of a caught signal; the handler is
//! the process's own (libqsoe runs it on a thread that waits in
//! `SIGNAL_WAIT`). `deliver` decides what a signal does, changing nothing
//! but the pending set; the shell carries the decision out.

use qsoe_abi::errno::{Errno, EINVAL};
use qsoe_abi::signal::{can_change, default_action, DefaultAction, Disposition, SIGCONT, SIG_MAX};

/// What a signal sent to a process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing: ignored, or a stop or continue that changes nothing.
    Drop,
    /// The process ends, killed by the signal.
    End,
    /// Its threads stop.
    Stop,
    /// Its threads run again; if `caught`, its handler is also pending.
    Continue { caught: bool },
    /// It is pending for the signal thread.
    Catch,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    ignored: u64,
    caught: u64,
    pending: u64,
    stopped: bool,
}

fn bit(signal: u32) -> u64 {
    1 << (signal - 1)
}

impl Signals {
    /// Sets `signal`'s disposition; answers the one it had. `SIGKILL` and
    /// `SIGSTOP` keep theirs (`EINVAL`). Ignoring a signal drops it if it
    /// is pending.
    pub fn set(&mut self, signal: u32, to: Disposition) -> Result<Disposition, Errno> {
        if !can_change(signal) {
            return Err(EINVAL);
        }
        let old = self.disposition(signal);
        let b = bit(signal);
        self.ignored &= !b;
        self.caught &= !b;
        match to {
            Disposition::Default => {}
            Disposition::Ignore => self.ignored |= b,
            Disposition::Catch => self.caught |= b,
        }
        if to != Disposition::Catch {
            self.pending &= !b;
        }
        Ok(old)
    }

    pub fn disposition(&self, signal: u32) -> Disposition {
        let b = bit(signal);
        if self.caught & b != 0 {
            Disposition::Catch
        } else if self.ignored & b != 0 {
            Disposition::Ignore
        } else {
            Disposition::Default
        }
    }

    /// What `signal` (1..=SIG_MAX) does now, recording it as pending when
    /// it is caught. The shell makes a `Stop` or `Continue` happen and
    /// records it with `set_stopped`.
    pub fn deliver(&mut self, signal: u32) -> Delivery {
        debug_assert!((1..=SIG_MAX).contains(&signal));
        let disposition = self.disposition(signal);
        if signal == SIGCONT {
            let caught = disposition == Disposition::Catch;
            if caught {
                self.pending |= bit(signal);
            }
            return match (self.stopped, caught) {
                (true, _) => Delivery::Continue { caught },
                (false, true) => Delivery::Catch,
                (false, false) => Delivery::Drop,
            };
        }
        match disposition {
            Disposition::Ignore => Delivery::Drop,
            Disposition::Catch => {
                self.pending |= bit(signal);
                Delivery::Catch
            }
            Disposition::Default => match default_action(signal) {
                DefaultAction::Terminate => Delivery::End,
                DefaultAction::Ignore | DefaultAction::Continue => Delivery::Drop,
                DefaultAction::Stop if self.stopped => Delivery::Drop,
                DefaultAction::Stop => Delivery::Stop,
            },
        }
    }

    /// The lowest pending caught signal, taken off the pending set.
    pub fn take_pending(&mut self) -> Option<u32> {
        if self.pending == 0 {
            return None;
        }
        let signal = self.pending.trailing_zeros() + 1;
        self.pending &= !bit(signal);
        Some(signal)
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    pub fn set_stopped(&mut self, stopped: bool) {
        self.stopped = stopped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qsoe_abi::signal::*;

    #[test]
    fn defaults_end_stop_or_drop() {
        let mut s = Signals::default();
        assert_eq!(s.deliver(SIGTERM), Delivery::End);
        assert_eq!(s.deliver(SIGKILL), Delivery::End);
        assert_eq!(s.deliver(SIGCHLD), Delivery::Drop);
        assert_eq!(s.deliver(SIGCONT), Delivery::Drop);
        assert_eq!(s.deliver(SIGSTOP), Delivery::Stop);
        s.set_stopped(true);
        assert_eq!(s.deliver(SIGTSTP), Delivery::Drop);
        assert_eq!(s.deliver(SIGCONT), Delivery::Continue { caught: false });
        assert_eq!(s.take_pending(), None);
    }

    #[test]
    fn caught_signals_wait_lowest_first() {
        let mut s = Signals::default();
        assert_eq!(s.set(SIGUSR2, Disposition::Catch), Ok(Disposition::Default));
        assert_eq!(s.set(SIGINT, Disposition::Catch), Ok(Disposition::Default));
        assert_eq!(s.deliver(SIGUSR2), Delivery::Catch);
        assert_eq!(s.deliver(SIGINT), Delivery::Catch);
        assert_eq!(s.deliver(SIGINT), Delivery::Catch);
        assert_eq!(s.take_pending(), Some(SIGINT));
        assert_eq!(s.take_pending(), Some(SIGUSR2));
        assert_eq!(s.take_pending(), None);
    }

    #[test]
    fn ignoring_drops_what_is_pending() {
        let mut s = Signals::default();
        s.set(SIGTERM, Disposition::Catch).unwrap();
        s.deliver(SIGTERM);
        assert_eq!(s.set(SIGTERM, Disposition::Ignore), Ok(Disposition::Catch));
        assert_eq!(s.take_pending(), None);
        assert_eq!(s.deliver(SIGTERM), Delivery::Drop);
        assert_eq!(
            s.set(SIGTERM, Disposition::Default),
            Ok(Disposition::Ignore)
        );
        assert_eq!(s.deliver(SIGTERM), Delivery::End);
    }

    #[test]
    fn kill_and_stop_cannot_be_changed() {
        let mut s = Signals::default();
        for sig in [SIGKILL, SIGSTOP, 0, SIG_MAX + 1] {
            assert_eq!(s.set(sig, Disposition::Ignore), Err(EINVAL));
        }
        assert_eq!(s, Signals::default());
    }

    #[test]
    fn a_caught_continue_both_continues_and_runs_the_handler() {
        let mut s = Signals::default();
        s.set(SIGCONT, Disposition::Catch).unwrap();
        assert_eq!(s.deliver(SIGCONT), Delivery::Catch);
        s.set_stopped(true);
        assert_eq!(s.deliver(SIGCONT), Delivery::Continue { caught: true });
        assert_eq!(s.take_pending(), Some(SIGCONT));
        s.set(SIGCONT, Disposition::Ignore).unwrap();
        assert_eq!(s.deliver(SIGCONT), Delivery::Continue { caught: false });
    }
}
