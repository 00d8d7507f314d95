//! The boot archive as a read-only file system: its files, and the
//! directories their names imply (the archive holds no directory
//! entries of its own).
//!
//! Works on the archive's names sorted bytewise, without the leading `/`.
//! In that order the names under a directory are contiguous, and so are
//! the names under each of its entries, which is what `entries` relies
//! on.

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// The file at this index of the names.
    File(usize),
    Dir,
}

/// What `path` (no leading `/`; "" for the root) names among `names`.
pub fn lookup<N: AsRef<[u8]>>(names: &[N], path: &[u8]) -> Option<Node> {
    if path.is_empty() {
        return Some(Node::Dir);
    }
    match names.binary_search_by(|n| n.as_ref().cmp(path)) {
        Ok(i) => Some(Node::File(i)),
        Err(i) => {
            // The first name after `path` is the first that could start
            // with `path/`, unless one that starts with `path` and a byte
            // below `/` comes between.
            let prefixed = |n: &N| {
                let n = n.as_ref();
                n.starts_with(path) && n.get(path.len()) == Some(&b'/')
            };
            names[i..]
                .iter()
                .take_while(|n| n.as_ref().starts_with(path))
                .any(prefixed)
                .then_some(Node::Dir)
        }
    }
}

/// The entries of directory `dir` ("" for the root) in name order, each
/// with whether it is a directory.
pub fn entries<'n, N: AsRef<[u8]>>(
    names: &'n [N],
    dir: &[u8],
) -> impl Iterator<Item = (&'n [u8], bool)> + 'n {
    // The names under `dir` start with `dir/`.
    let mut prefix = dir.to_vec();
    if !dir.is_empty() {
        prefix.push(b'/');
    }
    let start = names.partition_point(|n| n.as_ref() < prefix.as_slice());
    let prefix_len = prefix.len();
    let mut last: Option<&'n [u8]> = None;
    names[start..]
        .iter()
        .map(|n| n.as_ref())
        .take_while(move |n| n.starts_with(&prefix))
        .filter_map(move |n| {
            let rest = &n[prefix_len..];
            let (name, is_dir) = match rest.iter().position(|&b| b == b'/') {
                Some(slash) => (&rest[..slash], true),
                None => (rest, false),
            };
            if last == Some(name) {
                return None;
            }
            last = Some(name);
            Some((name, is_dir))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const NAMES: [&str; 6] = [
        "bin/a",
        "bin/a.b",
        "bin/sub/x",
        "bin/sub/y",
        "etc/grants",
        "sbin/init",
    ];

    fn list(dir: &str) -> Vec<(&'static str, bool)> {
        entries(&NAMES, dir.as_bytes())
            .map(|(n, d)| (core::str::from_utf8(n).unwrap(), d))
            .collect()
    }

    #[test]
    fn paths_name_files_and_implied_directories() {
        assert_eq!(lookup(&NAMES, b""), Some(Node::Dir));
        assert_eq!(lookup(&NAMES, b"bin"), Some(Node::Dir));
        assert_eq!(lookup(&NAMES, b"bin/sub"), Some(Node::Dir));
        assert_eq!(lookup(&NAMES, b"bin/a"), Some(Node::File(0)));
        assert_eq!(lookup(&NAMES, b"sbin/init"), Some(Node::File(5)));
        assert_eq!(lookup(&NAMES, b"bi"), None);
        assert_eq!(lookup(&NAMES, b"bin/su"), None);
        assert_eq!(lookup(&NAMES, b"nothing"), None);
    }

    #[test]
    fn directories_list_each_entry_once() {
        assert_eq!(list(""), [("bin", true), ("etc", true), ("sbin", true)]);
        assert_eq!(list("bin"), [("a", false), ("a.b", false), ("sub", true)]);
        assert_eq!(list("bin/sub"), [("x", false), ("y", false)]);
        assert_eq!(list("bin/a"), []);
    }
}
