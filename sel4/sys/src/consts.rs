//! Numbers from the kernel's ABI, each written once. `tests/abi_drift.rs`
//! checks all of them against the kernel actually built.

use crate::Word;

/// System call numbers (MCS numbering), passed in `a7`.
pub mod sys {
    pub const CALL: isize = -1;
    pub const REPLY_RECV: isize = -2;
    pub const NB_SEND_RECV: isize = -3;
    pub const NB_SEND_WAIT: isize = -4;
    pub const SEND: isize = -5;
    pub const NB_SEND: isize = -6;
    pub const RECV: isize = -7;
    pub const NB_RECV: isize = -8;
    pub const WAIT: isize = -9;
    pub const NB_WAIT: isize = -10;
    pub const YIELD: isize = -11;
    pub const DEBUG_PUT_CHAR: isize = -12;
    pub const DEBUG_DUMP_SCHEDULER: isize = -13;
    pub const DEBUG_HALT: isize = -14;
    pub const DEBUG_CAP_IDENTIFY: isize = -15;
    pub const DEBUG_SNAPSHOT: isize = -16;
    pub const DEBUG_NAME_THREAD: isize = -17;
    pub const DEBUG_SEND_IPI: isize = -18;
    pub const DEBUG_GET_THREAD_AFFINITY: isize = -19;
}

/// Invocation labels for this configuration (MCS, SMP, riscv64).
pub mod label {
    use crate::Word;
    pub const UNTYPED_RETYPE: Word = 1;
    pub const TCB_READ_REGISTERS: Word = 2;
    pub const TCB_WRITE_REGISTERS: Word = 3;
    pub const TCB_COPY_REGISTERS: Word = 4;
    pub const TCB_CONFIGURE: Word = 5;
    pub const TCB_SET_PRIORITY: Word = 6;
    pub const TCB_SET_MC_PRIORITY: Word = 7;
    pub const TCB_SET_SCHED_PARAMS: Word = 8;
    pub const TCB_SET_TIMEOUT_ENDPOINT: Word = 9;
    pub const TCB_SET_IPC_BUFFER: Word = 10;
    pub const TCB_SET_SPACE: Word = 11;
    pub const TCB_SUSPEND: Word = 12;
    pub const TCB_RESUME: Word = 13;
    pub const TCB_BIND_NOTIFICATION: Word = 14;
    pub const TCB_UNBIND_NOTIFICATION: Word = 15;
    pub const TCB_SET_TLS_BASE: Word = 16;
    pub const TCB_SET_FLAGS: Word = 17;
    pub const CNODE_REVOKE: Word = 18;
    pub const CNODE_DELETE: Word = 19;
    pub const CNODE_CANCEL_BADGED_SENDS: Word = 20;
    pub const CNODE_COPY: Word = 21;
    pub const CNODE_MINT: Word = 22;
    pub const CNODE_MOVE: Word = 23;
    pub const CNODE_MUTATE: Word = 24;
    pub const CNODE_ROTATE: Word = 25;
    pub const IRQ_ISSUE_IRQ_HANDLER: Word = 26;
    pub const IRQ_ACK_IRQ: Word = 27;
    pub const IRQ_SET_IRQ_HANDLER: Word = 28;
    pub const IRQ_CLEAR_IRQ_HANDLER: Word = 29;
    pub const DOMAIN_SET_SET: Word = 30;
    pub const SCHED_CONTROL_CONFIGURE_FLAGS: Word = 33;
    pub const SCHED_CONTEXT_BIND: Word = 34;
    pub const SCHED_CONTEXT_UNBIND: Word = 35;
    pub const SCHED_CONTEXT_UNBIND_OBJECT: Word = 36;
    pub const SCHED_CONTEXT_CONSUMED: Word = 37;
    pub const SCHED_CONTEXT_YIELD_TO: Word = 38;
    pub const RISCV_PAGE_TABLE_MAP: Word = 39;
    pub const RISCV_PAGE_TABLE_UNMAP: Word = 40;
    pub const RISCV_PAGE_MAP: Word = 41;
    pub const RISCV_PAGE_UNMAP: Word = 42;
    pub const RISCV_PAGE_GET_ADDRESS: Word = 43;
    pub const RISCV_ASID_CONTROL_MAKE_POOL: Word = 44;
    pub const RISCV_ASID_POOL_ASSIGN: Word = 45;
    pub const RISCV_IRQ_ISSUE_IRQ_HANDLER_TRIGGER: Word = 46;
}

/// Object types for `Untyped_Retype`.
pub mod object {
    use crate::Word;
    pub const UNTYPED: Word = 0;
    pub const TCB: Word = 1;
    pub const ENDPOINT: Word = 2;
    pub const NOTIFICATION: Word = 3;
    pub const CNODE: Word = 4;
    pub const SCHED_CONTEXT: Word = 5;
    pub const REPLY: Word = 6;
    pub const GIGA_PAGE: Word = 7;
    pub const PAGE_4K: Word = 8;
    pub const MEGA_PAGE: Word = 9;
    pub const PAGE_TABLE: Word = 10;
}

/// Object sizes, in bits.
pub mod size_bits {
    pub const WORD: usize = 3;
    pub const SLOT: usize = 5;
    pub const TCB: usize = 11;
    pub const ENDPOINT: usize = 4;
    pub const NOTIFICATION: usize = 6;
    pub const REPLY: usize = 5;
    pub const MIN_SCHED_CONTEXT: usize = 7;
    pub const PAGE: usize = 12;
    pub const LARGE_PAGE: usize = 21;
    pub const HUGE_PAGE: usize = 30;
    pub const PAGE_TABLE: usize = 12;
    pub const PAGE_TABLE_INDEX: usize = 9;
    pub const IPC_BUFFER: usize = 10;
    pub const MIN_UNTYPED: usize = 4;
    pub const MAX_UNTYPED: usize = 38;
    pub const ASID_POOL: usize = 12;
}

/// Size of the BootInfo frame; the extra BootInfo starts right after it.
pub const BOOTINFO_FRAME_SIZE: usize = 1 << size_bits::PAGE;

/// Bits of a CNode capability's guard-size field; the guard value sits
/// above them in the capability data word.
pub const GUARD_SIZE_BITS: u32 = 6;

/// Error codes returned as the label of an invocation's reply.
pub mod error {
    use crate::Word;
    pub const NO_ERROR: Word = 0;
    pub const INVALID_ARGUMENT: Word = 1;
    pub const INVALID_CAPABILITY: Word = 2;
    pub const ILLEGAL_OPERATION: Word = 3;
    pub const RANGE_ERROR: Word = 4;
    pub const ALIGNMENT_ERROR: Word = 5;
    pub const FAILED_LOOKUP: Word = 6;
    pub const TRUNCATED_MESSAGE: Word = 7;
    pub const DELETE_FIRST: Word = 8;
    pub const REVOKE_FIRST: Word = 9;
    pub const NOT_ENOUGH_MEMORY: Word = 10;
}

/// Slots of the initial thread's CNode that the kernel fills at boot.
pub mod init_cap {
    use crate::CPtr;
    pub const NULL: CPtr = 0;
    pub const TCB: CPtr = 1;
    pub const CNODE: CPtr = 2;
    pub const VSPACE: CPtr = 3;
    pub const IRQ_CONTROL: CPtr = 4;
    pub const ASID_CONTROL: CPtr = 5;
    pub const ASID_POOL: CPtr = 6;
    pub const BOOTINFO_FRAME: CPtr = 9;
    pub const IPC_BUFFER: CPtr = 10;
    pub const DOMAIN: CPtr = 11;
    pub const SCHED_CONTEXT: CPtr = 14;
    pub const NUM_INITIAL_CAPS: CPtr = 16;
}

/// Capability rights, as packed into `seL4_CapRights_t`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapRights(pub Word);

impl CapRights {
    pub const WRITE: Self = Self(1 << 0);
    pub const READ: Self = Self(1 << 1);
    pub const GRANT: Self = Self(1 << 2);
    pub const GRANT_REPLY: Self = Self(1 << 3);
    pub const NONE: Self = Self(0);
    pub const ALL: Self = Self(0xf);
    pub const READ_WRITE: Self = Self(Self::READ.0 | Self::WRITE.0);

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Fault labels the kernel puts on fault messages.
pub mod fault {
    use crate::Word;
    pub const NULL_FAULT: Word = 0;
    pub const CAP_FAULT: Word = 1;
    pub const UNKNOWN_SYSCALL: Word = 2;
    pub const USER_EXCEPTION: Word = 3;
    pub const TIMEOUT: Word = 5;
    pub const VM_FAULT: Word = 6;
    /// Message registers of a cap fault.
    pub const CAP_FAULT_IP: usize = 0;
    pub const CAP_FAULT_ADDR: usize = 1;
    /// Message registers of a VM fault.
    pub const VM_FAULT_IP: usize = 0;
    pub const VM_FAULT_ADDR: usize = 1;
    pub const VM_FAULT_PREFETCH: usize = 2;
    pub const VM_FAULT_FSR: usize = 3;
    /// Message registers of a user exception.
    pub const USER_EXCEPTION_FAULT_IP: usize = 0;
    pub const USER_EXCEPTION_SP: usize = 1;
    pub const USER_EXCEPTION_NUMBER: usize = 2;
    pub const USER_EXCEPTION_CODE: usize = 3;
    /// Message registers of an unknown-syscall fault: the registers the
    /// kernel reports, and the ones a label-0 reply of that many words
    /// writes back (in this order) before the thread resumes.
    pub const UNKNOWN_SYSCALL_FAULT_IP: usize = 0;
    pub const UNKNOWN_SYSCALL_SP: usize = 1;
    pub const UNKNOWN_SYSCALL_RA: usize = 2;
    pub const UNKNOWN_SYSCALL_A0: usize = 3;
    pub const UNKNOWN_SYSCALL_A6: usize = 9;
    pub const UNKNOWN_SYSCALL_SYSCALL: usize = 10;
    pub const UNKNOWN_SYSCALL_LENGTH: usize = 11;
}

/// VM attributes for page and page-table mappings.
pub mod vm_attributes {
    use crate::Word;
    pub const DEFAULT: Word = 0;
    pub const EXECUTE_NEVER: Word = 1;
}

/// Flags for `TCB_SetFlags`.
pub mod tcb_flag {
    use crate::Word;
    pub const FPU_DISABLED: Word = 1;
}

/// Flags for `SchedControl_ConfigureFlags`.
pub mod sched_context_flag {
    use crate::Word;
    pub const SPORADIC: Word = 1;
}

/// What `DebugCapIdentify` answers: the kernel's internal capability type
/// tags. Only `NULL` (an empty slot) matters to leak scans; the rest let a
/// scan say what it found.
pub mod cap_type {
    use crate::Word;
    pub const NULL: Word = 0;
    pub const FRAME: Word = 1;
    pub const UNTYPED: Word = 2;
    pub const PAGE_TABLE: Word = 3;
    pub const ENDPOINT: Word = 4;
    pub const NOTIFICATION: Word = 6;
    pub const REPLY: Word = 8;
    pub const CNODE: Word = 10;
    pub const ASID_CONTROL: Word = 11;
    pub const THREAD: Word = 12;
    pub const ASID_POOL: Word = 13;
    pub const IRQ_CONTROL: Word = 14;
    pub const IRQ_HANDLER: Word = 16;
    pub const ZOMBIE: Word = 18;
    pub const DOMAIN: Word = 20;
    pub const SCHED_CONTEXT: Word = 22;
    pub const SCHED_CONTROL: Word = 24;
}

/// Registers of `seL4_UserContext`, in the order `TCB_WriteRegisters`
/// takes them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct UserContext {
    pub pc: Word,
    pub ra: Word,
    pub sp: Word,
    pub gp: Word,
    pub s: [Word; 12],
    pub a: [Word; 8],
    pub t: [Word; 7],
    pub tp: Word,
}

impl UserContext {
    /// Registers in the structure.
    pub const WORDS: usize = core::mem::size_of::<Self>() / core::mem::size_of::<Word>();

    pub fn as_words(&self) -> &[Word; Self::WORDS] {
        // SAFETY: repr(C) struct of WORDS words with no padding.
        unsafe { &*(self as *const Self as *const [Word; Self::WORDS]) }
    }

    pub fn as_words_mut(&mut self) -> &mut [Word; Self::WORDS] {
        // SAFETY: as in `as_words`; every bit pattern is a valid register.
        unsafe { &mut *(self as *mut Self as *mut [Word; Self::WORDS]) }
    }
}
