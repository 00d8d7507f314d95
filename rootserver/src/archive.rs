//! The boot archive: the userland programs the build packed into
//! taskman's image (see `manifests/` and `sel4-build/archive`).

/// The CPIO (newc) archive, as `qsoe-archive pack` wrote it.
static ARCHIVE: &[u8] = include_bytes!(env!("QSOE_ARCHIVE"));

/// The contents of the file at `path` (absolute, as in the manifest).
pub fn find(path: &str) -> Option<&'static [u8]> {
    let name = path.strip_prefix('/')?;
    cpio_reader::iter_files(ARCHIVE)
        .find(|e| e.name() == name)
        .map(|e| e.file())
}
