//! Checks a manifest's `devices` against the machine's device tree, so a
//! grant naming a device the board does not have fails on the host.
//!
//! Taskman finds a device the same way at boot (`rootserver/src/device.rs`):
//! the `index`-th node, in tree order, whose `compatible` list holds the
//! string, and it needs the node's registers.

use std::path::Path;

use crate::error::{Error, Problem};
use crate::manifest::Manifest;

/// Whether `tree` has the `index`-th device compatible with `compatible`,
/// with registers.
pub fn has_device(tree: &fdt::Fdt, compatible: &str, index: u32) -> bool {
    tree.all_nodes()
        .filter(|n| {
            n.compatible()
                .is_some_and(|c| c.all().any(|s| s == compatible))
        })
        .nth(index as usize)
        .is_some_and(|n| n.reg().is_some_and(|mut r| r.next().is_some()))
}

/// Checks every program's devices against the device tree in
/// `tree_bytes` (read from `tree_path`); with no tree, only a manifest
/// that names no device passes.
pub fn check(manifest: &Manifest, tree: Option<(&Path, &[u8])>) -> Result<(), Error> {
    let mut wanted = manifest
        .programs
        .iter()
        .flat_map(|p| p.devices.iter().map(move |d| (p, d)))
        .peekable();
    let Some(&(first, _)) = wanted.peek() else {
        return Ok(());
    };
    let Some((path, bytes)) = tree else {
        return Err(Error::entry(first.label(), Problem::NoDeviceTree));
    };
    let tree = fdt::Fdt::new(bytes).map_err(|e| {
        Error::entry(
            first.label(),
            Problem::BadDeviceTree {
                path: path.to_path_buf(),
                reason: format!("{e:?}"),
            },
        )
    })?;
    for (program, (compatible, index)) in wanted {
        if !has_device(&tree, compatible, *index) {
            return Err(Error::entry(
                program.label(),
                Problem::UnknownDevice {
                    compatible: compatible.clone(),
                    index: *index,
                },
            ));
        }
    }
    Ok(())
}
