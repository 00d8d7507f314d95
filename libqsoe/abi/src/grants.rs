//! What a process may do and hold, as the manifest grants it.
//!
//! A `[[program]]` entry may list `abilities` and set `Limits` (untyped
//! budget and quotas); the archive tool checks them on the host, fills in
//! the defaults for what an entry leaves out, and writes `/etc/grants`,
//! one line per program: its path, then its fields, separated by the byte
//! 0x1F. A field is an ability's name, a limit as `key=value` (decimal),
//! or a path prefix. Taskman gives a new process its program's grant
//! narrowed to what its parent holds and to what the spawn asks, so a
//! child never holds more than its parent.
//!
//! The same lines carry the path prefixes a program may attach in the
//! pathname space (`attach` in the manifest): fields that start with `/`.
//! Every process may attach under `NAME_PREFIX`, where `name_attach`
//! puts its names.
//!
//! Devices a program may drive are fields `device=COMPATIBLE#INDEX`: the
//! INDEX-th node of the device tree (in tree order) whose `compatible`
//! list names COMPATIBLE, its registers and its interrupts. The distinct
//! device fields of the whole file, in the order they first appear, are
//! the system's grantable devices (`device_names`); a grant holds them as
//! a bit set over that order (`Devices`).

/// The archive file listing each program's abilities.
pub const GRANTS_PATH: &str = "/etc/grants";
/// The byte between the fields of a line of `GRANTS_PATH`.
pub const SEPARATOR: u8 = 0x1f;

/// Where every process may attach: `name_attach`'s names.
pub const NAME_PREFIX: &str = "/dev/name/local";

/// The fields of `file`'s line for the program at `path` (none if it has
/// no line).
fn fields<'f>(file: &'f [u8], path: &'f [u8]) -> impl Iterator<Item = &'f [u8]> + 'f {
    file.split(|&b| b == b'\n')
        .filter_map(move |line| {
            let mut fields = line.split(|&b| b == SEPARATOR);
            (fields.next() == Some(path)).then_some(fields)
        })
        .flatten()
}

/// Whether `file` has a line for the program at `path`.
pub fn has_line(file: &[u8], path: &[u8]) -> bool {
    file.split(|&b| b == b'\n')
        .any(|line| line.split(|&b| b == SEPARATOR).next() == Some(path))
}

/// The key of a device field.
pub const DEVICE_KEY: &str = "device=";
/// The most distinct devices one grants file can name (`Devices` bits).
pub const MAX_DEVICES: usize = 32;

/// A device field's compatible string and index.
pub fn parse_device(field: &[u8]) -> Option<(&str, u32)> {
    let value = field.strip_prefix(DEVICE_KEY.as_bytes())?;
    let text = core::str::from_utf8(value).ok()?;
    let (compatible, index) = text.rsplit_once('#')?;
    if compatible.is_empty() {
        return None;
    }
    Some((compatible, index.parse().ok()?))
}

/// The grantable devices: each distinct device field of a grants file,
/// in the order they first appear, at most `MAX_DEVICES` (later ones
/// grant nothing).
pub struct DeviceNames<'f> {
    names: [&'f [u8]; MAX_DEVICES],
    len: usize,
}

impl<'f> DeviceNames<'f> {
    pub fn of(file: &'f [u8]) -> Self {
        let mut set = Self {
            names: [&[]; MAX_DEVICES],
            len: 0,
        };
        let all = file
            .split(|&b| b == b'\n')
            .flat_map(|line| line.split(|&b| b == SEPARATOR).skip(1));
        for f in all.filter(|f| parse_device(f).is_some()) {
            if set.position(f).is_none() && set.len < MAX_DEVICES {
                set.names[set.len] = f;
                set.len += 1;
            }
        }
        set
    }

    /// The device fields, in bit order.
    pub fn as_slice(&self) -> &[&'f [u8]] {
        &self.names[..self.len]
    }

    /// The bit of device field `field`.
    pub fn position(&self, field: &[u8]) -> Option<usize> {
        self.as_slice().iter().position(|&n| n == field)
    }
}

/// A set of grantable devices, by their place in `device_names`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Devices(u32);

impl Devices {
    pub const NONE: Self = Self(0);
    pub const ALL: Self = Self(u32::MAX);

    pub fn bits(self) -> u32 {
        self.0
    }

    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// Whether the set holds grantable device `index`.
    pub fn contains(self, index: usize) -> bool {
        index < MAX_DEVICES && self.0 & (1 << index) != 0
    }

    /// The devices `file` grants the program at `path`.
    pub fn granted(file: &[u8], path: &[u8]) -> Self {
        let names = DeviceNames::of(file);
        fields(file, path)
            .filter_map(|f| names.position(f))
            .fold(Self::NONE, |set, i| Self(set.0 | 1 << i))
    }
}

/// The path prefixes `file` grants the program at `path`.
pub fn prefixes<'f>(file: &'f [u8], path: &'f [u8]) -> impl Iterator<Item = &'f [u8]> + 'f {
    fields(file, path).filter(|f| f.first() == Some(&b'/'))
}

/// How much a process may hold at once. Each is a ceiling: taskman
/// answers `EAGAIN` (`ENOMEM` for the budget) past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of untyped memory: its block and each of its threads' blocks.
    pub budget: u64,
    /// Threads after its first.
    pub threads: u64,
    /// Channels it owns.
    pub channels: u64,
    /// Regular connections (file descriptors included; the side channel's
    /// have a range of their own).
    pub connections: u64,
    /// Children, alive or not yet reaped.
    pub children: u64,
}

impl Limits {
    /// The most any process may be granted: what its CSpace and taskman's
    /// tables have room for. Taskman, the parent of init, holds this.
    pub const MAX: Self = Self {
        budget: 1 << 36,
        threads: crate::layout::MAX_THREADS as u64,
        channels: crate::layout::MAX_CHANNELS as u64,
        connections: crate::ipc::MAX_REGULAR as u64,
        children: 256,
    };

    /// What a program that declares nothing gets: room for an ordinary
    /// program and a small thread pool, a handful of children.
    pub const DEFAULT: Self = Self {
        budget: 16 << 20,
        threads: crate::layout::MAX_THREADS as u64,
        channels: 16,
        connections: 128,
        children: 16,
    };

    /// The manifest's name of each limit, in `get` order.
    pub const KEYS: [&'static str; 5] =
        ["budget", "threads", "channels", "connections", "children"];

    /// The limit the manifest calls `KEYS[index]`.
    pub fn get(&self, index: usize) -> Option<u64> {
        Some(match index {
            0 => self.budget,
            1 => self.threads,
            2 => self.channels,
            3 => self.connections,
            4 => self.children,
            _ => return None,
        })
    }

    fn field(&mut self, index: usize) -> Option<&mut u64> {
        Some(match index {
            0 => &mut self.budget,
            1 => &mut self.threads,
            2 => &mut self.channels,
            3 => &mut self.connections,
            4 => &mut self.children,
            _ => return None,
        })
    }

    /// Sets the limit the manifest calls `key`; `false` if it is no limit
    /// or `value` is past `MAX`'s.
    pub fn set(&mut self, key: &str, value: u64) -> bool {
        let Some(index) = Self::KEYS.iter().position(|&k| k == key) else {
            return false;
        };
        let max = Self::MAX.get(index).unwrap_or(0);
        match self.field(index) {
            Some(f) if value <= max => {
                *f = value;
                true
            }
            _ => false,
        }
    }

    /// Each limit the smaller of the two.
    pub fn narrow(self, other: Self) -> Self {
        Self {
            budget: self.budget.min(other.budget),
            threads: self.threads.min(other.threads),
            channels: self.channels.min(other.channels),
            connections: self.connections.min(other.connections),
            children: self.children.min(other.children),
        }
    }

    /// The limits `file` grants the program at `path`: `DEFAULT`, with
    /// each `key=value` field its line has in place of the default. A
    /// field that does not parse or is past `MAX` grants nothing more
    /// than the default.
    pub fn granted(file: &[u8], path: &[u8]) -> Self {
        let mut limits = Self::DEFAULT;
        for f in fields(file, path) {
            let Ok(text) = core::str::from_utf8(f) else {
                continue;
            };
            let Some((key, value)) = text.split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse::<u64>() else {
                continue;
            };
            limits.set(key, value);
        }
        limits
    }
}

/// All a process is granted: what it may do and how much it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub abilities: Abilities,
    pub limits: Limits,
    pub devices: Devices,
}

impl Grant {
    /// Taskman's own, as the parent of init.
    pub const ALL: Self = Self {
        abilities: Abilities::ALL,
        limits: Limits::MAX,
        devices: Devices::ALL,
    };

    /// What `file` grants the program at `path`. A program without a line
    /// (the archive tool writes one for each) gets the defaults.
    pub fn granted(file: &[u8], path: &[u8]) -> Self {
        if !has_line(file, path) {
            return Self {
                abilities: Abilities::DEFAULT,
                limits: Limits::DEFAULT,
                devices: Devices::NONE,
            };
        }
        Self {
            abilities: Abilities::granted(file, path),
            limits: Limits::granted(file, path),
            devices: Devices::granted(file, path),
        }
    }

    /// This grant, held to what `other` allows.
    pub fn narrow(self, other: Self) -> Self {
        Self {
            abilities: self.abilities.intersection(other.abilities),
            limits: self.limits.narrow(other.limits),
            devices: Devices(self.devices.0 & other.devices.0),
        }
    }
}

/// A set of abilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Abilities(u32);

impl Abilities {
    pub const NONE: Self = Self(0);
    /// `CENSUS`: a census of the whole system, whose cost grows with it.
    pub const CENSUS: Self = Self(1);
    /// `SPAWN`: starting programs (as children, under the children quota).
    pub const SPAWN: Self = Self(2);
    /// `SIGNAL`: sending signals to any process, not only to itself and
    /// its children (the console driver's `^C`).
    pub const SIGNAL: Self = Self(4);
    /// Everything: what taskman itself holds, as the parent of init.
    pub const ALL: Self = Self(Self::CENSUS.0 | Self::SPAWN.0 | Self::SIGNAL.0);
    /// What a program that lists no abilities gets.
    pub const DEFAULT: Self = Self::SPAWN;

    /// Every ability with its name in the manifest.
    pub const NAMED: [(&'static str, Self); 3] = [
        ("census", Self::CENSUS),
        ("signal", Self::SIGNAL),
        ("spawn", Self::SPAWN),
    ];

    /// The bits, for the wire.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The abilities `bits` names (bits of no ability are dropped).
    pub fn from_bits(bits: u32) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// The ability the manifest calls `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
    }

    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The abilities `file` (the contents of `GRANTS_PATH`) grants the
    /// program at `path`; names it does not know grant nothing.
    pub fn granted(file: &[u8], path: &[u8]) -> Self {
        fields(file, path)
            .filter_map(|name| Self::from_name(core::str::from_utf8(name).ok()?))
            .fold(Self::NONE, Self::union)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_grant_their_programs_only() {
        let file = b"/bin/a\x1fcensus\n/bin/b\n/bin/c\x1fnonsense\x1fcensus";
        assert_eq!(Abilities::granted(file, b"/bin/a"), Abilities::CENSUS);
        assert_eq!(Abilities::granted(file, b"/bin/b"), Abilities::NONE);
        assert_eq!(Abilities::granted(file, b"/bin/c"), Abilities::CENSUS);
        assert_eq!(Abilities::granted(file, b"/bin/"), Abilities::NONE);
        assert_eq!(Abilities::granted(b"", b"/bin/a"), Abilities::NONE);
    }

    #[test]
    fn prefixes_are_the_fields_that_are_paths() {
        let file = b"/bin/a\x1fcensus\x1f/dev/null\x1f/test\n/bin/b\x1f/x";
        let a: std::vec::Vec<&[u8]> = prefixes(file, b"/bin/a").collect();
        assert_eq!(a, [&b"/dev/null"[..], b"/test"]);
        assert_eq!(Abilities::granted(file, b"/bin/a"), Abilities::CENSUS);
        assert_eq!(prefixes(file, b"/bin/c").count(), 0);
    }

    #[test]
    fn limits_come_from_key_value_fields_over_the_defaults() {
        let file =
            b"/bin/a\x1fthreads=3\x1fbudget=65536\x1f/test\n/bin/b\x1fthreads=99\x1fchannels=x";
        let a = Limits::granted(file, b"/bin/a");
        assert_eq!(a.threads, 3);
        assert_eq!(a.budget, 65536);
        assert_eq!(a.channels, Limits::DEFAULT.channels);
        // Past the maximum, or not a number: the default.
        let b = Limits::granted(file, b"/bin/b");
        assert_eq!(b, Limits::DEFAULT);
        assert_eq!(Limits::granted(file, b"/bin/c"), Limits::DEFAULT);
        let mut l = Limits::DEFAULT;
        assert!(!l.set("stack", 1));
        assert!(l.set("children", 0));
        assert_eq!(l.children, 0);
    }

    #[test]
    fn a_program_without_a_line_gets_the_default_abilities_one_with_a_line_only_its_own() {
        let file = b"/bin/a\x1fcensus\n/bin/b\x1fthreads=2";
        assert_eq!(Grant::granted(file, b"/bin/a").abilities, Abilities::CENSUS);
        assert_eq!(Grant::granted(file, b"/bin/b").abilities, Abilities::NONE);
        assert_eq!(
            Grant::granted(file, b"/bin/c").abilities,
            Abilities::DEFAULT
        );
        assert_eq!(Grant::granted(file, b"/bin/c").limits, Limits::DEFAULT);
    }

    #[test]
    fn narrowing_takes_the_smaller_of_each() {
        let parent = Grant {
            abilities: Abilities::SPAWN,
            limits: Limits {
                threads: 2,
                budget: 1 << 20,
                ..Limits::MAX
            },
            devices: Devices::from_bits(0b10),
        };
        let child = Grant::ALL.narrow(parent);
        assert_eq!(child, parent);
        let asked = Limits {
            children: 1,
            ..Limits::MAX
        };
        let narrowed = child.limits.narrow(asked);
        assert_eq!((narrowed.threads, narrowed.children), (2, 1));
        assert_eq!(Abilities::from_bits(u32::MAX), Abilities::ALL);
        for (i, key) in Limits::KEYS.iter().enumerate() {
            assert!(Limits::MAX.get(i) >= Limits::DEFAULT.get(i), "{key}");
        }
    }

    #[test]
    fn device_fields_name_grantable_devices_in_file_order() {
        let file = b"/bin/a\x1fdevice=ns16550a#0\x1fcensus\n\
                     /bin/b\x1fdevice=virtio,mmio#3\x1fdevice=ns16550a#0\n\
                     /bin/c\x1fdevice=#1\x1fdevice=x#y";
        assert_eq!(
            DeviceNames::of(file).as_slice(),
            [&b"device=ns16550a#0"[..], b"device=virtio,mmio#3"]
        );
        assert_eq!(Devices::granted(file, b"/bin/a").bits(), 0b01);
        assert_eq!(Devices::granted(file, b"/bin/b").bits(), 0b11);
        assert_eq!(Devices::granted(file, b"/bin/c"), Devices::NONE);
        assert_eq!(
            parse_device(b"device=virtio,mmio#3"),
            Some(("virtio,mmio", 3))
        );
        assert!(!Devices::ALL.contains(MAX_DEVICES));
        let g = Grant::granted(file, b"/bin/b").narrow(Grant::granted(file, b"/bin/a"));
        assert_eq!(g.devices.bits(), 0b01);
    }

    #[test]
    fn sets_combine() {
        assert!(Abilities::ALL.contains(Abilities::CENSUS));
        assert!(!Abilities::NONE.contains(Abilities::CENSUS));
        assert_eq!(
            Abilities::CENSUS.intersection(Abilities::NONE),
            Abilities::NONE
        );
        for (name, a) in Abilities::NAMED {
            assert_eq!(Abilities::from_name(name), Some(a));
            assert!(Abilities::ALL.contains(a));
        }
        assert_eq!(Abilities::from_name("root"), None);
    }
}
