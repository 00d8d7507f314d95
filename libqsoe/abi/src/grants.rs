//! What a process may do beyond the ordinary, as the manifest grants it.
//!
//! A `[[program]]` entry may list `abilities`; the archive tool checks the
//! names on the host and writes `/etc/grants`, one line per program that
//! has any: its path, then each ability's name, separated by the byte 0x1F.
//! Taskman gives a new process the abilities of its program that its
//! parent also holds, so a child never holds more than its parent.
//!
//! The same lines carry the path prefixes a program may attach in the
//! pathname space (`attach` in the manifest): fields that start with `/`.
//! Every process may attach under `NAME_PREFIX`, where `name_attach`
//! puts its names.

/// The archive file listing each program's abilities.
pub const GRANTS_PATH: &str = "/etc/grants";
/// The byte between the fields of a line of `GRANTS_PATH`.
pub const SEPARATOR: u8 = 0x1f;

/// Where every process may attach: `name_attach`'s names.
pub const NAME_PREFIX: &str = "/dev/name/local";

/// The path prefixes `file` grants the program at `path`.
pub fn prefixes<'f>(file: &'f [u8], path: &'f [u8]) -> impl Iterator<Item = &'f [u8]> + 'f {
    file.split(|&b| b == b'\n')
        .filter_map(move |line| {
            let mut fields = line.split(|&b| b == SEPARATOR);
            (fields.next() == Some(path)).then_some(fields)
        })
        .flatten()
        .filter(|f| f.first() == Some(&b'/'))
}

/// A set of abilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Abilities(u32);

impl Abilities {
    pub const NONE: Self = Self(0);
    /// `CENSUS`: a census of the whole system, whose cost grows with it.
    pub const CENSUS: Self = Self(1);
    /// Everything: what taskman itself holds, as the parent of init.
    pub const ALL: Self = Self(Self::CENSUS.0);

    /// Every ability with its name in the manifest.
    pub const NAMED: [(&'static str, Self); 1] = [("census", Self::CENSUS)];

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
        file.split(|&b| b == b'\n')
            .filter_map(|line| {
                let mut fields = line.split(|&b| b == SEPARATOR);
                (fields.next() == Some(path)).then_some(fields)
            })
            .flatten()
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
