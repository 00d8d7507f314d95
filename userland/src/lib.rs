//! Helpers shared by the userland programs.
#![no_std]

/// Parses a decimal number (with an optional leading `-`).
pub fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((d - b'0') as i64)?;
    }
    Some(if neg { -n } else { n })
}

/// FNV-1a over a list of strings, each followed by a NUL: what
/// `argv-check` verifies its arguments and environment against.
pub fn fnv1a<'a>(strings: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in strings {
        for &b in s.iter().chain(&[0]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal() {
        assert_eq!(parse_int(b"42"), Some(42));
        assert_eq!(parse_int(b"-7"), Some(-7));
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"4x"), None);
        assert_eq!(parse_int(b"99999999999999999999"), None);
    }

    #[test]
    fn hash_separates_strings() {
        let a: [&[u8]; 2] = [b"ab", b"c"];
        let b: [&[u8]; 2] = [b"a", b"bc"];
        assert_ne!(fnv1a(a), fnv1a(b));
        assert_eq!(fnv1a(a), fnv1a(a));
    }
}

/// The cycle counter, readable from user mode.
#[cfg(target_arch = "riscv64")]
pub fn cycles() -> u64 {
    let c: u64;
    // SAFETY: reading the cycle counter has no side effects.
    unsafe { core::arch::asm!("rdcycle {}", out(reg) c, options(nomem, nostack)) };
    c
}
