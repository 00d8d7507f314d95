//! The manifest: which programs and files the boot archive holds and what
//! init starts in each boot mode.
//!
//! [`Manifest::parse`] checks every rule that needs no file on disk, so
//! `deps` works before the programs are built and the checked-in manifest
//! is tested on its own; the program files are checked when they are read
//! (see [`crate::sources`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Problem};
use crate::init_script;
use qsoe_abi::grants::{Abilities, Limits, DEVICE_KEY, GRANTS_PATH};

/// The path taskman starts first; a manifest without it cannot boot.
pub const INIT_PATH: &str = "/sbin/init";

pub use crate::init_script::Command;

/// A parsed manifest whose structure has been checked.
#[derive(Debug)]
pub struct Manifest {
    pub programs: Vec<Program>,
    pub files: Vec<File>,
    pub init: Init,
}

/// An executable to pack.
#[derive(Debug)]
pub struct Program {
    pub path: String,
    pub source: Source,
    /// Keep only this many leading bytes (for loader error-path fixtures).
    pub truncate: Option<u64>,
    /// What its processes may do beyond the ordinary (`qsoe_abi::grants`),
    /// each name known and listed once; the default ones if the entry
    /// lists none.
    pub abilities: Vec<String>,
    /// The limits the entry sets (`qsoe_abi::grants::Limits::KEYS` names),
    /// each within `Limits::MAX`; the others are `Limits::DEFAULT`'s.
    pub limits: Vec<(&'static str, u64)>,
    /// Path prefixes its processes may attach in the pathname space
    /// (`qsoe_abi::grants::prefixes`), each a normalised absolute path.
    pub attach: Vec<String>,
    /// Devices its processes may drive: a device-tree `compatible` string
    /// and which of the nodes compatible with it (0 for the first), each
    /// listed once; `devices::check` finds them in the device tree.
    pub devices: Vec<(String, u32)>,
}

/// Where a program's file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A program of this workspace's userland, in the `--bin-dir` directory.
    Bin(String),
    /// Any ELF file, relative to the manifest's directory or absolute.
    Elf(PathBuf),
}

/// A plain, non-executable file to pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub path: String,
    pub text: String,
}

/// What init starts, per boot mode; a missing mode starts nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Init {
    #[serde(default)]
    pub run: Vec<Command>,
    #[serde(default)]
    pub test: Vec<Command>,
    #[serde(default)]
    pub bench: Vec<Command>,
    /// Started in every mode before its commands, and stopped after them.
    #[serde(default)]
    pub drivers: Vec<Command>,
}

/// The manifest as written, before the one-of-`bin`/`elf` rule is applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    program: Vec<RawProgram>,
    #[serde(default)]
    file: Vec<File>,
    #[serde(default)]
    init: Init,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    path: String,
    bin: Option<String>,
    elf: Option<PathBuf>,
    truncate: Option<u64>,
    abilities: Option<Vec<String>>,
    #[serde(default)]
    attach: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    budget: Option<Size>,
    threads: Option<u64>,
    channels: Option<u64>,
    connections: Option<u64>,
    children: Option<u64>,
}

/// A byte count: a number, or a string with a `K`, `M` or `G` suffix.
#[derive(Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    fn bytes(&self) -> Option<u64> {
        match self {
            Size::Bytes(n) => Some(*n),
            Size::Text(t) => {
                let (digits, shift) = match t.strip_suffix(['K', 'M', 'G']) {
                    Some(d) => (d, 10 * (1 + "KMG".find(t.chars().last()?)? as u32)),
                    None => (t.as_str(), 0),
                };
                digits.parse::<u64>().ok()?.checked_mul(1 << shift)
            }
        }
    }
}

/// The smallest budget: a page-table-sized block, less than any program
/// needs, so a smaller one is surely a mistake.
const MIN_BUDGET: u64 = 1 << 16;

impl Manifest {
    /// Parses `text` and checks everything that does not need the disk.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| Error::Syntax(e.to_string()))?;
        let programs = raw
            .program
            .into_iter()
            .map(Program::from_raw)
            .collect::<Result<_, _>>()?;
        let manifest = Self {
            programs,
            files: raw.file,
            init: raw.init,
        };
        manifest.check_paths()?;
        manifest.check_has_init()?;
        manifest.check_init_commands()?;
        Ok(manifest)
    }

    /// Checks each path alone, then against all paths before it, including
    /// the files generated for init's commands.
    fn check_paths(&self) -> Result<(), Error> {
        let mut taken: BTreeMap<&str, String> = BTreeMap::new();
        let generated: Vec<(String, String)> = init_script::LISTS
            .iter()
            .map(|mode| (init_script::path(mode), format!("[init] {mode}")))
            .collect();
        let grants = (GRANTS_PATH.to_owned(), "the abilities file".to_owned());
        for (path, label) in generated.iter().chain([&grants]) {
            taken.insert(path, label.clone());
        }
        for (path, label) in self.labelled_paths() {
            check_path(path)
                .and_then(|()| check_free(&taken, path))
                .map_err(|problem| Error::entry(&label, problem))?;
            taken.insert(path, label);
        }
        Ok(())
    }

    /// Every program and file path with the label naming its entry.
    fn labelled_paths(&self) -> impl Iterator<Item = (&str, String)> {
        let programs = self.programs.iter().map(|p| (p.path.as_str(), p.label()));
        let files = self.files.iter().map(|f| (f.path.as_str(), f.label()));
        programs.chain(files)
    }

    fn check_has_init(&self) -> Result<(), Error> {
        match self.program(INIT_PATH) {
            Some(_) => Ok(()),
            None => Err(Error::entry(program_label(INIT_PATH), Problem::Missing)),
        }
    }

    fn check_init_commands(&self) -> Result<(), Error> {
        for (mode, commands) in self.init.lists() {
            for (index, command) in commands.iter().enumerate() {
                self.check_command(command)
                    .map_err(|problem| Error::entry(format!("[init] {mode}[{index}]"), problem))?;
            }
        }
        Ok(())
    }

    fn check_command(&self, command: &Command) -> Result<(), Problem> {
        let program = command.first().ok_or(Problem::EmptyCommand)?;
        if self.program(program).is_none() {
            return Err(Problem::UnknownProgram(program.clone()));
        }
        command.iter().try_for_each(|arg| check_arg(arg))
    }

    /// The program packed at `path`, if any.
    pub fn program(&self, path: &str) -> Option<&Program> {
        self.programs.iter().find(|program| program.path == path)
    }
}

impl Manifest {
    /// The contents of `GRANTS_PATH`: one line per program, with its
    /// abilities, the limits its entry sets and its prefixes, in path order
    /// (so the order of entries does not change the archive).
    pub fn grants(&self) -> Vec<u8> {
        let sep = char::from(qsoe_abi::grants::SEPARATOR).to_string();
        let mut programs: Vec<&Program> = self.programs.iter().collect();
        programs.sort_by(|a, b| a.path.cmp(&b.path));
        let lines: Vec<String> = programs
            .into_iter()
            .map(|p| {
                let mut fields = vec![p.path.clone()];
                fields.extend(p.abilities.iter().cloned());
                fields.extend(p.limits.iter().map(|(k, v)| format!("{k}={v}")));
                fields.extend(p.attach.iter().cloned());
                fields.extend(
                    p.devices
                        .iter()
                        .map(|(c, i)| format!("{DEVICE_KEY}{c}#{i}")),
                );
                fields.join(&sep)
            })
            .collect();
        lines.join("\n").into_bytes()
    }
}

impl Program {
    fn from_raw(raw: RawProgram) -> Result<Self, Error> {
        let limits = raw_limits(&raw);
        let source = match (raw.bin, raw.elf) {
            (Some(bin), None) => check_bin_name(&bin).map(|()| Source::Bin(bin)),
            (None, Some(elf)) => Ok(Source::Elf(elf)),
            (None, None) => Err(Problem::NoSource),
            (Some(_), Some(_)) => Err(Problem::TwoSources),
        };
        let label = program_label(&raw.path);
        let source = source.map_err(|problem| Error::entry(&label, problem))?;
        let limits = limits.map_err(|problem| Error::entry(&label, problem))?;
        let abilities = raw.abilities.unwrap_or_else(|| {
            Abilities::NAMED
                .iter()
                .filter(|(_, a)| Abilities::DEFAULT.contains(*a))
                .map(|(n, _)| n.to_string())
                .collect()
        });
        for (i, name) in abilities.iter().enumerate() {
            if Abilities::from_name(name).is_none() {
                return Err(Error::entry(&label, Problem::UnknownAbility(name.clone())));
            }
            if abilities[..i].contains(name) {
                return Err(Error::entry(&label, Problem::RepeatedAbility(name.clone())));
            }
        }
        for (i, prefix) in raw.attach.iter().enumerate() {
            if !is_normal_path(prefix) {
                return Err(Error::entry(&label, Problem::BadPrefix(prefix.clone())));
            }
            if raw.attach[..i].contains(prefix) {
                return Err(Error::entry(
                    &label,
                    Problem::RepeatedPrefix(prefix.clone()),
                ));
            }
        }
        let mut devices: Vec<(String, u32)> = Vec::new();
        for text in &raw.devices {
            let device = parse_device(text)
                .ok_or_else(|| Error::entry(&label, Problem::BadDevice(text.clone())))?;
            if devices.contains(&device) {
                return Err(Error::entry(&label, Problem::RepeatedDevice(text.clone())));
            }
            devices.push(device);
        }
        Ok(Self {
            path: raw.path,
            source,
            truncate: raw.truncate,
            abilities,
            limits,
            attach: raw.attach,
            devices,
        })
    }

    /// Names this entry in messages.
    pub fn label(&self) -> String {
        program_label(&self.path)
    }
}

/// The limits `raw` sets, checked against `Limits::MAX` (and the budget
/// against `MIN_BUDGET`).
fn raw_limits(raw: &RawProgram) -> Result<Vec<(&'static str, u64)>, Problem> {
    let budget = match &raw.budget {
        None => None,
        Some(size) => match size.bytes() {
            Some(b) if b >= MIN_BUDGET => Some(b),
            _ => return Err(Problem::BadBudget),
        },
    };
    let set = [
        budget,
        raw.threads,
        raw.channels,
        raw.connections,
        raw.children,
    ];
    let mut limits = Vec::new();
    for (i, value) in set.into_iter().enumerate() {
        let (Some(value), key) = (value, Limits::KEYS[i]) else {
            continue;
        };
        let max = Limits::MAX.get(i).unwrap_or(0);
        if value > max {
            return Err(Problem::LimitTooLarge { key, value, max });
        }
        limits.push((key, value));
    }
    Ok(limits)
}

/// Whether `p` is `/` or an absolute path of real names with no trailing
/// `/`, as the path manager keeps prefixes, and no byte the grants file
/// uses as a separator.
/// A manifest device, `COMPATIBLE` or `COMPATIBLE#INDEX`, with a
/// compatible string of printable ASCII without `#`.
fn parse_device(text: &str) -> Option<(String, u32)> {
    let (compatible, index) = match text.split_once('#') {
        Some((c, i)) if i.bytes().all(|b| b.is_ascii_digit()) => (c, i.parse().ok()?),
        Some(_) => return None,
        None => (text, 0),
    };
    let printable = compatible
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'#');
    (printable && !compatible.is_empty()).then(|| (compatible.to_owned(), index))
}

fn is_normal_path(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    let sep = char::from(qsoe_abi::grants::SEPARATOR);
    p.len() <= qsoe_abi::wire::PATH_MAX_BYTES
        && !p.contains(['\n', '\0', sep])
        && (rest.is_empty()
            || rest
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."))
}

impl File {
    /// Names this entry in messages.
    pub fn label(&self) -> String {
        format!("[[file]] {:?}", self.path)
    }
}

impl Init {
    /// Each list with its commands, in [`init_script::LISTS`] order: the
    /// boot modes', then the drivers'.
    pub fn lists(&self) -> [(&'static str, &[Command]); 4] {
        [
            (init_script::LISTS[0], &self.run),
            (init_script::LISTS[1], &self.test),
            (init_script::LISTS[2], &self.bench),
            (init_script::LISTS[3], &self.drivers),
        ]
    }
}

fn program_label(path: &str) -> String {
    format!("[[program]] {path:?}")
}

/// A `bin` names a file directly inside the bin directory, nothing else.
fn check_bin_name(name: &str) -> Result<(), Problem> {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']);
    if plain {
        Ok(())
    } else {
        Err(Problem::BadBinName(name.to_string()))
    }
}

/// Paths are absolute and normalised, so that equal files have equal paths.
fn check_path(path: &str) -> Result<(), Problem> {
    let relative = path.strip_prefix('/').ok_or(Problem::NotAbsolute)?;
    relative.split('/').try_for_each(check_component)
}

fn check_component(component: &str) -> Result<(), Problem> {
    match component {
        "" => Err(Problem::EmptyComponent),
        "." | ".." => Err(Problem::DotComponent(component.to_string())),
        _ if component.contains('\0') => Err(Problem::NulInPath),
        _ => Ok(()),
    }
}

/// The archive holds no directories, so a path must neither repeat another,
/// nor lie under another, nor have another under it.
fn check_free(taken: &BTreeMap<&str, String>, path: &str) -> Result<(), Problem> {
    if let Some(other) = taken.get(path) {
        return Err(Problem::DuplicatePath {
            other: other.clone(),
        });
    }
    let parents = path.match_indices('/').map(|(end, _)| &path[..end]);
    if let Some(other) = parents.filter_map(|parent| taken.get(parent)).next() {
        return Err(Problem::InsideFile {
            other: other.clone(),
        });
    }
    let dir = format!("{path}/");
    match taken.range(dir.as_str()..).next() {
        Some((child, other)) if child.starts_with(&dir) => Err(Problem::HoldsFile {
            other: other.clone(),
        }),
        _ => Ok(()),
    }
}

fn check_arg(arg: &str) -> Result<(), Problem> {
    match init_script::forbidden_byte(arg) {
        Some(byte) => Err(Problem::ForbiddenByte {
            arg: arg.to_string(),
            byte,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a problem is the one a case expects.
    type Expected = fn(&Problem) -> bool;

    const INIT: &str = "[[program]]\npath = \"/sbin/init\"\nbin = \"init\"\n";

    /// `INIT` plus `rest`, parsed; the error it must give.
    fn problem(rest: &str) -> (String, Problem) {
        match Manifest::parse(&format!("{INIT}{rest}")) {
            Err(Error::Entry { entry, problem }) => (entry, problem),
            other => panic!("expected an entry error, got {other:?}"),
        }
    }

    fn syntax_error(text: &str) -> String {
        match Manifest::parse(text) {
            Err(Error::Syntax(message)) => message,
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    /// `s` as a TOML basic string.
    fn quote(s: &str) -> String {
        format!("{s:?}").replace("\\0", "\\u0000")
    }

    fn program(path: &str) -> String {
        format!("[[program]]\npath = {}\nbin = \"true\"\n", quote(path))
    }

    #[test]
    fn abilities_are_known_names_listed_once_and_land_in_the_grants_file() {
        let m = Manifest::parse(&format!(
            "{INIT}[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nabilities = [\"census\"]\n"
        ))
        .unwrap();
        assert_eq!(m.grants(), b"/bin/t\x1fcensus\n/sbin/init\x1fspawn");
        let (entry, found) =
            problem("[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nabilities = [\"root\"]\n");
        assert_eq!(entry, "[[program]] \"/bin/t\"");
        assert!(matches!(found, Problem::UnknownAbility(n) if n == "root"));
        let (_, found) = problem(
            "[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nabilities = [\"census\", \"census\"]\n",
        );
        assert!(matches!(found, Problem::RepeatedAbility(_)));
        let (_, found) = problem("[[file]]\npath = \"/etc/grants\"\ntext = \"\"\n");
        assert!(matches!(found, Problem::DuplicatePath { .. }));
    }

    #[test]
    fn limits_are_within_the_maximum_and_land_in_the_grants_file() {
        let m = Manifest::parse(&format!(
            "{INIT}[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nabilities = []\n\
             budget = \"512K\"\nthreads = 3\nchildren = 0\n\
             [[program]]\npath = \"/bin/u\"\nbin = \"u\"\nbudget = 1048576\n"
        ))
        .unwrap();
        assert_eq!(
            m.grants(),
            b"/bin/t\x1fbudget=524288\x1fthreads=3\x1fchildren=0\n/bin/u\x1fspawn\x1fbudget=1048576\n/sbin/init\x1fspawn"
        );
        let grants = m.grants();
        let t = qsoe_abi::grants::Grant::granted(&grants, b"/bin/t");
        assert_eq!(t.abilities, Abilities::NONE);
        assert_eq!((t.limits.budget, t.limits.threads), (512 << 10, 3));
        assert_eq!(t.limits.channels, Limits::DEFAULT.channels);
        for bad in ["budget = \"12Q\"", "budget = 4096", "budget = \"M\""] {
            let (_, found) = problem(&format!(
                "[[program]]\npath = \"/bin/t\"\nbin = \"t\"\n{bad}\n"
            ));
            assert!(matches!(found, Problem::BadBudget), "{bad}");
        }
        let (_, found) = problem("[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nthreads = 17\n");
        assert!(matches!(
            found,
            Problem::LimitTooLarge {
                key: "threads",
                value: 17,
                max: 16
            }
        ));
        let message = syntax_error(&format!(
            "{INIT}[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nstack = 17\n"
        ));
        assert!(message.contains("stack"), "{message}");
    }

    #[test]
    fn attach_prefixes_are_normal_paths_listed_once_and_land_in_the_grants_file() {
        let m = Manifest::parse(
            "[[program]]\npath = \"/sbin/init\"\nbin = \"init\"\nattach = [\"/\"]\n\
             [[program]]\npath = \"/bin/d\"\nbin = \"d\"\nabilities = [\"census\"]\nattach = [\"/dev/d\", \"/test\"]\n",
        )
        .unwrap();
        assert_eq!(
            m.grants(),
            b"/bin/d\x1fcensus\x1f/dev/d\x1f/test\n/sbin/init\x1fspawn\x1f/"
        );
        for bad in ["dev", "/dev/", "//", "/a/../b", "/a/./b", ""] {
            let (_, found) = problem(&format!(
                "[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nattach = [{bad:?}]\n"
            ));
            assert!(matches!(found, Problem::BadPrefix(_)), "{bad:?}");
        }
        let (_, found) =
            problem("[[program]]\npath = \"/bin/t\"\nbin = \"t\"\nattach = [\"/x\", \"/x\"]\n");
        assert!(matches!(found, Problem::RepeatedPrefix(_)));
    }

    #[test]
    fn parses_a_good_manifest() {
        let manifest = Manifest::parse(
            r##"
            [[program]]
            path = "/sbin/init"
            bin = "init"

            [[program]]
            path = "/bin/other"
            elf = "../elsewhere/other.elf"

            [[program]]
            path = "/bin/truncated-elf"
            bin = "true"
            truncate = 512

            [[file]]
            path = "/bin/not-elf"
            text = "#!/bin/sh\n"

            [init]
            run = [["/bin/other", "an argument", ""], ["/sbin/init"]]
            test = []
            "##,
        )
        .unwrap();
        let sources: Vec<(&str, &Source, Option<u64>)> = manifest
            .programs
            .iter()
            .map(|p| (p.path.as_str(), &p.source, p.truncate))
            .collect();
        assert_eq!(
            sources,
            [
                ("/sbin/init", &Source::Bin("init".into()), None),
                (
                    "/bin/other",
                    &Source::Elf("../elsewhere/other.elf".into()),
                    None
                ),
                ("/bin/truncated-elf", &Source::Bin("true".into()), Some(512)),
            ]
        );
        assert_eq!(manifest.files[0].path, "/bin/not-elf");
        assert_eq!(manifest.files[0].text, "#!/bin/sh\n");
        assert_eq!(
            manifest.init.run,
            [vec!["/bin/other", "an argument", ""], vec!["/sbin/init"]]
        );
        assert!(manifest.init.test.is_empty());
        assert!(manifest.init.bench.is_empty(), "a missing mode is empty");
    }

    #[test]
    fn a_manifest_with_only_init_is_enough() {
        let manifest = Manifest::parse(INIT).unwrap();
        assert_eq!(manifest.programs.len(), 1);
        assert!(manifest.files.is_empty());
        assert!(manifest.init.lists().iter().all(|(_, c)| c.is_empty()));
    }

    #[test]
    fn rejects_unknown_keys_everywhere() {
        for text in [
            format!("{INIT}colour = \"blue\"\n"),
            format!("{INIT}[[program]]\npath = \"/bin/x\"\nbin = \"x\"\nmode = 1\n"),
            format!("{INIT}[[file]]\npath = \"/x\"\ntext = \"\"\nmode = 1\n"),
            format!("{INIT}[init]\nboot = []\n"),
            format!("{INIT}[[programs]]\npath = \"/bin/x\"\n"),
        ] {
            let message = syntax_error(&text);
            assert!(message.contains("unknown field"), "{message}");
        }
    }

    #[test]
    fn rejects_wrong_types_and_missing_keys() {
        syntax_error(&format!(
            "{INIT}[[program]]\npath = \"/bin/x\"\nbin = \"x\"\ntruncate = -1\n"
        ));
        syntax_error(&format!("{INIT}[[file]]\npath = \"/x\"\n"));
        syntax_error(&format!("{INIT}[init]\nrun = [\"/sbin/init\"]\n"));
        syntax_error("[[program]]\nbin = \"init\"\n");
        syntax_error("not toml at all");
    }

    #[test]
    fn a_program_needs_exactly_one_source() {
        let (entry, found) = problem("[[program]]\npath = \"/bin/x\"\n");
        assert_eq!(entry, "[[program]] \"/bin/x\"");
        assert!(matches!(found, Problem::NoSource));
        let (_, found) = problem("[[program]]\npath = \"/bin/x\"\nbin = \"x\"\nelf = \"x\"\n");
        assert!(matches!(found, Problem::TwoSources));
    }

    #[test]
    fn bin_is_a_plain_file_name() {
        for bin in ["", ".", "..", "sub/x", "/abs", "nul\0"] {
            let text = format!("[[program]]\npath = \"/bin/x\"\nbin = {}\n", quote(bin));
            let (_, found) = problem(&text);
            assert!(
                matches!(&found, Problem::BadBinName(name) if name == bin),
                "{found:?}"
            );
        }
    }

    #[test]
    fn paths_are_absolute_and_normal() {
        let cases: [(&str, Expected); 8] = [
            ("bin/x", |p| matches!(p, Problem::NotAbsolute)),
            ("", |p| matches!(p, Problem::NotAbsolute)),
            ("/", |p| matches!(p, Problem::EmptyComponent)),
            ("/bin//x", |p| matches!(p, Problem::EmptyComponent)),
            ("/bin/x/", |p| matches!(p, Problem::EmptyComponent)),
            (
                "/bin/../x",
                |p| matches!(p, Problem::DotComponent(d) if d == ".."),
            ),
            (
                "/./x",
                |p| matches!(p, Problem::DotComponent(d) if d == "."),
            ),
            ("/bin/x\0", |p| matches!(p, Problem::NulInPath)),
        ];
        for (path, expected) in cases {
            let (entry, found) = problem(&program(path));
            assert!(expected(&found), "{path:?}: {found:?}");
            assert_eq!(entry, format!("[[program]] {path:?}"));
            let file = format!("[[file]]\npath = {}\ntext = \"\"\n", quote(path));
            let (entry, found) = problem(&file);
            assert!(expected(&found), "{path:?}: {found:?}");
            assert_eq!(entry, format!("[[file]] {path:?}"));
        }
    }

    #[test]
    fn paths_are_unique() {
        let (entry, found) = problem(&format!("{}{}", program("/bin/x"), program("/bin/x")));
        assert_eq!(entry, "[[program]] \"/bin/x\"");
        assert!(
            matches!(&found, Problem::DuplicatePath { other } if other == "[[program]] \"/bin/x\"")
        );
        let (entry, found) = problem(&format!(
            "{}[[file]]\npath = \"/bin/x\"\ntext = \"\"\n",
            program("/bin/x")
        ));
        assert_eq!(entry, "[[file]] \"/bin/x\"");
        assert!(matches!(found, Problem::DuplicatePath { .. }));
    }

    #[test]
    fn init_command_files_are_reserved() {
        let (entry, found) = problem("[[file]]\npath = \"/etc/init/test\"\ntext = \"\"\n");
        assert_eq!(entry, "[[file]] \"/etc/init/test\"");
        assert!(matches!(&found, Problem::DuplicatePath { other } if other == "[init] test"));
    }

    #[test]
    fn no_path_lies_under_another() {
        let (_, found) = problem(&program("/sbin/init/x"));
        assert!(
            matches!(&found, Problem::InsideFile { other } if other == "[[program]] \"/sbin/init\"")
        );
        let (_, found) = problem(&program("/etc"));
        assert!(matches!(&found, Problem::HoldsFile { other } if other == "the abilities file"));
        let (_, found) = problem(&format!("{}{}", program("/bin/a/b"), program("/bin/a")));
        assert!(
            matches!(&found, Problem::HoldsFile { other } if other == "[[program]] \"/bin/a/b\"")
        );
        Manifest::parse(&format!(
            "{INIT}{}{}",
            program("/bin/a"),
            program("/bin/ab")
        ))
        .unwrap();
    }

    #[test]
    fn sbin_init_is_required() {
        for text in ["", "[[file]]\npath = \"/sbin/init\"\ntext = \"\"\n"] {
            match Manifest::parse(text) {
                Err(Error::Entry { entry, problem }) => {
                    assert_eq!(entry, "[[program]] \"/sbin/init\"");
                    assert!(matches!(problem, Problem::Missing));
                }
                other => panic!("expected a missing init, got {other:?}"),
            }
        }
    }

    #[test]
    fn init_commands_start_with_a_program_path() {
        let (entry, found) = problem("[init]\nrun = [[\"/sbin/init\"], []]\n");
        assert_eq!(entry, "[init] run[1]");
        assert!(matches!(found, Problem::EmptyCommand));
        let (entry, found) = problem("[init]\nbench = [[\"/bin/nope\"]]\n");
        assert_eq!(entry, "[init] bench[0]");
        assert!(matches!(&found, Problem::UnknownProgram(path) if path == "/bin/nope"));
        let file = "[[file]]\npath = \"/bin/text\"\ntext = \"\"\n";
        let (_, found) = problem(&format!("{file}[init]\ntest = [[\"/bin/text\"]]\n"));
        assert!(
            matches!(found, Problem::UnknownProgram(_)),
            "a [[file]] is not a program"
        );
    }

    #[test]
    fn init_arguments_fit_the_encoding() {
        for (arg, byte) in [("a\\u0000b", 0), ("a\\nb", b'\n'), ("a\\u001fb", 0x1f)] {
            let text = format!("[init]\ntest = [[\"/sbin/init\", \"{arg}\"]]\n");
            let (entry, found) = problem(&text);
            assert_eq!(entry, "[init] test[0]");
            assert!(
                matches!(found, Problem::ForbiddenByte { byte: b, .. } if b == byte),
                "{arg}"
            );
        }
    }

    #[test]
    fn messages_name_the_entry() {
        let error =
            Manifest::parse(&format!("{INIT}[init]\nrun = [[\"/bin/nope\"]]\n")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "[init] run[0]: \"/bin/nope\" is not a [[program]] path"
        );
    }
}
