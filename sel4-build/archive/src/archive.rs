//! Writing entries as a newc CPIO archive, byte for byte reproducibly.
//!
//! The archive is embedded in taskman's image, so identical inputs must give
//! identical bytes: entries are sorted by name and carry no timestamps,
//! owners or host inode numbers.
//!
//! Every program's bytes start at a page boundary of the archive, so that
//! taskman can map its read-only pages in place. The padding goes after
//! the name, as NULs inside the header's name size (as `dracut-cpio` aligns
//! file data); readers that take the name up to its first NUL see the
//! plain name.

use std::io::Write;

use cpio::NewcBuilder;

use crate::error::Error;

/// Mode of a packed program: a regular file, executable.
pub const PROGRAM_MODE: u32 = 0o100755;

/// Mode of a packed plain file: a regular file, read-only data.
pub const FILE_MODE: u32 = 0o100644;

/// Where a program's bytes start: a multiple of the page size.
pub const PROGRAM_ALIGN: usize = 4096;

/// Bytes of a newc header before the name.
const NEWC_HEADER: usize = 110;

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path inside the archive, without a leading `/`.
    pub name: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

/// A finished archive.
#[derive(Debug)]
pub struct Archive {
    pub bytes: Vec<u8>,
    /// How many files it holds, not counting the trailer.
    pub entries: usize,
}

impl Entry {
    /// An entry for the manifest path `path` (which starts with `/`).
    pub fn new(path: &str, mode: u32, data: Vec<u8>) -> Self {
        Self {
            name: path.trim_start_matches('/').to_string(),
            mode,
            data,
        }
    }
}

/// Writes `entries` sorted by name, numbering inodes from 1.
pub fn write(mut entries: Vec<Entry>) -> Result<Archive, Error> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut bytes = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        bytes = write_entry(bytes, index + 1, entry)?;
    }
    let bytes = cpio::newc::trailer(bytes).map_err(|e| Error::Archive(e.to_string()))?;
    Ok(Archive {
        bytes,
        entries: entries.len(),
    })
}

fn write_entry(out: Vec<u8>, inode: usize, entry: &Entry) -> Result<Vec<u8>, Error> {
    let too_big = |what: &str| {
        Error::Archive(format!(
            "{}: {what} does not fit newc's 32-bit field",
            entry.name
        ))
    };
    let size = u32::try_from(entry.data.len()).map_err(|_| too_big("size"))?;
    let inode = u32::try_from(inode).map_err(|_| too_big("inode number"))?;
    let mut name = entry.name.clone();
    if entry.mode == PROGRAM_MODE {
        // Header, name and its NUL end where the data starts.
        let end = out.len() + NEWC_HEADER + name.len() + 1;
        let pad = end.next_multiple_of(PROGRAM_ALIGN) - end;
        name.extend(std::iter::repeat_n('\0', pad));
    }
    let mut writer = NewcBuilder::new(&name)
        .ino(inode)
        .mode(entry.mode)
        .uid(0)
        .gid(0)
        .nlink(1)
        .mtime(0)
        .write(out, size);
    writer
        .write_all(&entry.data)
        .and_then(|()| writer.finish())
        .map_err(|e| Error::Archive(format!("{}: {e}", entry.name)))
}
