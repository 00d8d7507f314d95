//! Invocation marshalling.
//!
//! An [`Invocation`] is plain data: the service capability, the label, the
//! message words in the order the kernel reads them and the extra
//! capabilities. Building one is pure (and tested on the host); performing
//! it is [`Invocation::call`], the only part that needs the kernel.

use crate::{label, CPtr, CapRights, MessageInfo, UserContext, Word, MSG_MAX_EXTRA_CAPS};

/// The most message words any invocation we make carries
/// (`TCB_WriteRegisters`: two header words and the full register set).
pub const MAX_INVOCATION_WORDS: usize = 2 + UserContext::WORDS;

/// An invocation ready to be performed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub service: CPtr,
    pub label: Word,
    words: [Word; MAX_INVOCATION_WORDS],
    nwords: usize,
    caps: [CPtr; MSG_MAX_EXTRA_CAPS],
    ncaps: usize,
}

/// A failed invocation: the kernel's error code and the message registers
/// that explain it (for `NotEnoughMemory`, MR0 is the bytes left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvocationError {
    pub code: Word,
    pub mrs: [Word; 4],
}

impl Invocation {
    pub const fn new(service: CPtr, label: Word) -> Self {
        Self {
            service,
            label,
            words: [0; MAX_INVOCATION_WORDS],
            nwords: 0,
            caps: [0; MSG_MAX_EXTRA_CAPS],
            ncaps: 0,
        }
    }

    pub const fn word(mut self, w: Word) -> Self {
        self.words[self.nwords] = w;
        self.nwords += 1;
        self
    }

    pub const fn cap(mut self, c: CPtr) -> Self {
        self.caps[self.ncaps] = c;
        self.ncaps += 1;
        self
    }

    pub fn words(&self) -> &[Word] {
        &self.words[..self.nwords]
    }

    pub fn caps(&self) -> &[CPtr] {
        &self.caps[..self.ncaps]
    }

    pub fn info(&self) -> MessageInfo {
        MessageInfo::new(self.label, 0, self.ncaps as Word, self.nwords as Word)
    }

    /// Performs the invocation; on success returns the reply's first four
    /// message registers (the only results any invocation here has).
    #[cfg(target_arch = "riscv64")]
    pub fn call(&self) -> Result<[Word; 4], InvocationError> {
        use crate::{ipc_buffer, FAST_MESSAGE_REGISTERS};
        // SAFETY: our runtimes give every thread an IPC buffer before it runs.
        let buffer = unsafe { &mut *ipc_buffer() };
        buffer.caps_or_badges[..self.ncaps].copy_from_slice(self.caps());
        let mut regs = [0; FAST_MESSAGE_REGISTERS];
        for (i, &w) in self.words().iter().enumerate() {
            match regs.get_mut(i) {
                Some(r) => *r = w,
                None => buffer.msg[i] = w,
            }
        }
        let reply = crate::call(self.service, self.info(), regs);
        match reply.info.label() {
            0 => Ok(reply.mrs),
            code => Err(InvocationError {
                code,
                mrs: reply.mrs,
            }),
        }
    }
}

/// Invocations of this kernel configuration, one constructor each, with the
/// arguments in the kernel's order (hence as many as the kernel takes).
#[allow(clippy::too_many_arguments)]
pub mod invocations {
    use super::*;

    pub const fn untyped_retype(
        service: CPtr,
        object_type: Word,
        size_bits: Word,
        root: CPtr,
        node_index: Word,
        node_depth: Word,
        node_offset: Word,
        num_objects: Word,
    ) -> Invocation {
        Invocation::new(service, label::UNTYPED_RETYPE)
            .word(object_type)
            .word(size_bits)
            .word(node_index)
            .word(node_depth)
            .word(node_offset)
            .word(num_objects)
            .cap(root)
    }

    pub const fn cnode_revoke(service: CPtr, index: Word, depth: u8) -> Invocation {
        Invocation::new(service, label::CNODE_REVOKE)
            .word(index)
            .word(depth as Word)
    }

    pub const fn cnode_delete(service: CPtr, index: Word, depth: u8) -> Invocation {
        Invocation::new(service, label::CNODE_DELETE)
            .word(index)
            .word(depth as Word)
    }

    pub const fn cnode_cancel_badged_sends(service: CPtr, index: Word, depth: u8) -> Invocation {
        Invocation::new(service, label::CNODE_CANCEL_BADGED_SENDS)
            .word(index)
            .word(depth as Word)
    }

    pub const fn cnode_copy(
        service: CPtr,
        dest_index: Word,
        dest_depth: u8,
        src_root: CPtr,
        src_index: Word,
        src_depth: u8,
        rights: CapRights,
    ) -> Invocation {
        Invocation::new(service, label::CNODE_COPY)
            .word(dest_index)
            .word(dest_depth as Word)
            .word(src_index)
            .word(src_depth as Word)
            .word(rights.0)
            .cap(src_root)
    }

    pub const fn cnode_mint(
        service: CPtr,
        dest_index: Word,
        dest_depth: u8,
        src_root: CPtr,
        src_index: Word,
        src_depth: u8,
        rights: CapRights,
        badge: Word,
    ) -> Invocation {
        Invocation::new(service, label::CNODE_MINT)
            .word(dest_index)
            .word(dest_depth as Word)
            .word(src_index)
            .word(src_depth as Word)
            .word(rights.0)
            .word(badge)
            .cap(src_root)
    }

    pub const fn cnode_move(
        service: CPtr,
        dest_index: Word,
        dest_depth: u8,
        src_root: CPtr,
        src_index: Word,
        src_depth: u8,
    ) -> Invocation {
        Invocation::new(service, label::CNODE_MOVE)
            .word(dest_index)
            .word(dest_depth as Word)
            .word(src_index)
            .word(src_depth as Word)
            .cap(src_root)
    }

    pub const fn cnode_mutate(
        service: CPtr,
        dest_index: Word,
        dest_depth: u8,
        src_root: CPtr,
        src_index: Word,
        src_depth: u8,
        badge: Word,
    ) -> Invocation {
        Invocation::new(service, label::CNODE_MUTATE)
            .word(dest_index)
            .word(dest_depth as Word)
            .word(src_index)
            .word(src_depth as Word)
            .word(badge)
            .cap(src_root)
    }

    /// MCS form: the fault endpoint is set with `TCB_SetSpace` or
    /// `TCB_SetSchedParams` instead.
    pub const fn tcb_configure(
        service: CPtr,
        cspace_root: CPtr,
        cspace_root_data: Word,
        vspace_root: CPtr,
        vspace_root_data: Word,
        buffer: Word,
        buffer_frame: CPtr,
    ) -> Invocation {
        Invocation::new(service, label::TCB_CONFIGURE)
            .word(cspace_root_data)
            .word(vspace_root_data)
            .word(buffer)
            .cap(cspace_root)
            .cap(vspace_root)
            .cap(buffer_frame)
    }

    pub const fn tcb_set_space(
        service: CPtr,
        fault_ep: CPtr,
        cspace_root: CPtr,
        cspace_root_data: Word,
        vspace_root: CPtr,
        vspace_root_data: Word,
    ) -> Invocation {
        Invocation::new(service, label::TCB_SET_SPACE)
            .word(cspace_root_data)
            .word(vspace_root_data)
            .cap(fault_ep)
            .cap(cspace_root)
            .cap(vspace_root)
    }

    pub const fn tcb_set_sched_params(
        service: CPtr,
        authority: CPtr,
        mcp: Word,
        priority: Word,
        sched_context: CPtr,
        fault_ep: CPtr,
    ) -> Invocation {
        Invocation::new(service, label::TCB_SET_SCHED_PARAMS)
            .word(mcp)
            .word(priority)
            .cap(authority)
            .cap(sched_context)
            .cap(fault_ep)
    }

    pub const fn tcb_set_priority(service: CPtr, authority: CPtr, priority: Word) -> Invocation {
        Invocation::new(service, label::TCB_SET_PRIORITY)
            .word(priority)
            .cap(authority)
    }

    /// `resume_target` and `arch_flags` share the first word, as the kernel
    /// packs small arguments.
    pub fn tcb_write_registers(
        service: CPtr,
        resume_target: bool,
        arch_flags: u8,
        regs: &UserContext,
    ) -> Invocation {
        let mut inv = Invocation::new(service, label::TCB_WRITE_REGISTERS)
            .word(resume_target as Word | ((arch_flags as Word) << 8))
            .word(UserContext::WORDS as Word);
        for &r in regs.as_words() {
            inv = inv.word(r);
        }
        inv
    }

    /// Reads `count` registers, in `UserContext` order, into the reply's
    /// message registers.
    pub const fn tcb_read_registers(
        service: CPtr,
        suspend_source: bool,
        arch_flags: u8,
        count: Word,
    ) -> Invocation {
        Invocation::new(service, label::TCB_READ_REGISTERS)
            .word(suspend_source as Word | ((arch_flags as Word) << 8))
            .word(count)
    }

    pub const fn tcb_resume(service: CPtr) -> Invocation {
        Invocation::new(service, label::TCB_RESUME)
    }

    pub const fn tcb_suspend(service: CPtr) -> Invocation {
        Invocation::new(service, label::TCB_SUSPEND)
    }

    pub const fn tcb_bind_notification(service: CPtr, notification: CPtr) -> Invocation {
        Invocation::new(service, label::TCB_BIND_NOTIFICATION).cap(notification)
    }

    pub const fn tcb_unbind_notification(service: CPtr) -> Invocation {
        Invocation::new(service, label::TCB_UNBIND_NOTIFICATION)
    }

    pub const fn tcb_set_tls_base(service: CPtr, tls_base: Word) -> Invocation {
        Invocation::new(service, label::TCB_SET_TLS_BASE).word(tls_base)
    }

    pub const fn tcb_set_ipc_buffer(service: CPtr, buffer: Word, buffer_frame: CPtr) -> Invocation {
        Invocation::new(service, label::TCB_SET_IPC_BUFFER)
            .word(buffer)
            .cap(buffer_frame)
    }

    pub const fn tcb_set_flags(service: CPtr, clear: Word, set: Word) -> Invocation {
        Invocation::new(service, label::TCB_SET_FLAGS)
            .word(clear)
            .word(set)
    }

    pub const fn tcb_set_timeout_endpoint(service: CPtr, timeout_ep: CPtr) -> Invocation {
        Invocation::new(service, label::TCB_SET_TIMEOUT_ENDPOINT).cap(timeout_ep)
    }

    /// Budget and period are in microseconds.
    pub const fn sched_control_configure_flags(
        service: CPtr,
        sched_context: CPtr,
        budget_us: Word,
        period_us: Word,
        extra_refills: Word,
        badge: Word,
        flags: Word,
    ) -> Invocation {
        Invocation::new(service, label::SCHED_CONTROL_CONFIGURE_FLAGS)
            .word(budget_us)
            .word(period_us)
            .word(extra_refills)
            .word(badge)
            .word(flags)
            .cap(sched_context)
    }

    pub const fn sched_context_bind(service: CPtr, object: CPtr) -> Invocation {
        Invocation::new(service, label::SCHED_CONTEXT_BIND).cap(object)
    }

    pub const fn sched_context_unbind(service: CPtr) -> Invocation {
        Invocation::new(service, label::SCHED_CONTEXT_UNBIND)
    }

    pub const fn sched_context_unbind_object(service: CPtr, object: CPtr) -> Invocation {
        Invocation::new(service, label::SCHED_CONTEXT_UNBIND_OBJECT).cap(object)
    }

    /// Answers the time consumed since the last call, in MR0.
    pub const fn sched_context_consumed(service: CPtr) -> Invocation {
        Invocation::new(service, label::SCHED_CONTEXT_CONSUMED)
    }

    pub const fn page_table_map(
        service: CPtr,
        vspace: CPtr,
        vaddr: Word,
        attr: Word,
    ) -> Invocation {
        Invocation::new(service, label::RISCV_PAGE_TABLE_MAP)
            .word(vaddr)
            .word(attr)
            .cap(vspace)
    }

    pub const fn page_table_unmap(service: CPtr) -> Invocation {
        Invocation::new(service, label::RISCV_PAGE_TABLE_UNMAP)
    }

    pub const fn page_map(
        service: CPtr,
        vspace: CPtr,
        vaddr: Word,
        rights: CapRights,
        attr: Word,
    ) -> Invocation {
        Invocation::new(service, label::RISCV_PAGE_MAP)
            .word(vaddr)
            .word(rights.0)
            .word(attr)
            .cap(vspace)
    }

    pub const fn page_unmap(service: CPtr) -> Invocation {
        Invocation::new(service, label::RISCV_PAGE_UNMAP)
    }

    /// Answers the frame's physical address in MR0.
    pub const fn page_get_address(service: CPtr) -> Invocation {
        Invocation::new(service, label::RISCV_PAGE_GET_ADDRESS)
    }

    pub const fn asid_pool_assign(service: CPtr, vspace: CPtr) -> Invocation {
        Invocation::new(service, label::RISCV_ASID_POOL_ASSIGN).cap(vspace)
    }

    pub const fn asid_control_make_pool(
        service: CPtr,
        untyped: CPtr,
        root: CPtr,
        index: Word,
        depth: u8,
    ) -> Invocation {
        Invocation::new(service, label::RISCV_ASID_CONTROL_MAKE_POOL)
            .word(index)
            .word(depth as Word)
            .cap(untyped)
            .cap(root)
    }

    pub const fn irq_control_get(
        service: CPtr,
        irq: Word,
        root: CPtr,
        index: Word,
        depth: u8,
    ) -> Invocation {
        Invocation::new(service, label::IRQ_ISSUE_IRQ_HANDLER)
            .word(irq)
            .word(index)
            .word(depth as Word)
            .cap(root)
    }

    /// `trigger`: 1 for edge, 0 for level.
    pub const fn irq_control_get_trigger(
        service: CPtr,
        irq: Word,
        trigger: Word,
        root: CPtr,
        index: Word,
        depth: u8,
    ) -> Invocation {
        Invocation::new(service, label::RISCV_IRQ_ISSUE_IRQ_HANDLER_TRIGGER)
            .word(irq)
            .word(trigger)
            .word(index)
            .word(depth as Word)
            .cap(root)
    }

    pub const fn irq_handler_ack(service: CPtr) -> Invocation {
        Invocation::new(service, label::IRQ_ACK_IRQ)
    }

    pub const fn irq_handler_set_notification(service: CPtr, notification: CPtr) -> Invocation {
        Invocation::new(service, label::IRQ_SET_IRQ_HANDLER).cap(notification)
    }

    pub const fn irq_handler_clear(service: CPtr) -> Invocation {
        Invocation::new(service, label::IRQ_CLEAR_IRQ_HANDLER)
    }
}

#[cfg(test)]
mod tests {
    use super::invocations::*;
    use super::*;

    #[test]
    fn retype_puts_root_in_extra_caps_and_words_in_kernel_order() {
        let inv = untyped_retype(7, 1, 0, 2, 0, 0, 300, 1);
        assert_eq!(inv.words(), &[1, 0, 0, 0, 300, 1]);
        assert_eq!(inv.caps(), &[2]);
        let info = inv.info();
        assert_eq!(
            (info.label(), info.length(), info.extra_caps()),
            (label::UNTYPED_RETYPE, 6, 1)
        );
    }

    #[test]
    fn mint_carries_rights_then_badge() {
        let inv = cnode_mint(2, 40, 64, 2, 41, 64, CapRights::WRITE, 0xbeef);
        assert_eq!(inv.words(), &[40, 64, 41, 64, 1, 0xbeef]);
        assert_eq!(inv.caps(), &[2]);
    }

    #[test]
    fn write_registers_packs_resume_and_flags_then_all_registers() {
        let regs = UserContext {
            pc: 0x1000,
            sp: 0x2000,
            tp: 0x3000,
            ..Default::default()
        };
        let inv = tcb_write_registers(5, true, 0, &regs);
        assert_eq!(inv.words().len(), 2 + 32);
        assert_eq!(&inv.words()[..3], &[1, 32, 0x1000]);
        assert_eq!(inv.words()[2 + 2], 0x2000, "sp is the third register");
        assert_eq!(
            *inv.words().last().unwrap(),
            0x3000,
            "tp is the last register"
        );
    }

    #[test]
    fn mcs_sched_params_take_three_caps() {
        let inv = tcb_set_sched_params(1, 1, 255, 100, 30, 0);
        assert_eq!(inv.words(), &[255, 100]);
        assert_eq!(inv.caps(), &[1, 30, 0]);
        assert_eq!(inv.info().extra_caps(), 3);
    }
}
