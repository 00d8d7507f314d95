//! The errno a process gets when the kernel refuses an invocation taskman
//! makes on its behalf.

use qsoe_abi::errno::{Errno, EBUSY, EIO, ENOMEM};
use sel4::Error;
use sel4_root_task::println;

/// The errno for a kernel refusal while taskman works for a process. Out
/// of memory is expected (`ENOMEM`). Anything else means taskman's
/// bookkeeping disagrees with the kernel, which decode should have made
/// impossible: it is logged, and the caller gets `EBUSY` for an occupied
/// slot or pool, `EIO` for the rest.
pub fn refused(context: &str, e: Error) -> Errno {
    if matches!(e, Error::NotEnoughMemory { .. }) {
        return ENOMEM;
    }
    println!("taskman: {context}: kernel refused: {e:?}");
    match e {
        Error::DeleteFirst | Error::RevokeFirst => EBUSY,
        _ => EIO,
    }
}
