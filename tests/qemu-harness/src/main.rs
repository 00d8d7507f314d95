//! `qemu-harness`: boots the image in QEMU and reports the in-guest tests
//! the way `cargo test` reports host tests, so both read alike in CI.
//!
//! QEMU is booted once; the console is read as the test protocol (see
//! `console`), and then each in-guest test becomes a libtest-mimic trial
//! whose runner just returns the recorded outcome.

mod console;
mod host_sleep;
mod qemu;

use std::env;
use std::fs::File;
use std::io::Write;
use std::iter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Trial};

use console::{Console, Outcome, Report, Termination};
use host_sleep::HostSleeper;
use qemu::{Clock, Launch};

const USAGE: &str = "\
usage:
  qemu-harness run <image> [--append TEXT]
  qemu-harness test <image> [--timeout SECS] [--append TEXT] [--log PATH] [--label NAME] [FILTER and other libtest options...]
  qemu-harness bench <image> [--exact] [--timeout SECS] [--append TEXT] [--log PATH]
  qemu-harness device-tree <out>

run    boots interactively (quit QEMU with Ctrl-A x)
test   runs the in-guest suite and reports it like `cargo test`
bench  runs the in-guest benchmarks and prints their `bench: ` lines
device-tree  writes the board's device tree (a DTB) to <out>
--exact    (bench) boots the exact kernel's image on its harts under -icount, where
           the guest's cycle counter counts instructions (qsoe.clock=instructions)
--timeout  kills QEMU after SECS seconds (default 300)
--append   extra kernel command line words, after the mode
--log      where the console goes (default: qemu-test.log or qemu-bench.log beside the image)
--label    names this boot in the summary (`qemu-NAME: N passed, N failed`) and the log
           (qemu-test-NAME.log), for a second image in one run
QSOE_VERBOSE=1 also echoes the console to stderr while it runs.";

/// Exit code of a run with failures, as `cargo test` uses.
const FAILED: u8 = 101;
/// Exit code of a command line we cannot understand.
const USAGE_ERROR: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Run,
    Test,
    Bench,
}

#[derive(Debug, PartialEq, Eq)]
struct Options {
    mode: Mode,
    image: PathBuf,
    timeout: Option<Duration>,
    append: Option<String>,
    log: Option<PathBuf>,
    /// Names the boot in the summary line and the default log.
    label: Option<String>,
    /// How the guest's cycle counter counts (`--exact`: instructions).
    clock: Clock,
    /// Everything else, for libtest-mimic (test mode only).
    rest: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    if matches!(
        args.first().map(String::as_str),
        Some("-h" | "--help" | "help")
    ) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if let [mode, out] = args.as_slice() {
        if mode == "device-tree" {
            return device_tree(Path::new(out));
        }
    }
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("qemu-harness: {message}\n\n{USAGE}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match run(options) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("qemu-harness: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn device_tree(out: &Path) -> ExitCode {
    let launch = Launch::device_tree(out);
    match launch.run_quiet() {
        Ok(status) if status.success() && out.is_file() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!(
                "qemu-harness: `{launch}` did not write {}: {status}",
                out.display()
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("qemu-harness: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let mode = match args.next().as_deref() {
        Some("run") => Mode::Run,
        Some("test") => Mode::Test,
        Some("bench") => Mode::Bench,
        Some(other) => return Err(format!("unknown mode `{other}`")),
        None => return Err("missing mode".to_owned()),
    };
    let image = args.next().ok_or("missing image path")?.into();
    let mut options = Options {
        mode,
        image,
        timeout: None,
        append: None,
        log: None,
        label: None,
        clock: Clock::Host,
        rest: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--timeout" => {
                let text = value()?;
                match text.parse() {
                    Ok(secs) if secs > 0 => options.timeout = Some(Duration::from_secs(secs)),
                    _ => return Err(format!("--timeout wants whole seconds > 0, not `{text}`")),
                }
            }
            "--append" => {
                let text = value()?;
                options.append = Some(match options.append {
                    Some(before) => format!("{before} {text}"),
                    None => text,
                });
            }
            "--log" => options.log = Some(value()?.into()),
            "--label" => options.label = Some(value()?),
            "--exact" if mode == Mode::Bench => {
                options.clock = Clock::Instructions;
                options.label.get_or_insert_with(|| "exact".to_owned());
            }
            _ => options.rest.push(arg),
        }
    }
    match (mode, options.rest.first()) {
        (Mode::Run, _) if options.timeout.is_some() || options.log.is_some() => {
            Err("--timeout and --log are for test and bench".to_owned())
        }
        (Mode::Run | Mode::Bench, Some(extra)) => Err(format!("unexpected argument `{extra}`")),
        _ => Ok(options),
    }
}

fn run(options: Options) -> Result<ExitCode, String> {
    // Check here, not in QEMU: its error for a missing image is cryptic.
    if !options.image.is_file() {
        return Err(format!(
            "image `{}` does not exist or is not a file (build it first)",
            options.image.display()
        ));
    }
    match options.mode {
        Mode::Run => {
            let launch = Launch::interactive(&options.image, options.append.as_deref());
            eprintln!("{launch}\n(quit QEMU with Ctrl-A x)");
            let status = launch.run_attached().map_err(|e| e.to_string())?;
            Ok(if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Mode::Test => test(options),
        Mode::Bench => bench(options),
    }
}

/// The kernel command line: the mode first, then the user's words.
fn bootargs(mode: &str, append: Option<&str>) -> String {
    match append {
        Some(text) => format!("qsoe.mode={mode} {text}"),
        None => format!("qsoe.mode={mode}"),
    }
}

/// Boots the image headless in `mode`, logging the console, and returns how
/// QEMU ended together with what the console said. `echo` sees every line
/// once the console has taken it.
fn boot(
    options: &Options,
    mode: &str,
    mut echo: impl FnMut(&str, &Console),
) -> Result<(Console, Termination), String> {
    let append = match options.clock {
        Clock::Host => options.append.clone(),
        Clock::Instructions => Some(match &options.append {
            Some(text) => format!("qsoe.clock=instructions {text}"),
            None => "qsoe.clock=instructions".to_owned(),
        }),
    };
    let launch = Launch::headless(
        &options.image,
        options.clock,
        &bootargs(mode, append.as_deref()),
    );
    let log_path = options.log.clone().unwrap_or_else(|| {
        let dir = options.image.parent().unwrap_or(Path::new(""));
        match &options.label {
            Some(label) => dir.join(format!("qemu-{mode}-{label}.log")),
            None => dir.join(format!("qemu-{mode}.log")),
        }
    });
    let mut log = File::create(&log_path)
        .map_err(|e| format!("cannot create log `{}`: {e}", log_path.display()))?;
    let verbose = env::var_os("QSOE_VERBOSE").is_some();
    let timeout = options.timeout.unwrap_or(Duration::from_secs(300));

    eprintln!("{launch}");
    eprintln!("console log: {}", log_path.display());
    let mut console = Console::default();
    let termination = launch
        .run_watched(timeout, &mut console, |line, console| {
            if verbose {
                eprintln!("{line}");
            }
            echo(line, console);
            writeln!(log, "{line}")
        })
        .map_err(|e| e.to_string())?;
    Ok((console, termination))
}

fn test(options: Options) -> Result<ExitCode, String> {
    // Parse libtest's options before booting, so a typo costs no boot.
    let args =
        Arguments::from_iter(iter::once("qemu-harness".to_owned()).chain(options.rest.clone()));
    let began = Instant::now();
    let mut shown = 0;
    match &options.label {
        Some(label) => println!("\nrunning the in-guest suite (one QEMU boot: {label})"),
        None => println!("\nrunning the in-guest suite (one QEMU boot)"),
    }
    let (console, termination) = boot(&options, "test", |_, console| {
        // Each result as soon as the guest prints it.
        for outcome in &console.results()[shown..] {
            if !hidden(&args, outcome) && !args.list {
                println!("{}", result_line(outcome));
            }
        }
        shown = console.results().len();
    })?;
    let report = console.finish(&termination);
    let summary = match &options.label {
        Some(label) => format!("qemu-{label}"),
        None => "qemu".to_owned(),
    };
    Ok(summarize(&args, report, shown, began.elapsed(), &summary))
}

/// Whether the libtest filter given on the command line leaves `outcome` out.
fn hidden(args: &Arguments, outcome: &Outcome) -> bool {
    let trial = Trial::test(outcome.name.clone(), || Ok(()));
    args.is_filtered_out(&trial) || args.is_ignored(&trial)
}

/// `test NAME ... ok (1.23s)`, as `cargo test` prints it, with the time the
/// guest took from the test's start line to its result.
fn result_line(outcome: &Outcome) -> String {
    let verdict = if outcome.result.is_ok() {
        "ok"
    } else {
        "FAILED"
    };
    match outcome.elapsed {
        Some(t) => format!(
            "test {} ... {verdict} ({:.2}s)",
            outcome.name,
            t.as_secs_f64()
        ),
        None => format!("test {} ... {verdict}", outcome.name),
    }
}

/// Prints what the live lines could not show (tests that never finished,
/// failures of the run itself, every failure's console tail), then the
/// totals and the one summary line. `shown` results were printed live.
fn summarize(
    args: &Arguments,
    report: Report,
    shown: usize,
    elapsed: Duration,
    summary: &str,
) -> ExitCode {
    let Report { tests, harness } = report;
    if args.list {
        for t in tests.iter().filter(|t| !hidden(args, t)) {
            println!("{}: test", t.name);
        }
        return ExitCode::SUCCESS;
    }
    // A broken boot must fail the run even when a filter hides its trial.
    let late: Vec<&Outcome> = tests[shown.min(tests.len())..]
        .iter()
        .filter(|t| !hidden(args, t))
        .chain(&harness)
        .collect();
    for outcome in &late {
        println!("{}", result_line(outcome));
    }
    let counted: Vec<&Outcome> = tests
        .iter()
        .filter(|t| !hidden(args, t))
        .chain(&harness)
        .collect();
    let failures: Vec<&&Outcome> = counted.iter().filter(|t| t.result.is_err()).collect();
    let passed = counted.len() - failures.len();
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for f in &failures {
            if let Err(why) = &f.result {
                println!("---- {} ----\n{why}\n", f.name);
            }
        }
        println!("failures:");
        for f in &failures {
            println!("    {}", f.name);
        }
    }
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        failures.len(),
        tests.iter().filter(|t| hidden(args, t)).count(),
        elapsed.as_secs_f64()
    );
    println!("{summary}: {passed} passed, {} failed", failures.len());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}

fn bench(options: Options) -> Result<ExitCode, String> {
    let host = HostSleeper::start();
    let (console, termination) = boot(&options, "bench", |line, _| {
        let line = line.trim();
        host.follow(line);
        if line.starts_with("bench: ") {
            println!("{line}");
        }
    })?;
    if let Some(line) = host.finish() {
        println!("{line}");
    }
    Ok(match bench_trouble(&console, &termination) {
        None => ExitCode::SUCCESS,
        Some(why) => {
            eprintln!("bench FAILED: {}", console.with_tail(&why));
            ExitCode::from(FAILED)
        }
    })
}

/// Benchmarks fail only when the guest breaks (a fatal line, a hang, QEMU
/// failing), never because of a number; a guest that powers off cleanly
/// without `qsoe-suite: end` has still finished its benchmarks.
fn bench_trouble(console: &Console, termination: &Termination) -> Option<String> {
    match termination {
        Termination::Exited(Some(0)) if console.phase() != console::Phase::Crashed => None,
        _ => console.trouble(termination),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn test_mode_keeps_its_flags_and_forwards_the_rest() {
        let options = parse(args(
            "test build/img --timeout 60 smp --append a --log x.log --append b --exact --label r",
        ))
        .unwrap();
        assert_eq!(
            options,
            Options {
                mode: Mode::Test,
                image: "build/img".into(),
                timeout: Some(Duration::from_secs(60)),
                append: Some("a b".to_owned()),
                log: Some("x.log".into()),
                label: Some("r".to_owned()),
                clock: Clock::Host,
                rest: args("smp --exact"),
            }
        );
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for line in [
            "",
            "boot img",
            "test",
            "test img --timeout",
            "test img --timeout 0",
            "test img --timeout soon",
            "test img --label",
            "run img --timeout 5",
            "run img extra",
            "bench img smp",
        ] {
            assert!(parse(args(line)).is_err(), "accepted `{line}`");
        }
    }

    #[test]
    fn bench_exact_boots_under_icount_with_its_own_log_label() {
        let options = parse(args("bench img --exact")).unwrap();
        assert_eq!(options.clock, Clock::Instructions);
        assert_eq!(options.label.as_deref(), Some("exact"));
        assert_eq!(parse(args("bench img")).unwrap().clock, Clock::Host);
    }

    #[test]
    fn bootargs_put_the_mode_first() {
        assert_eq!(bootargs("test", None), "qsoe.mode=test");
        assert_eq!(
            bootargs("test", Some("only=smp")),
            "qsoe.mode=test only=smp"
        );
    }

    #[test]
    fn bench_fails_only_when_the_guest_breaks() {
        let clean = Console::default();
        assert_eq!(bench_trouble(&clean, &Termination::Exited(Some(0))), None);
        assert!(bench_trouble(&clean, &Termination::Exited(Some(1))).is_some());
        let hung = Termination::TimedOut(Duration::from_secs(300));
        assert!(bench_trouble(&clean, &hung).is_some());

        let mut crashed = Console::default();
        crashed.feed("taskman panicked at x.rs:1:1:");
        assert!(bench_trouble(&crashed, &Termination::Exited(Some(0))).is_some());

        let mut ended = Console::default();
        ended.feed("bench: ipc_roundtrip 812 ns");
        ended.feed("qsoe-suite: end");
        assert_eq!(bench_trouble(&ended, &hung), None);
    }
}
