//! Helpers shared by the userland programs.
#![no_std]

pub mod line_discipline;

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

/// `n` in decimal, written at the end of `buf`: answers those bytes (for
/// passing numbers in argv).
pub fn decimal(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
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

/// Why `start_ipc_server` failed.
#[cfg(target_arch = "riscv64")]
#[derive(Debug)]
pub enum ServerStartError {
    /// A call failed: which, and how.
    Call(&'static str, libqsoe::errno::Errno),
    /// What arrived was not the server's announcement.
    Announcement(libqsoe::neutrino::MsgInfo),
}

#[cfg(target_arch = "riscv64")]
impl core::fmt::Display for ServerStartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServerStartError::Call(call, e) => write!(f, "{call}: {}", e.name()),
            ServerStartError::Announcement(info) => write!(f, "server announcement {info:?}"),
        }
    }
}

/// Starts `/bin/ipc-peer ROLE PID CHID ARG` on `core` as a server: it
/// makes a channel of its own and announces its chid on CHID, a channel
/// made here for that. Answers the server's pid and chid.
#[cfg(target_arch = "riscv64")]
pub fn start_ipc_server(
    role: &[u8],
    arg: &[u8],
    core: Option<u64>,
) -> Result<(libqsoe::Pid, i32), ServerStartError> {
    let mut chid = [0u8; 4];
    let server = start_server(b"/bin/ipc-peer", role, arg, core, &mut chid)?;
    Ok((server, i32::from_le_bytes(chid)))
}

/// Starts `PATH ROLE PID CHID ARG` on `core` (argv[0] is PATH's last
/// component) and receives, on CHID, a channel made here for that, the
/// server's announcement of exactly `announcement.len()` bytes. Answers
/// the server's pid.
#[cfg(target_arch = "riscv64")]
pub fn start_server(
    path: &[u8],
    role: &[u8],
    arg: &[u8],
    core: Option<u64>,
    announcement: &mut [u8],
) -> Result<libqsoe::Pid, ServerStartError> {
    use libqsoe::fmt::FmtBuf;
    use libqsoe::neutrino::{ChannelCreate, ChannelDestroy, MsgInfo, MsgReceive, MsgReply};
    use libqsoe::taskman::{self, SpawnOptions};
    use ServerStartError::Call;

    let chid = ChannelCreate(0).map_err(|e| Call("ChannelCreate", e))?;
    let me = FmtBuf::<16>::from_display(taskman::getpid());
    let chid_s = FmtBuf::<16>::from_display(chid);
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let argv = [name, role, me.as_bytes(), chid_s.as_bytes(), arg];
    let none: [&[u8]; 0] = [];
    let options = SpawnOptions {
        core,
        ..Default::default()
    };
    let path_s = core::str::from_utf8(path).map_err(|_| Call("spawn", libqsoe::errno::EINVAL))?;
    let server = taskman::spawn(path_s, argv, none, options).map_err(|e| Call("spawn", e))?;
    let mut info = MsgInfo::default();
    let rcvid =
        MsgReceive(chid, announcement, Some(&mut info)).map_err(|e| Call("MsgReceive", e))?;
    if info.pid != server || info.msglen != announcement.len() {
        return Err(ServerStartError::Announcement(info));
    }
    MsgReply(rcvid, 0, &[]).map_err(|e| Call("MsgReply", e))?;
    ChannelDestroy(chid).map_err(|e| Call("ChannelDestroy", e))?;
    Ok(server)
}

/// The cycle counter, readable from user mode.
#[cfg(target_arch = "riscv64")]
pub fn cycles() -> u64 {
    let c: u64;
    // SAFETY: reading the cycle counter has no side effects.
    unsafe { core::arch::asm!("rdcycle {}", out(reg) c, options(nomem, nostack)) };
    c
}

/// The cores taskman runs processes on, as it told init (`QSOE_CORES`);
/// 0 if it did not say.
#[cfg(target_arch = "riscv64")]
pub fn cores() -> u64 {
    libqsoe::args()
        .getenv("QSOE_CORES")
        .and_then(|c| parse_int(c.as_bytes()))
        .unwrap_or(0) as u64
}

/// What [`cycles`] counts in this boot, as taskman was told
/// (`QSOE_CLOCK`): guest instructions under QEMU's `-icount`, else time.
#[cfg(target_arch = "riscv64")]
pub fn counts_instructions() -> bool {
    libqsoe::args().getenv("QSOE_CLOCK") == Some("instructions")
}

/// `a / b` with two decimals, for `bench:` lines; `n/a` if `b` is 0.
pub struct Ratio(pub u64, pub u64);

impl core::fmt::Display for Ratio {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.checked_mul(100).and_then(|a| a.checked_div(self.1)) {
            Some(h) => write!(f, "{}.{:02}", h / 100, h % 100),
            None => f.write_str("n/a"),
        }
    }
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
