//! The reply objects taskman answers with. The request loop receives on
//! one; a caller that blocks (`waitpid`, `pause`, `ThreadJoin`) keeps the
//! one it called on, and the loop goes on with a spare.

use crate::Taskman;
use qsoe_abi::errno::{Errno, EAGAIN};
use sel4_root_task::println;
use sel4_sys::{object, CPtr};

/// Reply objects made at boot for callers that block. The usual case then
/// never creates kernel objects while serving, so taskman's slot count only
/// moves when more than this many processes are blocked at once.
pub const SPARE_REPLIES: usize = 16;

/// Makes the boot stock of spare reply objects.
pub fn stock(tm: &mut Taskman) {
    while tm.replies.len() < SPARE_REPLIES {
        match tm.objects.create(object::REPLY, 0) {
            Ok(r) => tm.replies.push(r),
            Err(e) => {
                println!("taskman: cannot make spare reply objects: {e:?}");
                return;
            }
        }
    }
}

/// A reply object for the loop to go on with while the current one holds
/// a blocked caller.
pub fn spare(tm: &mut Taskman) -> Result<CPtr, Errno> {
    match tm.replies.pop() {
        Some(r) => Ok(r),
        None => tm.objects.create(object::REPLY, 0).map_err(|_| EAGAIN),
    }
}
