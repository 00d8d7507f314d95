//! Finding, reading and checking the files programs are packed from.
//!
//! This is the half of validation that needs the disk: a missing or foreign
//! binary is caught here, on the host, instead of as a spawn failure at boot.

use std::fs;
use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{ElfFile64, FileHeader};
use object::LittleEndian;

use crate::error::{Error, Problem};
use crate::manifest::{Program, Source};

/// The directories a manifest's program sources are relative to.
#[derive(Debug, Clone)]
pub struct Sources {
    manifest_dir: PathBuf,
    bin_dir: PathBuf,
}

impl Sources {
    /// `elf` sources resolve against `manifest`'s directory, `bin` ones in `bin_dir`.
    pub fn new(manifest: &Path, bin_dir: &Path) -> Self {
        Self {
            manifest_dir: manifest.parent().unwrap_or(Path::new("")).to_path_buf(),
            bin_dir: bin_dir.to_path_buf(),
        }
    }

    /// The file `source` names.
    pub fn resolve(&self, source: &Source) -> PathBuf {
        match source {
            Source::Bin(name) => self.bin_dir.join(name),
            Source::Elf(path) => self.manifest_dir.join(path),
        }
    }

    /// The bytes to pack for `program`, checked to be a RISC-V executable
    /// unless the program is a deliberately truncated fixture.
    pub fn read(&self, program: &Program) -> Result<Vec<u8>, Error> {
        let path = self.resolve(&program.source);
        let data = fs::read(&path).map_err(|source| Problem::Unreadable {
            path: path.clone(),
            source,
        });
        let data = data.and_then(|data| match program.truncate {
            Some(length) => truncated(data, length),
            None => check_executable(&path, &data).map(|()| data),
        });
        data.map_err(|problem| Error::entry(program.label(), problem))
    }
}

/// Keeps the first `length` bytes, which must be fewer than the file has.
fn truncated(mut data: Vec<u8>, length: u64) -> Result<Vec<u8>, Problem> {
    let size = data.len() as u64;
    match usize::try_from(length) {
        Ok(keep) if length < size => {
            data.truncate(keep);
            Ok(data)
        }
        _ => Err(Problem::TruncateTooLong {
            truncate: length,
            size,
        }),
    }
}

/// Taskman's loader takes ELF64 little-endian RISC-V static executables only.
fn check_executable(path: &Path, data: &[u8]) -> Result<(), Problem> {
    let file = ElfFile64::<LittleEndian>::parse(data).map_err(|e| Problem::NotElf {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let header = file.elf_header();
    let endian = file.endian();
    let wrong = |reason: String| Problem::WrongElf {
        path: path.to_path_buf(),
        reason,
    };
    let machine = header.e_machine(endian);
    if machine != elf::EM_RISCV {
        return Err(wrong(format!(
            "e_machine is {machine}, not EM_RISCV ({})",
            elf::EM_RISCV
        )));
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC {
        return Err(wrong(format!(
            "e_type is {kind}, not ET_EXEC ({})",
            elf::ET_EXEC
        )));
    }
    Ok(())
}
