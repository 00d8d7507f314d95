//! Terminal settings and the character-device devctl commands of
//! `devc-ser8250`. The flag values are QNX's (the System V ones); the
//! settings travel as the four flag words that open QNX's `struct
//! termios`, which is all this driver keeps.

use crate::iomsg::dcmd::{diof, diot};

/// `c_iflag`: a typed carriage return reads as a newline.
pub const ICRNL: u32 = 0x0100;
/// `c_oflag`: output is processed (`ONLCR` applies).
pub const OPOST: u32 = 0x0001;
/// `c_oflag`: a newline written goes out as carriage return, newline.
pub const ONLCR: u32 = 0x0004;
/// `c_lflag`: `^C` sends `SIGINT` to the foreground process.
pub const ISIG: u32 = 0x0001;
/// `c_lflag`: canonical input, a line at a time, with erase and kill.
pub const ICANON: u32 = 0x0002;
/// `c_lflag`: typed characters are echoed.
pub const ECHO: u32 = 0x0008;
/// `c_lflag`: erase echoes as backspace, space, backspace.
pub const ECHOE: u32 = 0x0010;
/// `c_lflag`: the kill character erases the line on the screen.
pub const ECHOK: u32 = 0x0020;

/// The control characters canonical mode knows (QNX's defaults).
pub mod cc {
    /// `VINTR`: `^C`.
    pub const INTR: u8 = 0x03;
    /// `VEOF`: `^D`.
    pub const EOF: u8 = 0x04;
    /// `VERASE`: backspace; DEL erases as well.
    pub const ERASE: u8 = 0x08;
    pub const DEL: u8 = 0x7f;
    /// `VKILL`: `^U`, erase the line.
    pub const KILL: u8 = 0x15;
}

/// A terminal's modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
}

impl Termios {
    pub const BYTES: usize = 16;

    /// A console's modes after boot: canonical, echoing, signalling.
    pub const fn cooked() -> Self {
        Termios {
            c_iflag: ICRNL,
            c_oflag: OPOST | ONLCR,
            c_cflag: 0,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK,
        }
    }

    /// `cfmakeraw`: bytes pass unchanged both ways, nothing is echoed.
    pub fn make_raw(&mut self) {
        self.c_iflag &= !ICRNL;
        self.c_oflag &= !OPOST;
        self.c_lflag &= !(ISIG | ICANON | ECHO | ECHOE | ECHOK);
    }

    pub fn to_bytes(self) -> [u8; Self::BYTES] {
        let mut b = [0; Self::BYTES];
        let words = [self.c_iflag, self.c_oflag, self.c_cflag, self.c_lflag];
        for (chunk, w) in b.chunks_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// `None` if `b` is shorter than `BYTES`.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let word = |i: usize| {
            Some(u32::from_le_bytes(
                b.get(i * 4..i * 4 + 4)?.try_into().ok()?,
            ))
        };
        Some(Termios {
            c_iflag: word(0)?,
            c_oflag: word(1)?,
            c_cflag: word(2)?,
            c_lflag: word(3)?,
        })
    }
}

/// QNX's class of character-device commands (`_DCMD_CHR`).
const DCMD_CHR: u32 = 0x03;

/// `tcgetattr`: the device's `Termios`.
pub const DCMD_CHR_TCGETATTR: u32 = diof(DCMD_CHR, 1, Termios::BYTES as u32);
/// `tcsetattr`: new modes for the device.
pub const DCMD_CHR_TCSETATTR: u32 = diot(DCMD_CHR, 2, Termios::BYTES as u32);
/// `tcsetpgrp`: the process (`pid_t`) that `^C` signals; 0 for none, when
/// it goes to the latest reader still waiting.
pub const DCMD_CHR_TCSETPGRP: u32 = diot(DCMD_CHR, 14, 4);
/// `tcgetpgrp`.
pub const DCMD_CHR_TCGETPGRP: u32 = diof(DCMD_CHR, 15, 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_raw_clears_processing() {
        let mut t = Termios::cooked();
        assert_eq!(Termios::from_bytes(&t.to_bytes()), Some(t));
        assert_eq!(Termios::from_bytes(&[0; 15]), None);
        t.make_raw();
        assert_eq!(t.c_lflag & (ICANON | ECHO | ISIG), 0);
        assert_eq!(t.c_oflag & OPOST, 0);
        assert_eq!(t.c_iflag & ICRNL, 0);
    }

    #[test]
    fn commands_carry_their_direction_and_size() {
        use crate::iomsg::dcmd::{size, FROM_DEVICE, TO_DEVICE};
        assert_eq!(size(DCMD_CHR_TCGETATTR), 16);
        assert_ne!(DCMD_CHR_TCGETATTR & FROM_DEVICE, 0);
        assert_ne!(DCMD_CHR_TCSETATTR & TO_DEVICE, 0);
        assert_eq!(size(DCMD_CHR_TCSETPGRP), 4);
    }
}
