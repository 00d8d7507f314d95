//! QNX's name service: `name_attach` registers a name under
//! `/dev/name/local` for a new channel, where every process may attach;
//! `name_open` connects to it through the path manager, asking for
//! `_FTYPE_NAME`. A server answers the `_IO_CONNECT` it then receives
//! (and, with `_NTO_CHF_DISCONNECT`, hears when a client goes), as in
//! QNX.
#![allow(non_snake_case)]

use crate::errno::{Errno, EINVAL, ENAMETOOLONG};
use crate::neutrino::{ChannelCreate, ChannelDestroy, ConnectDetach};
use crate::taskman;
use qsoe_abi::grants::NAME_PREFIX;
use qsoe_abi::iomsg::{connect, ftype};
use qsoe_abi::ipc::chf;
use qsoe_abi::wire::{self, op, MAX_WORDS, PATH_MAX_BYTES};
use sel4_sys::Word;

/// What `name_attach` answers (QNX's `name_attach_t`, without the
/// dispatch handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAttach {
    pub chid: i32,
    /// The registration in the pathname space (QNX's `mntid`).
    pub mntid: i32,
}

/// `/dev/name/local/<name>` in `out`.
fn name_path<'o>(name: &str, out: &'o mut [u8; PATH_MAX_BYTES]) -> Result<&'o [u8], Errno> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(EINVAL);
    }
    let len = NAME_PREFIX.len() + 1 + name.len();
    if len > PATH_MAX_BYTES {
        return Err(ENAMETOOLONG);
    }
    out[..NAME_PREFIX.len()].copy_from_slice(NAME_PREFIX.as_bytes());
    out[NAME_PREFIX.len()] = b'/';
    out[NAME_PREFIX.len() + 1..len].copy_from_slice(name.as_bytes());
    Ok(&out[..len])
}

/// Registers `path` for channel `chid` with `_RESMGR_FLAG_*` `flags`
/// and the server's `handle`; answers the registration's id.
pub fn path_attach(path: &[u8], flags: u32, chid: i32, handle: u32) -> Result<i32, Errno> {
    let mut words = [0 as Word; MAX_WORDS];
    let n = wire::encode_path_attach(&mut words, flags, chid, handle, path)?;
    Ok(taskman::request(op::PATH_ATTACH, &words[..n])?[0] as i32)
}

/// Removes the caller's registration `id`.
pub fn path_detach(id: i32) -> Result<(), Errno> {
    taskman::request(op::PATH_DETACH, &[id as Word]).map(drop)
}

/// `name_attach(NULL, name, 0)`: a channel (made by the calling thread,
/// with `_NTO_CHF_DISCONNECT` and `_NTO_CHF_UNBLOCK`) reachable as
/// `name`.
pub fn name_attach(name: &str) -> Result<NameAttach, Errno> {
    let mut buf = [0u8; PATH_MAX_BYTES];
    let path = name_path(name, &mut buf)?;
    let chid = ChannelCreate(chf::DISCONNECT | chf::UNBLOCK)?;
    match path_attach(path, 0, chid, 0) {
        Ok(mntid) => Ok(NameAttach { chid, mntid }),
        Err(e) => {
            let _ = ChannelDestroy(chid);
            Err(e)
        }
    }
}

/// `name_detach`: the name goes, then the channel.
pub fn name_detach(attach: NameAttach) -> Result<(), Errno> {
    path_detach(attach.mntid)?;
    ChannelDestroy(attach.chid)
}

/// `name_open(name, 0)`: a connection to the server that attached `name`.
pub fn name_open(name: &str) -> Result<i32, Errno> {
    let mut buf = [0u8; PATH_MAX_BYTES];
    let path = name_path(name, &mut buf)?;
    crate::io::connect_path(path, connect::OPEN, 0, 0, ftype::NAME)
}

/// `name_close`.
pub fn name_close(coid: i32) -> Result<(), Errno> {
    ConnectDetach(coid)
}
