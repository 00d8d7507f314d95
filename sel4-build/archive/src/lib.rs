//! Packs the programs a manifest names into the boot archive.
//!
//! Taskman, the rootserver, has no file system to load programs from: it
//! spawns them from a newc CPIO archive embedded in its own image. This host
//! tool builds that archive from a manifest, and checks on the host what
//! would otherwise fail only at boot: missing or foreign binaries, init
//! commands naming programs that are not packed, clashing paths.
//!
//! # Manifest
//!
//! ```toml
//! # `bin` names a program built from this workspace's userland (a file in the
//! # target directory passed with --bin-dir); `elf` names any ELF file, relative
//! # to this manifest's directory or absolute — for programs built elsewhere.
//! [[program]]
//! path = "/sbin/init"
//! bin = "init"
//!
//! # A program truncated to its first N bytes, and plain files: fixtures for
//! # the loader's error paths.
//! [[program]]
//! path = "/bin/truncated-elf"
//! bin = "true"
//! truncate = 512
//!
//! [[file]]
//! path = "/bin/not-elf"
//! text = "#!/bin/sh\necho this is not an ELF\n"
//!
//! # What init starts, per boot mode (qsoe.mode=run|test|bench): each entry is
//! # one command line, program path first.
//! [init]
//! run = [["/bin/hello", "hello from the manifest"]]
//! test = [["/bin/qsoe-test"]]
//! bench = [["/bin/qsoe-bench"]]
//! ```
//!
//! Rules, checked by [`Manifest::parse`] unless noted: no unknown keys; each
//! `[[program]]` has exactly one of `bin` (a plain file name) and `elf`;
//! paths are absolute, unique, without empty, `.` or `..` components, and
//! none lies under another; `/sbin/init` is a program; each `[init]` command
//! starts with a `[[program]]` path and its arguments hold no NUL, `\n` or
//! 0x1F; a missing mode starts nothing. When packing, [`Sources::read`] also
//! checks that each program's file exists and, unless `truncate` is set, is
//! an ELF64 little-endian RISC-V `ET_EXEC` file, and that `truncate` shortens
//! it.
//!
//! # Archive
//!
//! Each program and file is stored at its path without the leading `/`
//! (`sbin/init`), programs with mode `0o100755` and files with `0o100644`,
//! and each boot mode's commands in `etc/init/<mode>` as described in
//! [`init_script`]. See [`archive`] for why the output is reproducible.

pub mod archive;
pub mod cli;
pub mod devices;
mod error;
pub mod init_script;
pub mod manifest;
pub mod sources;

use std::fs;
use std::path::{Path, PathBuf};

pub use archive::{Archive, Entry};
pub use error::{Error, Problem};
pub use manifest::Manifest;
pub use sources::Sources;

/// Reads and parses the manifest at `path`.
pub fn read_manifest(path: &Path) -> Result<Manifest, Error> {
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Manifest::parse(&text)
}

/// Builds the archive for the manifest at `manifest_path`, its devices
/// checked against the device tree (a DTB file) at `device_tree`.
pub fn pack(
    manifest_path: &Path,
    bin_dir: &Path,
    device_tree: Option<&Path>,
) -> Result<Archive, Error> {
    let manifest = read_manifest(manifest_path)?;
    let tree = device_tree
        .map(|path| {
            fs::read(path)
                .map(|bytes| (path, bytes))
                .map_err(|source| Error::Read {
                    path: path.to_path_buf(),
                    source,
                })
        })
        .transpose()?;
    devices::check(&manifest, tree.as_ref().map(|(p, b)| (*p, b.as_slice())))?;
    let entries = entries(&manifest, &Sources::new(manifest_path, bin_dir))?;
    archive::write(entries)
}

/// Every file the archive is built from, the manifest first, each once.
pub fn deps(manifest_path: &Path, bin_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let manifest = read_manifest(manifest_path)?;
    let sources = Sources::new(manifest_path, bin_dir);
    let mut paths = vec![manifest_path.to_path_buf()];
    for program in &manifest.programs {
        let path = sources.resolve(&program.source);
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// The archive's files: programs, plain files and init's command files.
pub fn entries(manifest: &Manifest, sources: &Sources) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::new();
    for program in &manifest.programs {
        let data = sources.read(program)?;
        entries.push(Entry::new(&program.path, archive::PROGRAM_MODE, data));
    }
    for file in &manifest.files {
        let data = file.text.clone().into_bytes();
        entries.push(Entry::new(&file.path, archive::FILE_MODE, data));
    }
    entries.push(Entry::new(
        qsoe_abi::grants::GRANTS_PATH,
        archive::FILE_MODE,
        manifest.grants(),
    ));
    for (mode, commands) in manifest.init.lists() {
        let data = init_script::encode(commands);
        entries.push(Entry::new(
            &init_script::path(mode),
            archive::FILE_MODE,
            data,
        ));
    }
    Ok(entries)
}
