//! QNX's `struct sigevent`: how a process asks to be told of something
//! later (`MsgDeliverEvent` from a server; timers and interrupts use the
//! same delivery).
//!
//! The low byte of `sigev_notify` is the type (`SIGEV_TYPE_MASK`); within
//! it, `SIGEV_64BIT` says the event has the 64-bit layout, which QNX 7's
//! 64-bit headers set for every type but `SIGEV_NONE`. The bits above are
//! flags. The 64-bit layout is 32 bytes: notify at 0, the coid (or signal
//! number) at 8, the value at 16, the code at 24 and the priority at 26.
//! The 32-bit layout is 16 bytes: notify, coid, value (4 bytes), code,
//! priority.

use crate::errno::{Errno, EINVAL};

/// The types (`sigev_notify & SIGEV_TYPE_MASK`, without `SIGEV_64BIT`).
pub mod notify {
    pub const SIGEV_NONE: u32 = 0;
    pub const SIGEV_SIGNAL: u32 = 1;
    pub const SIGEV_SIGNAL_CODE: u32 = 2;
    pub const SIGEV_SIGNAL_THREAD: u32 = 3;
    pub const SIGEV_PULSE: u32 = 4;
    pub const SIGEV_UNBLOCK: u32 = 5;
    pub const SIGEV_INTR: u32 = 6;
    pub const SIGEV_THREAD: u32 = 7;
    pub const SIGEV_MEMORY: u32 = 8;
    /// Set in the type byte of an event with the 64-bit layout.
    pub const SIGEV_64BIT: u32 = 0x80;
    pub const SIGEV_TYPE_MASK: u32 = 0xff;
    /// The value is an `int`, not a pointer.
    pub const SIGEV_FLAG_SIVAL_INT: u32 = 0x800;
}

/// `SIGEV_PULSE_PRIO_INHERIT`: the pulse takes the receiver's priority.
pub const SIGEV_PULSE_PRIO_INHERIT: i16 = -1;

/// Bytes of a 64-bit `struct sigevent`.
pub const SIGEVENT_BYTES: usize = 32;

/// `N` bytes of `b` at `at`; `EINVAL` past its end.
fn field<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N], Errno> {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(EINVAL)
}

/// A `struct sigevent`, its fields as QNX names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigEvent {
    pub notify: u32,
    /// `sigev_coid` for a pulse, `sigev_signo` for a signal.
    pub coid: i32,
    /// `sigev_value`: an `int` or a pointer.
    pub value: u64,
    pub code: i16,
    pub priority: i16,
}

impl SigEvent {
    /// `SIGEV_PULSE_INIT(&e, coid, priority, code, value)`.
    pub const fn pulse(coid: i32, priority: i16, code: i8, value: u64) -> Self {
        SigEvent {
            notify: notify::SIGEV_64BIT | notify::SIGEV_PULSE,
            coid,
            value,
            code: code as i16,
            priority,
        }
    }

    /// `SIGEV_GET_TYPE`: the type without `SIGEV_64BIT`.
    pub fn kind(&self) -> u32 {
        self.notify & notify::SIGEV_TYPE_MASK & !notify::SIGEV_64BIT
    }

    /// The 64-bit layout.
    pub fn to_bytes(&self) -> [u8; SIGEVENT_BYTES] {
        let mut b = [0; SIGEVENT_BYTES];
        b[0..4].copy_from_slice(&self.notify.to_le_bytes());
        b[8..12].copy_from_slice(&self.coid.to_le_bytes());
        b[16..24].copy_from_slice(&self.value.to_le_bytes());
        b[24..26].copy_from_slice(&self.code.to_le_bytes());
        b[26..28].copy_from_slice(&self.priority.to_le_bytes());
        b
    }

    /// Reads an event in whichever layout its notify field names
    /// (`SIGEV_GET_SIZE`); `EINVAL` if `b` is shorter than that.
    pub fn from_bytes(b: &[u8]) -> Result<Self, Errno> {
        let notify = u32::from_le_bytes(field(b, 0)?);
        if notify & notify::SIGEV_64BIT != 0 {
            Self::from_64(b)
        } else {
            Ok(SigEvent {
                notify,
                coid: i32::from_le_bytes(field(b, 4)?),
                value: u32::from_le_bytes(field(b, 8)?) as u64,
                code: i16::from_le_bytes(field(b, 12)?),
                priority: i16::from_le_bytes(field(b, 14)?),
            })
        }
    }

    /// Reads the 64-bit layout, whatever the notify field says.
    fn from_64(b: &[u8]) -> Result<Self, Errno> {
        if b.len() < SIGEVENT_BYTES {
            return Err(EINVAL);
        }
        Ok(SigEvent {
            notify: u32::from_le_bytes(field(b, 0)?),
            coid: i32::from_le_bytes(field(b, 8)?),
            value: u64::from_le_bytes(field(b, 16)?),
            code: i16::from_le_bytes(field(b, 24)?),
            priority: i16::from_le_bytes(field(b, 26)?),
        })
    }

    /// Four words for taskman: the 64-bit layout.
    pub fn to_words(&self) -> [u64; 4] {
        let b = self.to_bytes();
        core::array::from_fn(|i| u64::from_le_bytes(field(&b, i * 8).unwrap_or([0; 8])))
    }

    pub fn from_words(w: [u64; 4]) -> Result<Self, Errno> {
        let mut b = [0; SIGEVENT_BYTES];
        for (i, w) in w.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        Self::from_64(&b)
    }

    /// The pulse code, if the event's code fits one (QNX's are `i8`).
    pub fn pulse_code(&self) -> Result<i8, Errno> {
        i8::try_from(self.code).map_err(|_| EINVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_init_matches_the_64_bit_layout() {
        let e = SigEvent::pulse(7, SIGEV_PULSE_PRIO_INHERIT, 3, 0x1_2345_6789);
        assert_eq!(e.notify, 0x84);
        assert_eq!(e.kind(), notify::SIGEV_PULSE);
        let b = e.to_bytes();
        assert_eq!(&b[0..4], &[0x84, 0, 0, 0]);
        assert_eq!(&b[8..12], &7i32.to_le_bytes());
        assert_eq!(&b[16..24], &0x1_2345_6789u64.to_le_bytes());
        assert_eq!(&b[24..26], &3i16.to_le_bytes());
        assert_eq!(&b[26..28], &(-1i16).to_le_bytes());
        assert_eq!(SigEvent::from_bytes(&b), Ok(e));
        assert_eq!(SigEvent::from_words(e.to_words()), Ok(e));
    }

    #[test]
    fn the_32_bit_layout_and_short_buffers() {
        let mut b = [0u8; 16];
        b[0] = 4;
        b[4..8].copy_from_slice(&9i32.to_le_bytes());
        b[8..12].copy_from_slice(&77u32.to_le_bytes());
        b[12..14].copy_from_slice(&(-5i16).to_le_bytes());
        let e = SigEvent::from_bytes(&b).unwrap();
        assert_eq!((e.kind(), e.coid, e.value, e.code), (4, 9, 77, -5));
        assert_eq!(SigEvent::from_bytes(&b[..15]), Err(EINVAL));
        let mut long = [0u8; 31];
        long[0] = 0x84;
        assert_eq!(SigEvent::from_bytes(&long), Err(EINVAL));
        assert_eq!(SigEvent::from_bytes(&[]), Err(EINVAL));
    }

    #[test]
    fn codes_beyond_a_pulse_code_are_refused() {
        let mut e = SigEvent::pulse(1, 0, -128, 0);
        assert_eq!(e.pulse_code(), Ok(-128));
        e.code = 200;
        assert_eq!(e.pulse_code(), Err(EINVAL));
    }
}
