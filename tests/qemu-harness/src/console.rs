//! The guest's serial console, read as the test protocol.
//!
//! This is a pure state machine: it is fed lines and told how QEMU ended,
//! and it says which tests passed and failed. Keeping process handling out
//! (that is `qemu`'s job) lets every way a boot can go wrong be tested on
//! the host, without an image.
//!
//! The protocol, one line each, at the start of a console line:
//! `qsoe-suite: start <N>`, `qsoe-test: <name> start`, `qsoe-test: <name> ok`,
//! `qsoe-test: <name> FAILED <reason>`, `qsoe-suite: end`. A later part of
//! the suite (the tests that run as processes) adds its count with
//! `qsoe-suite: more <N>`. A test that needs someone at the keyboard asks
//! with `qsoe-suite: type <hex bytes>`: the harness types them into the
//! serial port and, unless the test fails anyway, fails it if their echo
//! (what a console shows for them, up to the first return) never comes
//! back as the end of a console line before its result.
//!
//! The debug kernel prints its own messages (`<<seL4(CPU n) ...>>`) on the
//! same UART, whenever it likes; one may cut a line in two, so
//! [`Splicer`] takes each out and joins the pieces first.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Console lines kept for failure messages: enough to show a panic or a
/// kernel fault with its context, short enough to read.
pub const TAIL_LINES: usize = 40;

/// Lines after which the guest cannot be trusted to report anything more:
/// taskman's panic, the kernel's assertion, `fail`, boot failure and trap
/// messages, and the kernel's `halt()`.
const FATAL_MARKERS: [&str; 6] = [
    "panicked at",
    "seL4 failed assertion",
    "seL4 called fail",
    "Kernel init failed",
    "exception within s-mode",
    "halting",
];

/// The kernel's `halt()` prints this and then powers off, which is also how a
/// debug kernel ends a finished suite; so after `qsoe-suite: end` it is fine.
const POWER_OFF_MARKER: &str = "halting";

/// The trial that carries a failure no test was running during.
pub const BOOT_TRIAL: &str = "qemu::boot";
/// The trial that checks the suite's own bookkeeping (start line, count).
pub const SUITE_TRIAL: &str = "qemu::suite";

/// Where the run is; the harness changes its deadline when this changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Booting or running tests: waiting for `qsoe-suite: end`.
    #[default]
    Running,
    /// The suite said it is done; QEMU should now power off by itself.
    Ended,
    /// A fatal line was seen; later lines are kept for context only.
    Crashed,
}

/// How the QEMU process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Termination {
    /// QEMU exited by itself with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// The harness killed QEMU after it had run this long.
    TimedOut(Duration),
}

/// The verdict on one trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    /// `Err` holds why it failed, followed by the console tail.
    pub result: Result<(), String>,
    /// From its start line to its result, on the clock `feed_at` was given;
    /// `None` when no start line was seen.
    pub elapsed: Option<Duration>,
}

/// Everything a run showed, ready to be turned into trials.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// One per in-guest test: reported results in console order, then the
    /// tests that started but never finished.
    pub tests: Vec<Outcome>,
    /// Failures of the run itself ([`BOOT_TRIAL`], [`SUITE_TRIAL`]); empty
    /// when the run went well, so they never inflate the pass count.
    pub harness: Vec<Outcome>,
}

/// One console line, as the protocol sees it.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    SuiteStart(usize),
    SuiteMore(usize),
    SuiteEnd,
    TestStart(&'a str),
    TestOk(&'a str),
    TestFailed(&'a str, &'a str),
    Other,
    Type(Vec<u8>),
}

/// `hex` as bytes: an even number of hex digits.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What a console echoes for typed `bytes`, up to the first return:
/// printable characters as they are, `^C` for an interrupt.
pub fn visible_echo(bytes: &[u8]) -> String {
    let mut echo = String::new();
    for &b in bytes {
        match b {
            b'\r' | b'\n' => break,
            0x03 => echo.push_str("^C"),
            b if b.is_ascii_graphic() || b == b' ' => echo.push(b as char),
            _ => {}
        }
    }
    echo
}

/// Where the debug kernel's own messages begin: its colours, then `<<`.
const KERNEL_MESSAGE: &str = "\x1b[0m\x1b[1m<<";

/// Joins console lines that a kernel message cut in two: each message
/// (which ends its own line) comes out alone, and the text before it goes
/// in front of the line after it.
#[derive(Debug, Default)]
pub struct Splicer {
    carry: String,
}

impl Splicer {
    /// Takes one raw line; answers the lines to feed, in order.
    pub fn push(&mut self, line: &str) -> Vec<String> {
        match line.find(KERNEL_MESSAGE) {
            Some(0) => vec![line.to_owned()],
            Some(at) => {
                self.carry.push_str(&line[..at]);
                vec![line[at..].to_owned()]
            }
            None => vec![std::mem::take(&mut self.carry) + line],
        }
    }
}

impl<'a> Line<'a> {
    /// Anything that is not a well-formed protocol line is `Other`, so a
    /// garbled line is treated as noise (and kept in the tail) rather than
    /// guessed at.
    fn parse(line: &'a str) -> Self {
        if let Some(rest) = line.strip_prefix("qsoe-suite:") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words[..] {
                ["start", n] => n.parse().map_or(Line::Other, Line::SuiteStart),
                ["more", n] => n.parse().map_or(Line::Other, Line::SuiteMore),
                ["end"] => Line::SuiteEnd,
                ["type", hex] => decode_hex(hex).map_or(Line::Other, Line::Type),
                _ => Line::Other,
            }
        } else if let Some(rest) = line.strip_prefix("qsoe-test:") {
            let mut words = rest.trim_start().splitn(3, char::is_whitespace);
            match (words.next(), words.next(), words.next()) {
                (Some(name), Some("start"), _) => Line::TestStart(name),
                (Some(name), Some("ok"), _) => Line::TestOk(name),
                (Some(name), Some("FAILED"), reason) => {
                    Line::TestFailed(name, reason.unwrap_or("").trim())
                }
                _ => Line::Other,
            }
        } else {
            Line::Other
        }
    }
}

/// The state of one run's console.
#[derive(Debug, Default)]
pub struct Console {
    phase: Phase,
    tail: VecDeque<String>,
    /// The `N` of `qsoe-suite: start N`, plus every `more N` after it.
    announced: Option<usize>,
    /// Tests that started and have not reported yet, oldest first, each
    /// with the time its start line came.
    running: Vec<(String, Duration)>,
    /// The time of the line being fed.
    now: Duration,
    /// Reported results, in console order.
    results: Vec<Outcome>,
    /// How often each name has reported, to catch duplicates.
    reports: HashMap<String, usize>,
    /// The line that crashed the run.
    fatal: Option<String>,
    /// Bytes a test asked to have typed, not typed yet.
    to_type: Vec<u8>,
    /// The echo typing should bring back, while it has not come.
    echo: Option<String>,
}

impl Console {
    /// Takes one console line and returns the phase after it, on the clock
    /// of the line before.
    #[cfg(test)]
    pub fn feed(&mut self, raw: &str) -> Phase {
        let now = self.now;
        self.feed_at(raw, now)
    }

    /// Takes one console line that came `at` after the boot began (for
    /// test durations) and returns the phase after it.
    pub fn feed_at(&mut self, raw: &str, at: Duration) -> Phase {
        self.now = at;
        // Consoles end lines with `\r\n` or `\n\r`; either way, strip it.
        // The tail keeps indentation, which register dumps and tables need.
        let kept = raw.trim_end().trim_start_matches('\r');
        let line = kept.trim_start();
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(kept.to_owned());
        if self.phase == Phase::Crashed {
            return self.phase;
        }
        match Line::parse(line) {
            Line::SuiteStart(n) => self.announced = Some(n),
            Line::SuiteMore(n) => {
                self.announced = self.announced.map(|a| a + n);
            }
            Line::SuiteEnd => self.phase = Phase::Ended,
            Line::TestStart(name) => {
                if !self.running.iter().any(|(r, _)| r == name) {
                    self.running.push((name.to_owned(), at));
                }
            }
            Line::Type(bytes) => {
                let echo = visible_echo(&bytes);
                self.echo = (!echo.is_empty()).then_some(echo);
                self.to_type.extend(bytes);
            }
            Line::TestOk(name) => match self.echo.take() {
                Some(echo) => self.record(
                    name,
                    Err(format!("typed input whose echo {echo:?} never came back")),
                ),
                None => self.record(name, Ok(())),
            },
            Line::TestFailed(name, reason) => {
                let reason = if reason.is_empty() {
                    "(no reason given)"
                } else {
                    reason
                };
                self.record(name, Err(reason.to_owned()));
            }
            // Protocol lines are never markers: a test may well report a
            // failure whose reason quotes a panic.
            Line::Other if self.is_fatal(line) => {
                self.phase = Phase::Crashed;
                self.fatal = Some(line.to_owned());
            }
            Line::Other => {
                if self
                    .echo
                    .as_ref()
                    .is_some_and(|e| line.ends_with(e.as_str()))
                {
                    self.echo = None;
                }
            }
        }
        self.phase
    }

    /// What a test asked to have typed since the last call.
    pub fn take_typing(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.to_type)
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The results reported so far, in console order.
    pub fn results(&self) -> &[Outcome] {
        &self.results
    }

    fn is_fatal(&self, line: &str) -> bool {
        FATAL_MARKERS.iter().any(|&marker| {
            line.contains(marker) && !(marker == POWER_OFF_MARKER && self.phase == Phase::Ended)
        })
    }

    /// Records a result; the tail is taken now, so a failure shows the
    /// console as it was when the test gave up.
    fn record(&mut self, name: &str, result: Result<(), String>) {
        let started = self
            .running
            .iter()
            .find(|(r, _)| r == name)
            .map(|&(_, at)| at);
        let elapsed = started.map(|at| self.now.saturating_sub(at));
        self.running.retain(|(r, _)| r != name);
        let count = self.reports.entry(name.to_owned()).or_default();
        *count += 1;
        let count = *count;
        let outcome = if count == 1 {
            Outcome {
                name: name.to_owned(),
                result: result.map_err(|reason| self.with_tail(&reason)),
                elapsed,
            }
        } else {
            // Keep the first result under the real name; a filter must pick
            // out one test, so later ones fail under a name of their own.
            let said = match result {
                Ok(()) => "ok".to_owned(),
                Err(reason) => format!("FAILED {reason}"),
            };
            Outcome {
                name: format!("{name}#{count}"),
                result: Err(self.with_tail(&format!(
                    "`{name}` reported a result {count} times (this one said: {said}); \
                     test names must be unique"
                ))),
                elapsed,
            }
        };
        self.results.push(outcome);
    }

    /// Why the run as a whole went wrong, if it did: a fatal line, or QEMU
    /// stopping before `qsoe-suite: end`.
    pub fn trouble(&self, termination: &Termination) -> Option<String> {
        if let Some(line) = &self.fatal {
            return Some(format!("fatal console line: {line}"));
        }
        if self.phase == Phase::Ended {
            return None;
        }
        Some(match termination {
            Termination::Exited(Some(code)) => {
                format!("QEMU exited with code {code} before `qsoe-suite: end`")
            }
            Termination::Exited(None) => {
                "QEMU was killed by a signal before `qsoe-suite: end`".to_owned()
            }
            Termination::TimedOut(after) => format!(
                "timed out: no `qsoe-suite: end` after {} s, QEMU killed",
                after.as_secs()
            ),
        })
    }

    /// `reason`, then the last console lines, as a failure message.
    pub fn with_tail(&self, reason: &str) -> String {
        let mut message = format!("{reason}\n--- last {} console lines ---", self.tail.len());
        for line in &self.tail {
            message.push('\n');
            message.push_str(line);
        }
        message
    }

    /// Turns the run into outcomes, once QEMU has ended.
    pub fn finish(self, termination: &Termination) -> Report {
        let trouble = self.trouble(termination);
        let mut tests = self.results.clone();
        for (name, at) in &self.running {
            let why = trouble
                .as_deref()
                .unwrap_or("the suite ended without its result");
            tests.push(Outcome {
                name: name.clone(),
                result: Err(self.with_tail(&format!("did not finish: {why}"))),
                elapsed: Some(self.now.saturating_sub(*at)),
            });
        }

        let mut harness = Vec::new();
        if let (Some(why), true) = (&trouble, self.running.is_empty()) {
            harness.push(self.harness_failure(BOOT_TRIAL, why));
        }
        let reported = self.results.len();
        match self.announced {
            None => harness.push(self.harness_failure(
                SUITE_TRIAL,
                "the guest never printed `qsoe-suite: start <N>`",
            )),
            Some(n) if n != reported => harness.push(self.harness_failure(
                SUITE_TRIAL,
                &format!("the suite announced {n} tests but {reported} reported a result"),
            )),
            Some(_) => {}
        }
        // The guest's own verdict (the finisher's exit code) must agree:
        // taskman also fails the run when init or the process-side suite
        // ended badly, which no single test line shows.
        if let (Phase::Ended, Termination::Exited(Some(code))) = (self.phase, termination) {
            if *code != 0 && harness.is_empty() && tests.iter().all(|t| t.result.is_ok()) {
                harness.push(self.harness_failure(
                    SUITE_TRIAL,
                    &format!("every test passed but the guest powered off with failure (QEMU exit code {code})"),
                ));
            }
        }
        Report { tests, harness }
    }

    fn harness_failure(&self, name: &str, why: &str) -> Outcome {
        Outcome {
            name: name.to_owned(),
            result: Err(self.with_tail(why)),
            elapsed: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN_EXIT: Termination = Termination::Exited(Some(0));

    fn feed(lines: &[&str]) -> Console {
        let mut console = Console::default();
        for line in lines {
            console.feed(line);
        }
        console
    }

    fn run(lines: &[&str], termination: Termination) -> Report {
        feed(lines).finish(&termination)
    }

    fn names(outcomes: &[Outcome]) -> Vec<&str> {
        outcomes.iter().map(|o| o.name.as_str()).collect()
    }

    fn failure<'a>(outcomes: &'a [Outcome], name: &str) -> &'a str {
        let outcome = outcomes
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("no outcome named {name}"));
        outcome.result.as_ref().expect_err("expected a failure")
    }

    #[test]
    fn clean_suite_passes_every_test() {
        let report = run(
            &[
                "OpenSBI v1.3",
                "qsoe-suite: start 2",
                "qsoe-test: boot::bootinfo start",
                "qsoe-test: boot::bootinfo ok",
                "qsoe-test: smp::every_core_runs start",
                "qsoe-test: smp::every_core_runs ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(
            names(&report.tests),
            ["boot::bootinfo", "smp::every_core_runs"]
        );
        assert!(report.tests.iter().all(|o| o.result.is_ok()));
        assert_eq!(report.harness, []);
    }

    #[test]
    fn failed_line_carries_reason_and_tail_at_that_moment() {
        let report = run(
            &[
                "qsoe-suite: start 2",
                "qsoe-test: a start",
                "a: expected 3, got 4",
                "qsoe-test: a FAILED expected 3, got 4",
                "qsoe-test: b start",
                "after a",
                "qsoe-test: b ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        let message = failure(&report.tests, "a");
        assert!(message.starts_with("expected 3, got 4\n"));
        assert!(message.contains("a: expected 3, got 4"));
        assert!(message.ends_with("qsoe-test: a FAILED expected 3, got 4"));
        assert!(!message.contains("after a"));
        assert_eq!(report.tests[1].result, Ok(()));
        assert_eq!(report.harness, []);
    }

    #[test]
    fn failed_without_reason_says_so() {
        let report = run(
            &[
                "qsoe-suite: start 1",
                "qsoe-test: a FAILED",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert!(failure(&report.tests, "a").starts_with("(no reason given)"));
    }

    #[test]
    fn hang_mid_test_fails_that_test_and_the_count() {
        let report = run(
            &[
                "qsoe-suite: start 3",
                "qsoe-test: a start",
                "qsoe-test: a ok",
                "qsoe-test: b start",
                "b: waiting for IPC",
            ],
            Termination::TimedOut(Duration::from_secs(300)),
        );
        assert_eq!(names(&report.tests), ["a", "b"]);
        let message = failure(&report.tests, "b");
        assert!(
            message.starts_with("did not finish: timed out"),
            "{message}"
        );
        assert!(message.contains("after 300 s"));
        assert!(message.contains("b: waiting for IPC"));
        // The hang is the test's failure, not also the boot's.
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
        assert!(failure(&report.harness, SUITE_TRIAL).contains("announced 3 tests but 1 reported"));
    }

    #[test]
    fn panic_mid_test_crashes_the_run_and_fails_that_test() {
        let mut console = feed(&["qsoe-suite: start 2", "qsoe-test: a start"]);
        assert_eq!(
            console.feed("taskman panicked at rootserver/src/main.rs:10:5:"),
            Phase::Crashed
        );
        // Nothing after a crash is believed, but it is kept as context.
        assert_eq!(console.feed("qsoe-test: a ok"), Phase::Crashed);
        assert_eq!(console.feed("qsoe-suite: end"), Phase::Crashed);
        let report = console.finish(&Termination::TimedOut(Duration::from_secs(2)));
        assert_eq!(names(&report.tests), ["a"]);
        let message = failure(&report.tests, "a");
        assert!(message.starts_with(
            "did not finish: fatal console line: taskman panicked at rootserver/src/main.rs:10:5:"
        ));
        assert!(message.ends_with("qsoe-suite: end"));
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
    }

    #[test]
    fn crash_outside_a_test_fails_boot() {
        let report = run(
            &["seL4 failed assertion 'x' at a.c:1 in function f"],
            Termination::Exited(Some(0)),
        );
        assert_eq!(report.tests, []);
        assert_eq!(names(&report.harness), [BOOT_TRIAL, SUITE_TRIAL]);
        assert!(failure(&report.harness, BOOT_TRIAL).starts_with("fatal console line: seL4 failed"));
        assert!(failure(&report.harness, SUITE_TRIAL).contains("never printed `qsoe-suite: start"));
    }

    #[test]
    fn every_marker_is_fatal_before_the_end() {
        for marker in FATAL_MARKERS {
            let mut console = feed(&["qsoe-suite: start 0"]);
            assert_eq!(
                console.feed(&format!("xx {marker} yy")),
                Phase::Crashed,
                "{marker}"
            );
        }
    }

    #[test]
    fn halting_after_the_end_is_the_power_off() {
        let mut console = feed(&["qsoe-suite: start 0", "qsoe-suite: end"]);
        assert_eq!(console.feed("halting..."), Phase::Ended);
        assert_eq!(console.finish(&CLEAN_EXIT).harness, []);
    }

    #[test]
    fn other_markers_after_the_end_fail_boot() {
        let report = run(
            &[
                "qsoe-suite: start 1",
                "qsoe-test: a ok",
                "qsoe-suite: end",
                "KERNEL ABORT (exception within s-mode)!",
            ],
            Termination::TimedOut(Duration::from_secs(2)),
        );
        assert_eq!(report.tests[0].result, Ok(()));
        assert_eq!(names(&report.harness), [BOOT_TRIAL]);
    }

    #[test]
    fn reported_failure_quoting_a_panic_is_not_a_crash() {
        let mut console = feed(&["qsoe-suite: start 2", "qsoe-test: a start"]);
        let phase = console.feed("qsoe-test: a FAILED child panicked at lib.rs:3:1");
        assert_eq!(phase, Phase::Running);
        for line in ["qsoe-test: b start", "qsoe-test: b ok", "qsoe-suite: end"] {
            console.feed(line);
        }
        let report = console.finish(&CLEAN_EXIT);
        assert!(failure(&report.tests, "a").starts_with("child panicked at lib.rs:3:1"));
        assert_eq!(report.tests[1].result, Ok(()));
        assert_eq!(report.harness, []);
    }

    #[test]
    fn qemu_exit_before_the_end_fails_boot_when_no_test_runs() {
        let report = run(
            &["qsoe-suite: start 1", "qsoe-test: a ok"],
            Termination::Exited(Some(1)),
        );
        assert_eq!(report.tests[0].result, Ok(()));
        assert_eq!(names(&report.harness), [BOOT_TRIAL]);
        assert!(failure(&report.harness, BOOT_TRIAL)
            .starts_with("QEMU exited with code 1 before `qsoe-suite: end`"));
    }

    #[test]
    fn qemu_exit_mid_test_fails_that_test() {
        let report = run(
            &["qsoe-suite: start 1", "qsoe-test: a start"],
            Termination::Exited(None),
        );
        assert!(
            failure(&report.tests, "a").starts_with("did not finish: QEMU was killed by a signal")
        );
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
    }

    #[test]
    fn failure_exit_with_all_tests_passing_fails_the_suite() {
        let report = run(
            &["qsoe-suite: start 1", "qsoe-test: a ok", "qsoe-suite: end"],
            Termination::Exited(Some(1)),
        );
        assert!(failure(&report.harness, SUITE_TRIAL).contains("QEMU exit code 1"));
    }

    #[test]
    fn more_adds_to_the_announced_count() {
        let report = run(
            &[
                "qsoe-suite: start 1",
                "qsoe-test: a start",
                "qsoe-test: a ok",
                "qsoe-suite: more 1",
                "qsoe-test: b start",
                "qsoe-test: b ok",
                "qsoe-suite: end",
            ],
            Termination::Exited(Some(0)),
        );
        assert_eq!(report.tests.len(), 2);
        assert!(report.harness.is_empty(), "{:?}", report.harness);
    }

    #[test]
    fn missing_results_after_more_fail_the_suite() {
        let report = run(
            &[
                "qsoe-suite: start 1",
                "qsoe-test: a ok",
                "qsoe-suite: more 2",
                "qsoe-test: b ok",
                "qsoe-suite: end",
            ],
            Termination::Exited(Some(0)),
        );
        assert!(failure(&report.harness, SUITE_TRIAL).contains("announced 3 tests but 2"));
    }

    #[test]
    fn fewer_results_than_announced_fails_suite() {
        let report = run(
            &[
                "qsoe-suite: start 3",
                "qsoe-test: a ok",
                "qsoe-test: b ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
        assert!(failure(&report.harness, SUITE_TRIAL)
            .starts_with("the suite announced 3 tests but 2 reported a result"));
    }

    #[test]
    fn more_results_than_announced_fails_suite() {
        let report = run(
            &[
                "qsoe-suite: start 1",
                "qsoe-test: a ok",
                "qsoe-test: b ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
    }

    #[test]
    fn missing_start_line_fails_suite() {
        let report = run(&["qsoe-test: a ok", "qsoe-suite: end"], CLEAN_EXIT);
        assert_eq!(report.tests[0].result, Ok(()));
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
    }

    #[test]
    fn tolerates_carriage_returns_and_trailing_space() {
        let report = run(
            &[
                "qsoe-suite: start 2\r",
                "\rqsoe-test: a start \r",
                "qsoe-test: a ok\r\n",
                "qsoe-test: b FAILED  bad value \r",
                "qsoe-suite: end   ",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(report.tests[0].result, Ok(()));
        assert!(failure(&report.tests, "b").starts_with("bad value\n"));
        assert_eq!(report.harness, []);
    }

    #[test]
    fn tail_keeps_indentation_but_not_line_ends() {
        let mut console = feed(&["qsoe-suite: start 1", "qsoe-test: a start"]);
        console.feed("  ra: 0x80200000\r");
        console.feed("\r  sp: 0x0");
        let report = console.finish(&Termination::Exited(Some(0)));
        assert!(failure(&report.tests, "a").ends_with("\n  ra: 0x80200000\n  sp: 0x0"));
    }

    #[test]
    fn noise_and_malformed_protocol_lines_are_ignored() {
        let report = run(
            &[
                "OpenSBI v1.3",
                "Booting all finished, dropped to user space",
                "echo qsoe-test: fake ok",
                "qsoe-suite: start many",
                "qsoe-suite: start 1",
                "qsoe-test: lonely",
                "qsoe-test: a frobnicated",
                "qsoe-suite: ended",
                "qsoe-test: a ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(names(&report.tests), ["a"]);
        assert_eq!(report.harness, []);
    }

    #[test]
    fn trailing_words_after_ok_and_start_are_tolerated() {
        let report = run(
            &[
                "qsoe-suite: start 1",
                "qsoe-test: a start (cpu 2)",
                "qsoe-test: a ok 3 ms",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(
            report.tests,
            [Outcome {
                name: "a".into(),
                result: Ok(()),
                elapsed: Some(Duration::ZERO),
            }]
        );
        assert_eq!(report.harness, []);
    }

    #[test]
    fn duplicate_names_fail_under_a_name_of_their_own() {
        let report = run(
            &[
                "qsoe-suite: start 3",
                "qsoe-test: a start",
                "qsoe-test: a ok",
                "qsoe-test: a start",
                "qsoe-test: a FAILED oops",
                "qsoe-test: a ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(names(&report.tests), ["a", "a#2", "a#3"]);
        assert_eq!(report.tests[0].result, Ok(()));
        assert!(failure(&report.tests, "a#2")
            .starts_with("`a` reported a result 2 times (this one said: FAILED oops)"));
        assert!(failure(&report.tests, "a#3").contains("(this one said: ok)"));
        assert_eq!(report.harness, []);
    }

    #[test]
    fn test_left_unfinished_at_a_clean_end_fails() {
        let report = run(
            &[
                "qsoe-suite: start 2",
                "qsoe-test: a start",
                "qsoe-test: b start",
                "qsoe-test: b ok",
                "qsoe-suite: end",
            ],
            CLEAN_EXIT,
        );
        assert_eq!(names(&report.tests), ["b", "a"]);
        assert!(failure(&report.tests, "a")
            .starts_with("did not finish: the suite ended without its result"));
        assert_eq!(names(&report.harness), [SUITE_TRIAL]);
    }

    #[test]
    fn result_without_start_counts() {
        let report = run(
            &["qsoe-suite: start 1", "qsoe-test: a ok", "qsoe-suite: end"],
            CLEAN_EXIT,
        );
        assert_eq!(
            report.tests,
            [Outcome {
                name: "a".into(),
                result: Ok(()),
                elapsed: None,
            }]
        );
        assert_eq!(report.harness, []);
    }

    #[test]
    fn killed_after_the_end_is_fine() {
        let report = run(
            &["qsoe-suite: start 0", "qsoe-suite: end"],
            Termination::TimedOut(Duration::from_secs(10)),
        );
        assert_eq!(
            report,
            Report {
                tests: vec![],
                harness: vec![]
            }
        );
    }

    #[test]
    fn phases_follow_the_console() {
        let mut console = Console::default();
        assert_eq!(console.feed("qsoe-suite: start 0"), Phase::Running);
        assert_eq!(console.feed("qsoe-suite: end"), Phase::Ended);
        assert_eq!(
            console.feed("Kernel init failed for some reason"),
            Phase::Crashed
        );
        assert_eq!(console.phase(), Phase::Crashed);
    }

    #[test]
    fn durations_run_from_start_line_to_result() {
        let mut console = Console::default();
        let s = Duration::from_secs;
        console.feed_at("qsoe-suite: start 2", s(1));
        console.feed_at("qsoe-test: a start", s(2));
        console.feed_at("qsoe-test: b start", s(3));
        console.feed_at("qsoe-test: a ok", s(7));
        console.feed_at("qsoe-suite: end", s(9));
        let report = console.finish(&CLEAN_EXIT);
        assert_eq!(report.tests[0].elapsed, Some(s(5)));
        assert_eq!(report.tests[1].name, "b");
        assert_eq!(report.tests[1].elapsed, Some(s(6)));
    }

    #[test]
    fn tail_keeps_only_the_last_lines() {
        let mut console = feed(&["qsoe-suite: start 1", "qsoe-test: a start"]);
        for i in 0..100 {
            console.feed(&format!("line {i}"));
        }
        let report = console.finish(&Termination::TimedOut(Duration::from_secs(1)));
        let message = failure(&report.tests, "a");
        let tail: Vec<&str> = message.lines().skip(2).collect();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail[0], "line 60");
        assert_eq!(tail[TAIL_LINES - 1], "line 99");
        assert!(message.contains(&format!("--- last {TAIL_LINES} console lines ---")));
    }

    #[test]
    fn kernel_messages_are_taken_out_of_the_lines_they_cut() {
        let mut splicer = Splicer::default();
        let message = format!("{KERNEL_MESSAGE}\x1b[0m\x1b[32mseL4(CPU 1)\x1b[0m: no.>>\x1b[0m");
        let alone = vec![message.clone()];
        assert_eq!(splicer.push(&format!("qsoe-test: a sta{message}")), alone);
        assert_eq!(splicer.push("rt"), ["qsoe-test: a start"]);
        assert_eq!(splicer.push(&message), alone);
        assert_eq!(splicer.push("plain"), ["plain"]);
    }

    #[test]
    fn typing_is_handed_out_and_its_echo_awaited() {
        let mut console = feed(&["qsoe-suite: start 3", "qsoe-test: a start"]);
        console.feed("qsoe-suite: type 68690d");
        assert_eq!(console.take_typing(), b"hi\r");
        assert!(console.take_typing().is_empty());
        console.feed("hi");
        console.feed("qsoe-test: a ok");
        console.feed("qsoe-test: b start");
        console.feed("qsoe-suite: type 03");
        console.feed("qsoe-test: b ok");
        console.feed("qsoe-suite: type zz");
        assert!(console.take_typing().starts_with(&[3]));
        let report = console.finish(&Termination::Exited(Some(0)));
        assert!(report.tests[0].result.is_ok());
        assert!(failure(&report.tests, "b").contains("\"^C\" never came back"));
        assert_eq!(visible_echo(b"ab\x7fc\rxyz"), "abc");
    }
}
