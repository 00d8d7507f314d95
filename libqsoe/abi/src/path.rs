//! Paths as the path manager and every client agree on them.

use crate::errno::{Errno, EINVAL, ENAMETOOLONG};
use crate::wire::PATH_MAX_BYTES;

/// Checks that `path` is absolute and made of real names (no empty, `.`
/// or `..` component; one trailing `/` is dropped); answers it without
/// the trailing `/`.
pub fn normalise(path: &[u8]) -> Result<&[u8], Errno> {
    if path.len() > PATH_MAX_BYTES {
        return Err(ENAMETOOLONG);
    }
    if path.first() != Some(&b'/') || path.contains(&0) {
        return Err(EINVAL);
    }
    if path == b"/" {
        return Ok(path);
    }
    let path = path.strip_suffix(b"/").unwrap_or(path);
    let bad = path[1..]
        .split(|&b| b == b'/')
        .any(|c| c.is_empty() || c == b"." || c == b"..");
    if bad {
        return Err(EINVAL);
    }
    Ok(path)
}

/// Whether `path` is `prefix` or lies under it (both normalised).
pub fn covers(prefix: &[u8], path: &[u8]) -> bool {
    prefix == b"/"
        || path == prefix
        || (path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'/'))
}

/// What is left of `path` under the `prefix_len` bytes of prefix that
/// cover it, without its leading `/`.
pub fn remainder(path: &[u8], prefix_len: usize) -> &[u8] {
    let rest = path.get(prefix_len..).unwrap_or(&[]);
    rest.strip_prefix(b"/").unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(normalise(b"/"), Ok(&b"/"[..]));
        assert_eq!(normalise(b"/dev/null/"), Ok(&b"/dev/null"[..]));
        for bad in [
            &b""[..],
            b"dev",
            b"//",
            b"/a//b",
            b"/a/./b",
            b"/a/..",
            b"/a\0",
        ] {
            assert_eq!(normalise(bad), Err(EINVAL), "{bad:?}");
        }
        assert_eq!(normalise(&[b'/'; PATH_MAX_BYTES + 1]), Err(ENAMETOOLONG));
    }
}
