//! Moving a message's bytes between the caller's buffers and the message
//! registers.
//!
//! A message of at most four words travels in the registers alone and
//! never touches the IPC buffer: the kernel copies it register to
//! register, and copying it word by word (not through `memcpy`) is most
//! of what `MsgSend` costs beyond a raw `seL4_Call`. Longer messages fill
//! the IPC buffer behind the first four words.
//!
//! The byte shuffling is plain code, tested on the host; only what touches
//! the IPC buffer is for the target.
#![cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]

use sel4_sys::Word;
#[cfg(target_arch = "riscv64")]
use {
    crate::errno::{Errno, E2BIG},
    qsoe_abi::ipc::MAX_MSG_BYTES,
    sel4_sys::ipc_buffer,
};

/// Bytes the message registers carry.
pub(crate) const REGISTER_BYTES: usize = 32;

/// A message the kernel carries: its length in bytes and its first four
/// words, the rest (if any) in the IPC buffer's words 4 and on.
#[cfg(target_arch = "riscv64")]
pub(crate) struct Loaded {
    pub bytes: usize,
    pub mrs: [Word; 4],
}

#[cfg(target_arch = "riscv64")]
impl Loaded {
    pub fn words(&self) -> Word {
        self.bytes.div_ceil(8) as Word
    }
}

/// Gathers `parts` into a message; `E2BIG` past `MAX_MSG_BYTES`.
#[cfg(target_arch = "riscv64")]
#[inline]
pub(crate) fn load(parts: &[&[u8]]) -> Result<Loaded, Errno> {
    if let [one] = parts {
        if one.len() <= REGISTER_BYTES {
            return Ok(Loaded {
                bytes: one.len(),
                mrs: pack(one),
            });
        }
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total > MAX_MSG_BYTES {
        return Err(E2BIG);
    }
    // SAFETY: the runtime gave this thread its IPC buffer.
    let buffer = unsafe { &mut *ipc_buffer() };
    let words = total.div_ceil(8);
    // The last word's tail goes out too: clear it first.
    if words > 0 {
        buffer.msg[words - 1] = 0;
    }
    let bytes = as_bytes_mut(&mut buffer.msg[..words]);
    let mut at = 0;
    for p in parts {
        bytes[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    let mut mrs = [0; 4];
    mrs.copy_from_slice(&buffer.msg[..4]);
    Ok(Loaded { bytes: total, mrs })
}

/// Gathers the first `MAX_MSG_BYTES` of `parts` into a message: the part
/// of a lent message that travels in the IPC buffer.
#[cfg(target_arch = "riscv64")]
pub(crate) fn load_head(parts: &[&[u8]]) -> Loaded {
    // SAFETY: the runtime gave this thread its IPC buffer.
    let buffer = unsafe { &mut *ipc_buffer() };
    let bytes = as_bytes_mut(&mut buffer.msg[..MAX_MSG_BYTES / 8]);
    let mut at = 0;
    for p in parts {
        let n = p.len().min(MAX_MSG_BYTES - at);
        bytes[at..at + n].copy_from_slice(&p[..n]);
        at += n;
    }
    let mut mrs = [0; 4];
    mrs.copy_from_slice(&buffer.msg[..4]);
    Loaded { bytes: at, mrs }
}

/// Copies a message of `bytes` bytes (first words in `mrs`) into `parts`
/// in order, as far as they reach; answers the bytes copied.
#[cfg(target_arch = "riscv64")]
#[inline]
pub(crate) fn unload(mrs: &[Word; 4], bytes: usize, parts: &mut [&mut [u8]]) -> usize {
    if bytes <= REGISTER_BYTES {
        if let [one] = parts {
            let n = one.len().min(bytes);
            unpack(mrs, &mut one[..n]);
            return n;
        }
        let mut words = *mrs;
        return scatter(&as_bytes_mut(&mut words)[..bytes], parts);
    }
    // SAFETY: as in `load`.
    let buffer = unsafe { &mut *ipc_buffer() };
    buffer.msg[..4].copy_from_slice(mrs);
    let words = bytes.div_ceil(8);
    scatter(&as_bytes_mut(&mut buffer.msg[..words])[..bytes], parts)
}

/// Copies `src` into `parts` in order, as far as they reach; answers the
/// bytes copied.
pub(crate) fn scatter(mut src: &[u8], parts: &mut [&mut [u8]]) -> usize {
    let mut copied = 0;
    for p in parts.iter_mut() {
        let n = p.len().min(src.len());
        p[..n].copy_from_slice(&src[..n]);
        src = &src[n..];
        copied += n;
    }
    copied
}

/// The message's words 4 and on, as the IPC buffer holds them.
#[cfg(target_arch = "riscv64")]
pub(crate) fn spilled_words(bytes: usize) -> &'static [Word] {
    // SAFETY: as in `load`.
    let buffer = unsafe { &*ipc_buffer() };
    buffer.msg.get(4..bytes.div_ceil(8)).unwrap_or(&[])
}

/// At most 32 bytes as little-endian words, zero-padded. Byte by byte
/// unless the source is aligned: a call to `memcpy` costs more than the
/// message.
fn pack(src: &[u8]) -> [Word; 4] {
    let mut w = [0; 4];
    let full = src.len() / 8;
    let aligned = (src.as_ptr() as usize).is_multiple_of(8);
    for (i, word) in w.iter_mut().enumerate().take(full) {
        *word = if aligned {
            // SAFETY: in bounds (i < full), and 8-aligned.
            unsafe { src.as_ptr().cast::<Word>().add(i).read() }
        } else {
            let b = &src[i * 8..i * 8 + 8];
            (0..8).fold(0, |v, j| v | (b[j] as Word) << (8 * j))
        };
    }
    if full < 4 {
        for (j, &b) in src[full * 8..].iter().enumerate() {
            w[full] |= (b as Word) << (8 * j);
        }
    }
    w
}

/// The first `dst.len()` (at most 32) bytes of little-endian words.
fn unpack(w: &[Word; 4], dst: &mut [u8]) {
    let full = dst.len() / 8;
    let aligned = (dst.as_ptr() as usize).is_multiple_of(8);
    for (i, &word) in w.iter().enumerate().take(full) {
        if aligned {
            // SAFETY: in bounds (i < full), and 8-aligned.
            unsafe { dst.as_mut_ptr().cast::<Word>().add(i).write(word) };
        } else {
            for (j, b) in dst[i * 8..i * 8 + 8].iter_mut().enumerate() {
                *b = (word >> (8 * j)) as u8;
            }
        }
    }
    if full < 4 {
        let word = w[full];
        for (j, b) in dst[full * 8..].iter_mut().enumerate() {
            *b = (word >> (8 * j)) as u8;
        }
    }
}

pub(crate) fn words_as_bytes(words: &[Word]) -> &[u8] {
    // SAFETY: words are plain bytes; the length covers exactly them.
    unsafe { core::slice::from_raw_parts(words.as_ptr().cast(), words.len() * 8) }
}

pub(crate) fn as_bytes_mut(words: &mut [Word]) -> &mut [u8] {
    // SAFETY: words are plain bytes; the length covers exactly them.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), words.len() * 8) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_unpack_agree_at_every_length_and_alignment() {
        let source: [u8; 40] = core::array::from_fn(|i| i as u8 + 1);
        for offset in 0..8 {
            for len in 0..=REGISTER_BYTES {
                let src = &source[offset..offset + len];
                let w = pack(src);
                let mut expect = [0u8; 32];
                expect[..len].copy_from_slice(src);
                let mut got = [0u8; 32];
                got.copy_from_slice(&as_bytes_mut(&mut w.clone())[..]);
                assert_eq!(got, expect, "pack offset {offset} len {len}");
                let mut out = [0u8; 41];
                unpack(&w, &mut out[offset..offset + len]);
                assert_eq!(&out[offset..offset + len], src);
                assert!(out[..offset].iter().all(|&b| b == 0));
                assert!(out[offset + len..].iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn scatter_fills_parts_in_order() {
        let (mut a, mut b) = ([0u8; 3], [0u8; 4]);
        assert_eq!(scatter(b"abcdef", &mut [&mut a, &mut b]), 6);
        assert_eq!((&a, &b[..3]), (b"abc", &b"def"[..]));
    }
}
