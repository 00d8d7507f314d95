//! What the boot command line (`/chosen/bootargs`, QEMU's `-append`) asks of
//! taskman.

/// What taskman does once it is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Serve the system (the default).
    Run,
    /// Run the in-guest test suite, report, power off.
    Test,
    /// Run the benchmarks, report, power off.
    Bench,
}

/// What the cycle counter (`rdcycle`) counts in this boot, as the host
/// that started the machine says (`qsoe.clock=instructions` with QEMU's
/// `-icount`). Programs learn it as `QSOE_CLOCK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Time (under QEMU's multi-threaded TCG: the host's).
    Time,
    /// Guest instructions retired.
    Instructions,
}

impl Clock {
    pub fn name(self) -> &'static str {
        match self {
            Clock::Time => "time",
            Clock::Instructions => "instructions",
        }
    }

    /// What a figure read from the counter is in, for `bench:` lines.
    pub fn unit(self) -> &'static str {
        match self {
            Clock::Time => "cycles",
            Clock::Instructions => "instructions",
        }
    }
}

/// The parsed command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootArgs<'a> {
    pub mode: Mode,
    /// `qsoe.tests=<a,b,...>`: run only tests whose names contain one of
    /// the fragments (`qsoe_abi::suite::selects`).
    pub test_filter: Option<&'a str>,
    pub clock: Clock,
}

impl<'a> BootArgs<'a> {
    /// Parses space-separated `key=value` words; unknown words are left for
    /// others (the kernel, programs) and malformed values fall back to the
    /// defaults, reported in `Err` so taskman can say so.
    pub fn parse(line: &'a str) -> Result<Self, &'a str> {
        let mut args = Self {
            mode: Mode::Run,
            test_filter: None,
            clock: Clock::Time,
        };
        for word in line.split_ascii_whitespace() {
            match word.split_once('=') {
                Some(("qsoe.mode", "run")) => args.mode = Mode::Run,
                Some(("qsoe.mode", "test")) => args.mode = Mode::Test,
                Some(("qsoe.mode", "bench")) => args.mode = Mode::Bench,
                Some(("qsoe.mode", _)) => return Err(word),
                Some(("qsoe.tests", filter)) => args.test_filter = Some(filter),
                Some(("qsoe.clock", "time")) => args.clock = Clock::Time,
                Some(("qsoe.clock", "instructions")) => args.clock = Clock::Instructions,
                Some(("qsoe.clock", _)) => return Err(word),
                _ => {}
            }
        }
        Ok(args)
    }

    /// Whether the test `name` is selected.
    pub fn selects(&self, name: &str) -> bool {
        self.test_filter
            .is_none_or(|f| qsoe_abi::suite::selects(f, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_line_means_run_everything() {
        let args = BootArgs::parse("").unwrap();
        assert_eq!(args.mode, Mode::Run);
        assert!(args.selects("boot::bootinfo"));
    }

    #[test]
    fn mode_and_filter_are_read_among_other_words() {
        let args = BootArgs::parse("console=ttyS0 qsoe.mode=test  qsoe.tests=smp::").unwrap();
        assert_eq!(args.mode, Mode::Test);
        assert!(args.selects("smp::every_core_runs"));
        assert!(!args.selects("boot::bootinfo"));
    }

    #[test]
    fn clock_defaults_to_time() {
        assert_eq!(
            BootArgs::parse("qsoe.mode=bench").unwrap().clock,
            Clock::Time
        );
        let exact = BootArgs::parse("qsoe.mode=bench qsoe.clock=instructions").unwrap();
        assert_eq!(exact.clock, Clock::Instructions);
        assert_eq!(BootArgs::parse("qsoe.clock=fast"), Err("qsoe.clock=fast"));
    }

    #[test]
    fn unknown_mode_is_reported() {
        assert_eq!(BootArgs::parse("qsoe.mode=fast"), Err("qsoe.mode=fast"));
    }
}
