//! The path manager: processes register prefixes of the pathname space
//! for their channels, and clients resolve paths to the servers to try
//! (`taskman_core::paths` decides). Taskman's own registrations
//! (`taskman_core::files::REGISTRATIONS`) are made at boot.

use crate::Taskman;
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EINVAL, EPERM, ESRCH};
use qsoe_abi::grants::NAME_PREFIX;
use qsoe_abi::iomsg::resmgr_flag;
use qsoe_abi::ipc::SYSMGR_CHID;
use qsoe_abi::wire::{self, Request, Resolved, MAX_RESOLVED};
use qsoe_abi::Pid;
use sel4_sys::Word;
use taskman_core::limits::{DEFAULT_QUOTAS, PATH_TABLE};
use taskman_core::paths::{self, may_attach, PathTable};
use taskman_core::processes::TASKMAN;

/// The pathname space at boot: what taskman serves itself.
pub fn boot_table() -> PathTable {
    let mut table = PathTable::default();
    for (prefix, flags, handle) in taskman_core::files::REGISTRATIONS {
        table.attach(prefix.as_bytes(), TASKMAN, SYSMGR_CHID, handle, flags);
    }
    table
}

/// Serves the path requests of process `pid`; answers the reply's words.
pub fn request(tm: &mut Taskman, pid: Pid, req: Request) -> Result<Vec<Word>, Errno> {
    match req {
        Request::PathAttach {
            flags,
            chid,
            handle,
            path,
        } => {
            if flags & !resmgr_flag::KNOWN != 0 {
                return Err(EINVAL);
            }
            // Only through a channel of its own.
            if tm.channels.get(chid).is_none_or(|c| c.owner != pid) {
                return Err(ESRCH);
            }
            let p = tm.processes.get(pid).ok_or(ESRCH)?;
            let prefix = tm
                .paths
                .decode_attach(pid, path, DEFAULT_QUOTAS.paths, PATH_TABLE)?;
            let granted = p.prefixes.iter().map(Vec::as_slice);
            let names = [NAME_PREFIX.as_bytes()];
            if !may_attach(granted.chain(names), prefix) {
                return Err(EPERM);
            }
            let prefix = prefix.to_vec();
            let id = tm.paths.attach(&prefix, pid, chid, handle, flags);
            Ok(alloc::vec![id as Word])
        }
        Request::PathDetach { id } => tm.paths.detach(pid, id).map(|()| Vec::new()),
        Request::PathResolve { path } => {
            let path = paths::normalise(path)?;
            let found = tm.paths.resolve(path);
            let mut words = alloc::vec![found.len().min(MAX_RESOLVED) as Word];
            for r in found.into_iter().take(MAX_RESOLVED) {
                let r = Resolved {
                    pid: r.pid,
                    chid: r.chid,
                    handle: r.handle,
                    flags: r.flags,
                    prefix_len: r.prefix_len as u16,
                };
                words.extend(r.to_words());
            }
            debug_assert!(words.len() <= wire::MAX_WORDS);
            Ok(words)
        }
        _ => Err(EINVAL),
    }
}

/// The prefixes a new process of the program at `path` may attach under
/// `parent`: what the manifest grants the program, as far as they lie
/// under what the parent holds (taskman, init's parent, holds `/`).
pub fn granted_prefixes(tm: &Taskman, parent: Pid, path: &str) -> Vec<Vec<u8>> {
    let grants = tm
        .archive
        .find(qsoe_abi::grants::GRANTS_PATH)
        .unwrap_or(&[]);
    let held = tm.processes.get(parent).map(|p| &p.prefixes);
    qsoe_abi::grants::prefixes(grants, path.as_bytes())
        .filter(|g| held.is_none_or(|h| may_attach(h.iter().map(Vec::as_slice), g)))
        .map(<[u8]>::to_vec)
        .collect()
}
