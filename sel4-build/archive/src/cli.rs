//! The command line, kept apart from `main` so it can be tested.
//!
//! `pack` is what the build runs; `deps` lists the inputs so Make can
//! rebuild the archive when the manifest or any program changes.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{self, ExitCode};

use crate::Error;

/// How to use the tool, printed for `--help` and after a usage error.
pub const USAGE: &str = "\
usage: qsoe-archive pack --manifest M --bin-dir D --out F [--device-tree T]
       qsoe-archive deps --manifest M --bin-dir D

pack  writes the boot archive for manifest M to F, taking `bin` programs from D
      and checking the devices programs are granted against device tree T (a DTB)
deps  prints the manifest and every program file it names, one per line
";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Pack {
        manifest: PathBuf,
        bin_dir: PathBuf,
        out: PathBuf,
        device_tree: Option<PathBuf>,
    },
    Deps {
        manifest: PathBuf,
        bin_dir: PathBuf,
    },
    Help,
}

/// Runs the tool on `args` (without the program name), printing its output.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let command = match parse_args(args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("qsoe-archive: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&command) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("qsoe-archive: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `pack`/`deps` and their `--flag value` options.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let verb = args.next().ok_or("no command given")?;
    let mut options = Options::default();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{} needs a value", flag.to_string_lossy()))?;
        options.set(&flag, PathBuf::from(value))?;
    }
    let Options {
        manifest,
        bin_dir,
        out,
        device_tree,
    } = options;
    match verb.to_str() {
        Some("pack") => Ok(Command::Pack {
            manifest: required(manifest, "--manifest")?,
            bin_dir: required(bin_dir, "--bin-dir")?,
            out: required(out, "--out")?,
            device_tree,
        }),
        Some("deps") if out.is_some() || device_tree.is_some() => {
            Err("deps takes no --out or --device-tree".into())
        }
        Some("deps") => Ok(Command::Deps {
            manifest: required(manifest, "--manifest")?,
            bin_dir: required(bin_dir, "--bin-dir")?,
        }),
        Some("help" | "-h" | "--help") => Ok(Command::Help),
        _ => Err(format!("unknown command {verb:?}")),
    }
}

#[derive(Default)]
struct Options {
    manifest: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
    out: Option<PathBuf>,
    device_tree: Option<PathBuf>,
}

impl Options {
    fn set(&mut self, flag: &OsStr, value: PathBuf) -> Result<(), String> {
        let slot = match flag.to_str() {
            Some("--manifest") => &mut self.manifest,
            Some("--bin-dir") => &mut self.bin_dir,
            Some("--out") => &mut self.out,
            Some("--device-tree") => &mut self.device_tree,
            _ => return Err(format!("unknown option {flag:?}")),
        };
        match slot.replace(value) {
            Some(_) => Err(format!("{} given twice", flag.to_string_lossy())),
            None => Ok(()),
        }
    }
}

fn required(value: Option<PathBuf>, flag: &str) -> Result<PathBuf, String> {
    value.ok_or_else(|| format!("missing {flag}"))
}

/// Carries out `command`, returning what to print.
pub fn run(command: &Command) -> Result<String, String> {
    match command {
        Command::Pack {
            manifest,
            bin_dir,
            out,
            device_tree,
        } => {
            let archive = crate::pack(manifest, bin_dir, device_tree.as_deref())
                .map_err(|e| in_manifest(manifest, e))?;
            write_atomically(out, &archive.bytes).map_err(|e| e.to_string())?;
            Ok(format!(
                "archive: {} ({} entries, {} bytes)\n",
                out.display(),
                archive.entries,
                archive.bytes.len()
            ))
        }
        Command::Deps { manifest, bin_dir } => {
            let paths = crate::deps(manifest, bin_dir).map_err(|e| in_manifest(manifest, e))?;
            Ok(paths
                .iter()
                .map(|path| format!("{}\n", path.display()))
                .collect())
        }
        Command::Help => Ok(USAGE.to_string()),
    }
}

/// Prefixes errors about the manifest's content with the manifest's path.
fn in_manifest(manifest: &Path, error: Error) -> String {
    match error {
        Error::Syntax(_) | Error::Entry { .. } => format!("{}: {error}", manifest.display()),
        _ => error.to_string(),
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, so a failed
/// or interrupted run never leaves a half-written archive for Make to trust.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp-{}", process::id()));
    let temporary = PathBuf::from(temporary);
    let result = write_then_rename(&temporary, path, bytes);
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_then_rename(temporary: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = fs::File::create(temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_pack_and_deps_in_any_option_order() {
        assert_eq!(
            parse(&[
                "pack",
                "--out",
                "a.cpio",
                "--bin-dir",
                "bin",
                "--manifest",
                "m.toml"
            ]),
            Ok(Command::Pack {
                manifest: "m.toml".into(),
                bin_dir: "bin".into(),
                out: "a.cpio".into(),
                device_tree: None,
            })
        );
        assert_eq!(
            parse(&["deps", "--manifest", "m.toml", "--bin-dir", "bin"]),
            Ok(Command::Deps {
                manifest: "m.toml".into(),
                bin_dir: "bin".into(),
            })
        );
    }

    #[test]
    fn help_is_a_command_and_an_option() {
        assert_eq!(parse(&["help"]), Ok(Command::Help));
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(parse(&["pack", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_command_lines() {
        let cases: [(&[&str], &str); 7] = [
            (&[], "no command given"),
            (&["unpack"], "unknown command \"unpack\""),
            (
                &["pack", "--manifest", "m", "--bin-dir", "b"],
                "missing --out",
            ),
            (&["deps", "--bin-dir", "b"], "missing --manifest"),
            (
                &["deps", "--manifest", "m", "--bin-dir", "b", "--out", "o"],
                "deps takes no --out or --device-tree",
            ),
            (
                &["pack", "--manifest", "m", "--manifest", "n"],
                "--manifest given twice",
            ),
            (
                &["pack", "--verbose", "yes"],
                "unknown option \"--verbose\"",
            ),
        ];
        for (args, message) in cases {
            assert_eq!(parse(args), Err(message.to_string()), "{args:?}");
        }
        assert_eq!(parse(&["pack", "--out"]), Err("--out needs a value".into()));
    }
}
