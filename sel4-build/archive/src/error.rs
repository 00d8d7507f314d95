//! What can go wrong, worded for the person editing the manifest.
//!
//! Every rule a manifest entry can break is a [`Problem`] tied to the entry
//! that broke it, so the message points at the line to fix and tests can
//! tell the rules apart.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a manifest could not be turned into an archive.
#[derive(Debug)]
pub enum Error {
    /// The manifest itself could not be read.
    Read { path: PathBuf, source: io::Error },
    /// The archive could not be written out.
    Write { path: PathBuf, source: io::Error },
    /// The manifest is not TOML, or has keys or types the format lacks.
    Syntax(String),
    /// One manifest entry breaks a rule.
    Entry { entry: String, problem: Problem },
    /// The CPIO writer refused an entry.
    Archive(String),
}

/// A rule broken by one manifest entry.
#[derive(Debug)]
pub enum Problem {
    /// A `[[program]]` has neither `bin` nor `elf`.
    NoSource,
    /// A `[[program]]` has both `bin` and `elf`.
    TwoSources,
    /// `bin` is not a plain file name.
    BadBinName(String),
    /// The path does not start with `/`.
    NotAbsolute,
    /// The path has an empty component (`//`, a trailing `/`, or just `/`).
    EmptyComponent,
    /// The path has a `.` or `..` component.
    DotComponent(String),
    /// The path contains a NUL byte, which ends names in the archive.
    NulInPath,
    /// Another entry already has this path.
    DuplicatePath { other: String },
    /// The path would sit under another entry's file.
    InsideFile { other: String },
    /// The path would have to be a directory holding another entry's file.
    HoldsFile { other: String },
    /// A required entry is absent.
    Missing,
    /// An init command has no program path.
    EmptyCommand,
    /// A program lists an ability `qsoe_abi::grants` does not know.
    UnknownAbility(String),
    /// A program lists an ability twice.
    RepeatedAbility(String),
    /// A program's `budget` is not a byte count of at least 64 KiB.
    BadBudget,
    /// A program's limit is past what any process may be granted.
    LimitTooLarge {
        key: &'static str,
        value: u64,
        max: u64,
    },
    /// An `attach` prefix is not a normalised absolute path.
    BadPrefix(String),
    /// A program lists an `attach` prefix twice.
    RepeatedPrefix(String),
    /// A `devices` entry is not `COMPATIBLE` or `COMPATIBLE#INDEX`.
    BadDevice(String),
    /// A program lists a device twice.
    RepeatedDevice(String),
    /// The device tree has no such device (or it has no registers).
    UnknownDevice { compatible: String, index: u32 },
    /// Programs name devices, but no device tree was given to check them.
    NoDeviceTree,
    /// The device tree file does not parse.
    BadDeviceTree { path: PathBuf, reason: String },
    /// An init command's program is not a `[[program]]` of the manifest.
    UnknownProgram(String),
    /// An init argument contains a byte its encoding cannot carry.
    ForbiddenByte { arg: String, byte: u8 },
    /// A program's file could not be read.
    Unreadable { path: PathBuf, source: io::Error },
    /// A program's file is not a 64-bit little-endian ELF file.
    NotElf { path: PathBuf, reason: String },
    /// A program's file is an ELF file, but not a RISC-V executable.
    WrongElf { path: PathBuf, reason: String },
    /// `truncate` would not shorten the file.
    TruncateTooLong { truncate: u64, size: u64 },
}

impl Error {
    /// Ties `problem` to the manifest entry described by `entry`.
    pub(crate) fn entry(entry: impl Into<String>, problem: Problem) -> Self {
        Self::Entry {
            entry: entry.into(),
            problem,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Write { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            Self::Syntax(message) => write!(f, "{}", message.trim_end()),
            Self::Entry { entry, problem } => write!(f, "{entry}: {problem}"),
            Self::Archive(message) => write!(f, "cannot build the archive: {message}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSource => write!(f, "needs `bin` or `elf`"),
            Self::TwoSources => write!(f, "has both `bin` and `elf`; give exactly one"),
            Self::BadBinName(name) => write!(f, "bin {name:?} must be a plain file name"),
            Self::NotAbsolute => write!(f, "path must be absolute (start with `/`)"),
            Self::EmptyComponent => write!(f, "path has an empty component"),
            Self::DotComponent(dots) => write!(f, "path must not contain {dots:?} components"),
            Self::NulInPath => write!(f, "path must not contain NUL"),
            Self::DuplicatePath { other } => write!(f, "path is also used by {other}"),
            Self::InsideFile { other } => write!(f, "path would be inside the file of {other}"),
            Self::HoldsFile { other } => {
                write!(f, "path would have to be a directory holding {other}")
            }
            Self::Missing => write!(f, "missing; the system cannot boot without it"),
            Self::EmptyCommand => write!(f, "command is empty; it needs a program path"),
            Self::UnknownAbility(name) => {
                let known: Vec<&str> = qsoe_abi::grants::Abilities::NAMED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                write!(f, "unknown ability {name:?} (known: {})", known.join(", "))
            }
            Self::RepeatedAbility(name) => write!(f, "ability {name:?} is listed twice"),
            Self::BadBudget => write!(
                f,
                "budget must be a byte count of at least 64K (a number, or a string such as \"512K\" or \"16M\")"
            ),
            Self::LimitTooLarge { key, value, max } => {
                write!(f, "{key} = {value} is past the most a process may hold ({max})")
            }
            Self::BadPrefix(p) => write!(
                f,
                "attach prefix {p:?} must be `/` or an absolute path of names, without `.`, `..`, empty names or a trailing `/`"
            ),
            Self::RepeatedPrefix(p) => write!(f, "attach prefix {p:?} is listed twice"),
            Self::BadDevice(d) => write!(f, "device {d:?} is not COMPATIBLE or COMPATIBLE#INDEX"),
            Self::RepeatedDevice(d) => write!(f, "device {d:?} is listed twice"),
            Self::UnknownDevice { compatible, index } => write!(
                f,
                "the device tree has no device {compatible:?} #{index} with registers"
            ),
            Self::NoDeviceTree => write!(f, "names devices, but no --device-tree was given to check them against"),
            Self::BadDeviceTree { path, reason } => {
                write!(f, "device tree {}: {reason}", path.display())
            }
            Self::UnknownProgram(path) => write!(f, "{path:?} is not a [[program]] path"),
            Self::ForbiddenByte { arg, byte } => {
                write!(f, "argument {arg:?} contains byte {byte:#04x}, which init's command file cannot carry")
            }
            Self::Unreadable { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            Self::NotElf { path, reason } => write!(
                f,
                "{} is not a 64-bit little-endian ELF file ({reason})",
                path.display()
            ),
            Self::WrongElf { path, reason } => write!(
                f,
                "{} is not a RISC-V executable ({reason})",
                path.display()
            ),
            Self::TruncateTooLong { truncate, size } => write!(
                f,
                "truncate = {truncate} does not shorten the {size}-byte file"
            ),
        }
    }
}

impl std::error::Error for Error {}
