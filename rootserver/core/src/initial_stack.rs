//! The SysV initial process stack: what a program finds at `sp` when it
//! starts.
//!
//! Taskman writes this image into the new process's stack frame before
//! mapping it, so a program's `_start` can read its arguments, environment
//! and auxiliary vector (where its program headers and TLS template are)
//! the way every riscv64 libc expects, with no IPC. Building it as bytes
//! here keeps the pointer arithmetic in host tests.

use alloc::{vec, vec::Vec};
use core::iter;

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_ENTRY: u64 = 9;

const WORD: usize = 8;

/// The top of a new stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    pub sp: u64,
    /// The contents of `[sp, stack_top)`.
    pub bytes: Vec<u8>,
    /// Where the argv array is.
    pub argv: u64,
    /// Where the envp array is.
    pub envp: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    TooBig,
    /// A C string cannot hold a NUL.
    NulInString,
}

/// Lays out, from `stack_top` down: the argument and environment strings
/// (NUL-terminated), padding, then from sp upward: argc, argv[0..argc],
/// NULL, envp[..], NULL, auxv pairs (the caller's `auxv`, then AT_NULL, 0).
///
/// Words are little endian, as on riscv64. sp is 16-byte aligned, as the
/// psABI requires at entry. `max_bytes` limits the whole image.
pub fn build(
    stack_top: u64,
    argv: &[&[u8]],
    envp: &[&[u8]],
    auxv: &[(u64, u64)],
    max_bytes: usize,
) -> Result<StackImage, StackError> {
    debug_assert_eq!(stack_top % 16, 0, "stack top must be 16-byte aligned");
    let strings = || argv.iter().chain(envp);
    if strings().any(|s| s.contains(&0)) {
        return Err(StackError::NulInString);
    }
    let too_big = StackError::TooBig;
    let strings_len = strings()
        .try_fold(0usize, |n, s| n.checked_add(s.len())?.checked_add(1))
        .ok_or(too_big)?;
    // argc, argv, NULL, envp, NULL, auxv, AT_NULL pair.
    let words = [argv.len(), envp.len(), auxv.len(), auxv.len(), 5]
        .into_iter()
        .try_fold(0usize, usize::checked_add)
        .ok_or(too_big)?;
    let len = words
        .checked_mul(WORD)
        .and_then(|v| v.checked_add(strings_len))
        .and_then(|n| n.checked_next_multiple_of(16))
        .filter(|&n| n <= max_bytes)
        .ok_or(too_big)?;
    let sp = stack_top.checked_sub(len as u64).ok_or(too_big)?;

    let mut bytes = vec![0; len];
    let mut addrs = Vec::with_capacity(argv.len() + envp.len());
    let mut at = len - strings_len;
    for s in strings() {
        bytes[at..at + s.len()].copy_from_slice(s);
        addrs.push(sp + at as u64);
        at += s.len() + 1;
    }
    let (arg_addrs, env_addrs) = addrs.split_at(argv.len());
    let vectors = iter::once(argv.len() as u64)
        .chain(arg_addrs.iter().copied())
        .chain(iter::once(0))
        .chain(env_addrs.iter().copied())
        .chain(iter::once(0))
        .chain(auxv.iter().flat_map(|&(key, value)| [key, value]))
        .chain([AT_NULL, 0]);
    for (slot, word) in bytes.chunks_exact_mut(WORD).zip(vectors) {
        slot.copy_from_slice(&word.to_le_bytes());
    }

    let argv_addr = sp + WORD as u64;
    Ok(StackImage {
        sp,
        bytes,
        argv: argv_addr,
        envp: argv_addr + (argv.len() as u64 + 1) * WORD as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u64 = 0x3f_ffff_f000;

    /// What a program's `_start` would read back, following the pointers.
    #[derive(Debug, PartialEq, Eq)]
    struct Decoded {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn decode(image: &StackImage) -> Decoded {
        let word = |addr: u64| {
            let at = (addr - image.sp) as usize;
            u64::from_le_bytes(image.bytes[at..at + 8].try_into().unwrap())
        };
        let cstr = |addr: u64| {
            let at = (addr - image.sp) as usize;
            let len = image.bytes[at..].iter().position(|&b| b == 0).unwrap();
            image.bytes[at..at + len].to_vec()
        };
        let argc = word(image.sp);
        assert_eq!(image.argv, image.sp + 8);
        let argv: Vec<Vec<u8>> = (0..argc).map(|i| cstr(word(image.argv + i * 8))).collect();
        assert_eq!(word(image.argv + argc * 8), 0);
        assert_eq!(image.envp, image.argv + (argc + 1) * 8);
        let mut envp = Vec::new();
        let mut at = image.envp;
        while word(at) != 0 {
            envp.push(cstr(word(at)));
            at += 8;
        }
        let mut auxv = Vec::new();
        at += 8;
        while word(at) != AT_NULL {
            auxv.push((word(at), word(at + 8)));
            at += 16;
        }
        assert_eq!(word(at + 8), 0);
        Decoded { argv, envp, auxv }
    }

    fn owned(strings: &[&[u8]]) -> Vec<Vec<u8>> {
        strings.iter().map(|s| s.to_vec()).collect()
    }

    #[test]
    fn arguments_environment_and_auxv_round_trip() {
        let argv: &[&[u8]] = &[b"/bin/sh", b"-c", b"echo hi"];
        let envp: &[&[u8]] = &[b"PATH=/bin", b"TERM=vt100"];
        let auxv = [
            (AT_PHDR, 0x10040),
            (AT_PHENT, 56),
            (AT_PHNUM, 2),
            (AT_PAGESZ, 4096),
            (AT_ENTRY, 0x10100),
        ];
        let image = build(TOP, argv, envp, &auxv, 4096).unwrap();
        assert_eq!(image.sp % 16, 0);
        assert_eq!(image.bytes.len() as u64, TOP - image.sp);
        assert_eq!(
            decode(&image),
            Decoded {
                argv: owned(argv),
                envp: owned(envp),
                auxv: auxv.to_vec(),
            }
        );
        assert_eq!(image.bytes.last(), Some(&0));
        assert!(image.bytes.ends_with(b"TERM=vt100\0"));
    }

    #[test]
    fn sp_is_aligned_whatever_the_sizes() {
        let long = [b'x'; 40];
        for argc in 0..5 {
            for len in 0..20 {
                let argv: Vec<&[u8]> = (0..argc).map(|_| &long[..len]).collect();
                let envp: Vec<&[u8]> = (0..len % 3).map(|_| &long[..argc]).collect();
                let image = build(TOP, &argv, &envp, &[(AT_PAGESZ, 4096)], 4096).unwrap();
                assert_eq!(image.sp % 16, 0);
                assert_eq!(decode(&image).argv.len(), argc);
            }
        }
    }

    #[test]
    fn empty_argv_still_has_its_terminators() {
        let image = build(TOP, &[], &[], &[], 4096).unwrap();
        assert_eq!(image.bytes.len(), 48);
        assert!(image.bytes.iter().all(|&b| b == 0));
        assert_eq!(
            decode(&image),
            Decoded {
                argv: vec![],
                envp: vec![],
                auxv: vec![],
            }
        );
    }

    #[test]
    fn empty_strings_are_just_a_nul() {
        let argv: &[&[u8]] = &[b"", b"a", b""];
        let envp: &[&[u8]] = &[b""];
        let image = build(TOP, argv, envp, &[], 4096).unwrap();
        let decoded = decode(&image);
        assert_eq!((decoded.argv, decoded.envp), (owned(argv), owned(envp)));
        assert!(image.bytes.ends_with(b"\0a\0\0\0"));
    }

    #[test]
    fn too_big_is_rejected() {
        let argv: &[&[u8]] = &[b"program"];
        let image = build(TOP, argv, &[], &[], 4096).unwrap();
        let len = image.bytes.len();
        assert!(build(TOP, argv, &[], &[], len).is_ok());
        assert_eq!(build(TOP, argv, &[], &[], len - 1), Err(StackError::TooBig));
        assert_eq!(build(16, argv, &[], &[], 4096), Err(StackError::TooBig));
        assert_eq!(build(TOP, &[], &[], &[], 0), Err(StackError::TooBig));
    }

    #[test]
    fn nul_in_a_string_is_rejected() {
        assert_eq!(
            build(TOP, &[b"a\0b"], &[], &[], 4096),
            Err(StackError::NulInString)
        );
        assert_eq!(
            build(TOP, &[b"a"], &[b"X=\0"], &[], 4096),
            Err(StackError::NulInString)
        );
    }
}
