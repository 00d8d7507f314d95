//! Typed capabilities.
//!
//! Each kernel object has a capability type whose methods are its
//! invocations, so a TCB cannot be handed where an endpoint is expected and
//! argument order lives in one place ([`sel4_sys::invocations`]). Errors come
//! back as [`Error`]. Everything here is MCS-only: reply authority is an
//! explicit [`Reply`] object.
#![no_std]

mod error;
#[cfg(target_arch = "riscv64")]
mod objects;

pub use error::Error;
#[cfg(target_arch = "riscv64")]
pub use objects::*;
pub use sel4_sys::{
    cap_type, fault, init_cap, object, size_bits, vm_attributes, BootInfo, CPtr, CapRights,
    MessageInfo, UntypedDesc, UserContext, Word,
};

/// Result of an invocation.
pub type Result<T = ()> = core::result::Result<T, Error>;

/// The depth that resolves a CPtr fully: a word.
pub const WORD_BITS: u8 = 64;

/// Capability data for a CNode used as a CSpace root: a guard of
/// `64 - radix_bits` zero bits, so a 64-bit CPtr resolves to the slot named
/// by its low `radix_bits` bits. Bits 0..6 hold the guard size and the
/// guard value sits above them.
pub const fn cspace_root_data(radix_bits: u8) -> Word {
    let guard_size = (WORD_BITS - radix_bits) as Word;
    let guard_value: Word = 0;
    (guard_value << sel4_sys::GUARD_SIZE_BITS) | guard_size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_data_guards_the_unused_high_bits() {
        assert_eq!(cspace_root_data(12), 52);
        assert_eq!(cspace_root_data(20), 44);
        assert_eq!(cspace_root_data(64), 0);
    }
}
