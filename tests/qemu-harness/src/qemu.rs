//! Starting QEMU and watching its console: the thin imperative shell around
//! [`Console`]. The board comes from `sel4_config::platform`, the same file
//! that configures the kernel, so the two cannot disagree.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use sel4_config::platform::{EXACT_HARTS, HARTS, MEMORY_MIB, QEMU_MACHINE, SEL4_ARCH};

use crate::console::{Console, Phase, Splicer, Termination};

/// How long QEMU gets to power off by itself after `qsoe-suite: end`.
const END_GRACE: Duration = Duration::from_secs(10);
/// How long to keep reading after a fatal line: a panic message or a
/// register dump usually follows the marker, and it belongs in the tail.
const CRASH_LINGER: Duration = Duration::from_secs(2);

/// One QEMU invocation: the program and its arguments.
pub struct Launch {
    program: String,
    args: Vec<OsString>,
}

/// How the board runs the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Every hart, multi-threaded TCG: `rdcycle` reads host time.
    Host,
    /// The exact kernel's harts under `-icount`: `rdcycle` counts guest
    /// instructions, the same in every boot.
    Instructions,
}

impl Launch {
    fn board(image: &Path, clock: Clock) -> Self {
        let harts = match clock {
            Clock::Host => HARTS,
            Clock::Instructions => EXACT_HARTS,
        };
        let args = [
            "-machine",
            QEMU_MACHINE,
            "-cpu",
            "rv64",
            "-smp",
            &harts.to_string(),
            "-m",
            &MEMORY_MIB.to_string(),
            "-bios",
            "default",
            "-kernel",
        ]
        .into_iter()
        .map(OsString::from)
        .chain([image.as_os_str().to_owned()])
        .collect();
        let launch = Launch {
            program: format!("qemu-system-{SEL4_ARCH}"),
            args,
        };
        match clock {
            Clock::Host => launch,
            Clock::Instructions => launch.with(&["-icount", "shift=0,align=off"]),
        }
    }

    fn with(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// Writes the board's device tree to `out` and exits: what the guest
    /// will be given, for checking the manifest's device grants on the host.
    pub fn device_tree(out: &Path) -> Self {
        let mut machine = OsString::from(format!("{QEMU_MACHINE},dumpdtb="));
        machine.push(out);
        let launch = Self::board(out, Clock::Host);
        let mut args = launch.args;
        // The board's arguments without its image, the machine with the dump.
        args.truncate(args.len() - 4);
        args[1] = machine;
        Launch {
            program: launch.program,
            args,
        }
        .with(&["-display", "none"])
    }

    /// For a person: the serial console and QEMU's monitor on the terminal.
    pub fn interactive(image: &Path, append: Option<&str>) -> Self {
        let launch = Self::board(image, Clock::Host).with(&["-nographic"]);
        match append {
            Some(text) => launch.with(&["-append", text]),
            None => launch,
        }
    }

    /// For the harness: only the serial console, on stdout; a reboot ends
    /// QEMU so a crashing guest cannot loop. `bootargs` reach the guest as
    /// `/chosen/bootargs`.
    pub fn headless(image: &Path, clock: Clock, bootargs: &str) -> Self {
        Self::board(image, clock).with(&[
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
            "-append",
            bootargs,
        ])
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        command
    }

    fn start_error(&self, error: io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!("cannot start {}: {error}", self.program),
        )
    }

    /// Runs QEMU on the terminal until the user quits it.
    pub fn run_attached(&self) -> io::Result<ExitStatus> {
        self.command().status().map_err(|e| self.start_error(e))
    }

    /// Runs QEMU to its end with its output discarded.
    pub fn run_quiet(&self) -> io::Result<ExitStatus> {
        self.command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| self.start_error(e))
    }

    /// Runs QEMU with its console piped through `console`, calling `on_line`
    /// for every line once the console has taken it (for the log and the
    /// live report). Never waits past `limit`: QEMU is killed then, and
    /// always before this returns.
    pub fn run_watched(
        &self,
        limit: Duration,
        console: &mut Console,
        mut on_line: impl FnMut(&str, &Console) -> io::Result<()>,
    ) -> io::Result<Termination> {
        let start = Instant::now();
        let mut child = KillOnDrop(
            self.command()
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| self.start_error(e))?,
        );
        let stdout = child.0.stdout.take().expect("stdout is piped");
        // What tests ask to have typed goes to the guest's serial port.
        let mut keyboard = child.0.stdin.take().expect("stdin is piped");
        let mut splicer = Splicer::default();
        // A thread turns the blocking pipe into a channel, so the wait for
        // the next line can have a deadline.
        let (lines, received) = mpsc::channel();
        // Not joined: whatever else might hold the pipe open (a process QEMU
        // started) must not be able to hang the harness; the thread ends
        // with the pipe or with the harness.
        thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut buf = Vec::new();
            while matches!(stdout.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
                let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                if lines.send(line).is_err() {
                    break;
                }
                buf.clear();
            }
        });

        let mut deadline = start + limit;
        let mut phase = console.phase();
        let termination = loop {
            match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(raw) => {
                    let mut now = phase;
                    for line in splicer.push(&raw) {
                        now = console.feed_at(&line, start.elapsed());
                        on_line(&line, console)?;
                        let typed = console.take_typing();
                        // A QEMU that is gone shows in the next receive.
                        if !typed.is_empty() {
                            let _ = keyboard.write_all(&typed).and_then(|()| keyboard.flush());
                        }
                    }
                    if now != phase {
                        phase = now;
                        let grace = match now {
                            Phase::Running => None,
                            Phase::Ended => Some(END_GRACE),
                            Phase::Crashed => Some(CRASH_LINGER),
                        };
                        if let Some(grace) = grace {
                            deadline = deadline.min(Instant::now() + grace);
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => break Termination::TimedOut(start.elapsed()),
                Err(RecvTimeoutError::Disconnected) => {
                    break Termination::Exited(child.0.wait()?.code())
                }
            }
        };
        Ok(termination)
    }
}

/// Shown to the user before booting, so a run can be repeated by hand.
impl fmt::Display for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(&arg.to_string_lossy()))?;
        }
        Ok(())
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Owns the QEMU process so that no error path can leave it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Both fail harmlessly if QEMU already exited and was reaped.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_comes_from_the_platform_description() {
        let line =
            Launch::headless(Path::new("build/image"), Clock::Host, "qsoe.mode=test").to_string();
        assert_eq!(
            line,
            format!(
                "qemu-system-{SEL4_ARCH} -machine {QEMU_MACHINE} -cpu rv64 -smp {HARTS} \
                 -m {MEMORY_MIB} -bios default -kernel build/image -display none \
                 -monitor none -serial stdio -no-reboot -append qsoe.mode=test"
            )
        );
    }

    #[test]
    fn exact_clock_boots_the_exact_harts_under_icount() {
        let line = Launch::headless(Path::new("img"), Clock::Instructions, "x").to_string();
        assert!(line.contains(&format!("-smp {EXACT_HARTS} ")), "{line}");
        assert!(line.contains("-icount shift=0,align=off"), "{line}");
    }

    #[test]
    fn interactive_appends_only_when_asked() {
        let plain = Launch::interactive(Path::new("img"), None).to_string();
        assert!(plain.ends_with("-kernel img -nographic"), "{plain}");
        let with = Launch::interactive(Path::new("img"), Some("a b")).to_string();
        assert!(with.ends_with("-nographic -append 'a b'"), "{with}");
    }

    #[test]
    fn quoting_makes_a_pastable_line() {
        assert_eq!(shell_quote("plain/path-1.elf"), "plain/path-1.elf");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
