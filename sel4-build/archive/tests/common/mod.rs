//! Fixtures shared by the integration tests: tiny executables and scratch
//! directories, so the tests need neither a cross toolchain nor built
//! userland programs.

#[allow(dead_code)]
pub mod device_tree;

use std::fs;
use std::path::{Path, PathBuf};

use object::elf::{EM_RISCV, ET_EXEC, PF_R, PF_X, PT_LOAD};

/// A minimal ELF64 little-endian file: the header and one `PT_LOAD`
/// covering the whole file, followed by 1 KiB of code-shaped filler.
pub fn elf(machine: u16, kind: u16) -> Vec<u8> {
    const SIZE: u64 = 64 + 56 + 1024;
    const BASE: u64 = 0x1_0000;
    let mut bytes = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for half in [kind, machine] {
        bytes.extend(half.to_le_bytes());
    }
    bytes.extend(1u32.to_le_bytes()); // e_version
    for word in [BASE + 120, 64, 0] {
        bytes.extend(word.to_le_bytes()); // e_entry, e_phoff, e_shoff
    }
    bytes.extend(0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 1, 64, 0, 0] {
        bytes.extend(half.to_le_bytes()); // sizes and counts: one phdr, no sections
    }
    bytes.extend(PT_LOAD.to_le_bytes());
    bytes.extend((PF_R | PF_X).to_le_bytes());
    for word in [0, BASE, BASE, SIZE, SIZE, 0x1000] {
        bytes.extend(word.to_le_bytes()); // offset, vaddr, paddr, filesz, memsz, align
    }
    bytes.resize(SIZE as usize, 0x13); // the low byte of a RISC-V `nop`
    bytes
}

/// A RISC-V executable whose bytes also spell `name`, so tests can tell
/// packed programs apart.
pub fn riscv_program(name: &str) -> Vec<u8> {
    let mut bytes = elf(EM_RISCV, ET_EXEC);
    bytes.extend(name.as_bytes());
    bytes
}

/// Writes `riscv_program(name)` as `dir/name` for each of `names`.
pub fn write_programs(dir: &Path, names: &[&str]) {
    fs::create_dir_all(dir).unwrap();
    for name in names {
        fs::write(dir.join(name), riscv_program(name)).unwrap();
    }
}

/// An empty directory of its own for the test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}
