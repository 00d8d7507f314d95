//! Taskman's request decoder and the IPC handle decoders, on any bytes.
//!
//! Input: the first 8 bytes are the message label, the rest the message
//! registers (little-endian words, as many as the input holds, so lengths
//! past `MAX_WORDS` are tried too). Nothing may panic, and whatever decodes
//! as a spawn must encode back to a message that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qsoe_abi::ipc::{decode_answer, Chid, Coid, ConnectionBadge, Pulse, Rcvid};
use qsoe_abi::wire::{self, Request, MAX_WORDS};

fuzz_target!(|data: &[u8]| {
    let Some((label, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let label = u64::from_le_bytes(*label);
    let words: Vec<u64> = rest
        .chunks(8)
        .map(|c| {
            let mut w = [0; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect();

    if let Ok(Request::Spawn(s)) = wire::decode(label, &words) {
        let mut again = [0u64; MAX_WORDS];
        let n = wire::encode_spawn(
            &mut again,
            s.core,
            s.block_bits,
            s.grant,
            s.path,
            s.argv.iter(),
            s.envp.iter(),
        )
        .expect("a decoded spawn fits in one message");
        assert_eq!(wire::decode(label, &again[..n]), Ok(Request::Spawn(s)));
    }

    // Handles and labels come back from processes as plain integers.
    let _ = decode_answer(label);
    let _ = ConnectionBadge::decode(label);
    let handle = label as i32;
    if let Some(c) = Coid::decode(handle) {
        assert_eq!(c.encode(), handle);
        let _ = c.slot();
    }
    if let Some(c) = Chid::decode(handle) {
        assert_eq!(c.encode(), handle);
    }
    if let Some(r) = Rcvid::decode(handle) {
        assert_eq!(r.encode(), handle);
    }
    if let [a, b, c, ..] = words[..] {
        let p = Pulse::from_words([a, b, c]);
        assert_eq!(Pulse::from_bytes(&p.to_bytes()), p);
    }
});
