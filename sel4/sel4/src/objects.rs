use crate::{Result, WORD_BITS};
use sel4_sys::{invocations as inv, CPtr, CapRights, Invocation, UserContext, Word};

fn perform(i: Invocation) -> Result<[Word; 4]> {
    i.call().map_err(Into::into)
}

macro_rules! capability {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub CPtr);

        impl $name {
            pub const fn cptr(self) -> CPtr {
                self.0
            }
        }
    )*};
}

capability! {
    /// Untyped memory, to be retyped into objects.
    Untyped;
    /// A CNode: a table of capability slots.
    CNode;
    /// A thread.
    Tcb;
    /// A synchronous IPC endpoint.
    Endpoint;
    /// An asynchronous notification word.
    Notification;
    /// An MCS reply object: the authority to answer one caller.
    Reply;
    /// An MCS scheduling context: CPU time on one core.
    SchedContext;
    /// The authority to configure scheduling contexts for one core.
    SchedControl;
    /// A top-level page table, the root of an address space.
    VSpace;
    /// A lower-level page table.
    PageTable;
    /// A frame of memory (4 KiB, 2 MiB or 1 GiB).
    Frame;
    /// Assigns address-space ids to VSpaces.
    AsidPool;
    /// Turns 4 KiB untypeds into ASID pools.
    AsidControl;
    /// Creates IRQ handlers.
    IrqControl;
    /// Acknowledges and routes one interrupt.
    IrqHandler;
}

/// A slot named from the root of a CSpace: what CNode invocations address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub root: CNode,
    pub index: Word,
    pub depth: u8,
}

impl CNode {
    /// The slot `index`, resolved with a full-word depth from this root.
    pub const fn slot(self, index: Word) -> Slot {
        Slot {
            root: self,
            index,
            depth: WORD_BITS,
        }
    }

    /// The slot `index`, resolved with `depth` bits from this root: how a
    /// CNode that is not a 64-bit CSpace root names its own slots.
    pub const fn slot_at(self, index: Word, depth: u8) -> Slot {
        Slot {
            root: self,
            index,
            depth,
        }
    }
}

impl Slot {
    pub fn revoke(self) -> Result {
        perform(inv::cnode_revoke(self.root.0, self.index, self.depth)).map(drop)
    }

    pub fn delete(self) -> Result {
        perform(inv::cnode_delete(self.root.0, self.index, self.depth)).map(drop)
    }

    pub fn cancel_badged_sends(self) -> Result {
        perform(inv::cnode_cancel_badged_sends(
            self.root.0,
            self.index,
            self.depth,
        ))
        .map(drop)
    }

    /// Copies `src` here with `rights` (narrowing only).
    pub fn copy(self, src: Slot, rights: CapRights) -> Result {
        perform(inv::cnode_copy(
            self.root.0,
            self.index,
            self.depth,
            src.root.0,
            src.index,
            src.depth,
            rights,
        ))
        .map(drop)
    }

    /// Copies `src` here with `rights` and `badge`.
    pub fn mint(self, src: Slot, rights: CapRights, badge: Word) -> Result {
        perform(inv::cnode_mint(
            self.root.0,
            self.index,
            self.depth,
            src.root.0,
            src.index,
            src.depth,
            rights,
            badge,
        ))
        .map(drop)
    }

    /// Moves `src` here, leaving `src` empty.
    pub fn move_from(self, src: Slot) -> Result {
        perform(inv::cnode_move(
            self.root.0,
            self.index,
            self.depth,
            src.root.0,
            src.index,
            src.depth,
        ))
        .map(drop)
    }

    /// Moves `src` here and badges it on the way.
    pub fn mutate_from(self, src: Slot, badge: Word) -> Result {
        perform(inv::cnode_mutate(
            self.root.0,
            self.index,
            self.depth,
            src.root.0,
            src.index,
            src.depth,
            badge,
        ))
        .map(drop)
    }
}

impl Untyped {
    /// Retypes `count` objects of `object_type` into consecutive slots of
    /// the CNode `dest` (named from `root` at `dest_depth`), starting at
    /// `offset`.
    #[allow(clippy::too_many_arguments)]
    pub fn retype(
        self,
        object_type: Word,
        size_bits: usize,
        root: CNode,
        dest: Word,
        dest_depth: u8,
        offset: Word,
        count: usize,
    ) -> Result {
        perform(inv::untyped_retype(
            self.0,
            object_type,
            size_bits as Word,
            root.0,
            dest,
            dest_depth as Word,
            offset,
            count as Word,
        ))
        .map(drop)
    }

    /// Retypes one object into `slot` of the CSpace rooted at `root`
    /// (whose slots resolve at a full-word depth from `root`).
    pub fn retype_one(
        self,
        object_type: Word,
        size_bits: usize,
        root: CNode,
        slot: Word,
    ) -> Result {
        // Depth 0 names the root CNode itself as the destination table.
        self.retype(object_type, size_bits, root, 0, 0, slot, 1)
    }
}

impl Tcb {
    pub fn configure(
        self,
        cspace: CNode,
        cspace_data: Word,
        vspace: VSpace,
        ipc_buffer: Word,
        ipc_buffer_frame: Frame,
    ) -> Result {
        perform(inv::tcb_configure(
            self.0,
            cspace.0,
            cspace_data,
            vspace.0,
            0,
            ipc_buffer,
            ipc_buffer_frame.0,
        ))
        .map(drop)
    }

    pub fn set_space(
        self,
        fault_ep: Endpoint,
        cspace: CNode,
        cspace_data: Word,
        vspace: VSpace,
    ) -> Result {
        perform(inv::tcb_set_space(
            self.0,
            fault_ep.0,
            cspace.0,
            cspace_data,
            vspace.0,
            0,
        ))
        .map(drop)
    }

    pub fn set_sched_params(
        self,
        authority: Tcb,
        mcp: Word,
        priority: Word,
        sched_context: SchedContext,
        fault_ep: Endpoint,
    ) -> Result {
        perform(inv::tcb_set_sched_params(
            self.0,
            authority.0,
            mcp,
            priority,
            sched_context.0,
            fault_ep.0,
        ))
        .map(drop)
    }

    pub fn set_priority(self, authority: Tcb, priority: Word) -> Result {
        perform(inv::tcb_set_priority(self.0, authority.0, priority)).map(drop)
    }

    pub fn write_registers(self, resume: bool, regs: &UserContext) -> Result {
        perform(inv::tcb_write_registers(self.0, resume, 0, regs)).map(drop)
    }

    /// The thread's registers (it must not be running).
    #[cfg(target_arch = "riscv64")]
    pub fn read_registers(self) -> Result<UserContext> {
        let count = UserContext::WORDS;
        let first = perform(inv::tcb_read_registers(self.0, false, 0, count as Word))?;
        let mut regs = UserContext::default();
        let words = regs.as_words_mut();
        words[..4].copy_from_slice(&first);
        // SAFETY: our runtimes give every thread an IPC buffer before it runs.
        let buffer = unsafe { &*sel4_sys::ipc_buffer() };
        words[4..].copy_from_slice(&buffer.msg[4..count]);
        Ok(regs)
    }

    pub fn resume(self) -> Result {
        perform(inv::tcb_resume(self.0)).map(drop)
    }

    pub fn suspend(self) -> Result {
        perform(inv::tcb_suspend(self.0)).map(drop)
    }

    pub fn bind_notification(self, notification: Notification) -> Result {
        perform(inv::tcb_bind_notification(self.0, notification.0)).map(drop)
    }

    pub fn unbind_notification(self) -> Result {
        perform(inv::tcb_unbind_notification(self.0)).map(drop)
    }

    pub fn set_tls_base(self, tls_base: Word) -> Result {
        perform(inv::tcb_set_tls_base(self.0, tls_base)).map(drop)
    }

    pub fn set_ipc_buffer(self, buffer: Word, frame: Frame) -> Result {
        perform(inv::tcb_set_ipc_buffer(self.0, buffer, frame.0)).map(drop)
    }

    /// Clears then sets TCB flags; answers the flags now in force.
    pub fn set_flags(self, clear: Word, set: Word) -> Result<Word> {
        perform(inv::tcb_set_flags(self.0, clear, set)).map(|mrs| mrs[0])
    }

    pub fn set_timeout_endpoint(self, ep: Endpoint) -> Result {
        perform(inv::tcb_set_timeout_endpoint(self.0, ep.0)).map(drop)
    }

    /// The core this thread is scheduled on, as the kernel sees it.
    pub fn affinity(self) -> Word {
        sel4_sys::debug_get_thread_affinity(self.0)
    }

    pub fn set_name(self, name: &str) {
        sel4_sys::debug_name_thread(self.0, name)
    }
}

impl SchedControl {
    /// Gives `sc` `budget_us` of every `period_us` on this control's core.
    pub fn configure(
        self,
        sc: SchedContext,
        budget_us: Word,
        period_us: Word,
        badge: Word,
    ) -> Result {
        perform(inv::sched_control_configure_flags(
            self.0, sc.0, budget_us, period_us, 0, badge, 0,
        ))
        .map(drop)
    }
}

impl SchedContext {
    pub fn bind_tcb(self, tcb: Tcb) -> Result {
        perform(inv::sched_context_bind(self.0, tcb.0)).map(drop)
    }

    pub fn bind_notification(self, notification: Notification) -> Result {
        perform(inv::sched_context_bind(self.0, notification.0)).map(drop)
    }

    pub fn unbind(self) -> Result {
        perform(inv::sched_context_unbind(self.0)).map(drop)
    }

    pub fn unbind_tcb(self, tcb: Tcb) -> Result {
        perform(inv::sched_context_unbind_object(self.0, tcb.0)).map(drop)
    }

    /// Time consumed since the last call, in kernel time units.
    pub fn consumed(self) -> Result<Word> {
        perform(inv::sched_context_consumed(self.0)).map(|mrs| mrs[0])
    }
}

impl PageTable {
    pub fn map(self, vspace: VSpace, vaddr: Word, attr: Word) -> Result {
        perform(inv::page_table_map(self.0, vspace.0, vaddr, attr)).map(drop)
    }

    pub fn unmap(self) -> Result {
        perform(inv::page_table_unmap(self.0)).map(drop)
    }
}

impl Frame {
    pub fn map(self, vspace: VSpace, vaddr: Word, rights: CapRights, attr: Word) -> Result {
        perform(inv::page_map(self.0, vspace.0, vaddr, rights, attr)).map(drop)
    }

    pub fn unmap(self) -> Result {
        perform(inv::page_unmap(self.0)).map(drop)
    }

    pub fn physical_address(self) -> Result<Word> {
        perform(inv::page_get_address(self.0)).map(|mrs| mrs[0])
    }
}

impl AsidPool {
    pub fn assign(self, vspace: VSpace) -> Result {
        perform(inv::asid_pool_assign(self.0, vspace.0)).map(drop)
    }
}

impl AsidControl {
    /// Makes the 4 KiB `untyped` an ASID pool, its cap placed in `dest`.
    pub fn make_pool(self, untyped: Untyped, dest: Slot) -> Result {
        perform(inv::asid_control_make_pool(
            self.0,
            untyped.0,
            dest.root.0,
            dest.index,
            dest.depth,
        ))
        .map(drop)
    }
}

impl IrqControl {
    /// Creates the handler for `irq` in `dest`.
    pub fn get(self, irq: Word, dest: Slot) -> Result {
        perform(inv::irq_control_get(
            self.0,
            irq,
            dest.root.0,
            dest.index,
            dest.depth,
        ))
        .map(drop)
    }

    /// Creates the handler for `irq` in `dest`, edge- or level-triggered.
    pub fn get_trigger(self, irq: Word, edge: bool, dest: Slot) -> Result {
        perform(inv::irq_control_get_trigger(
            self.0,
            irq,
            edge as Word,
            dest.root.0,
            dest.index,
            dest.depth,
        ))
        .map(drop)
    }
}

impl IrqHandler {
    pub fn ack(self) -> Result {
        perform(inv::irq_handler_ack(self.0)).map(drop)
    }

    pub fn set_notification(self, notification: Notification) -> Result {
        perform(inv::irq_handler_set_notification(self.0, notification.0)).map(drop)
    }

    pub fn clear(self) -> Result {
        perform(inv::irq_handler_clear(self.0)).map(drop)
    }
}

impl Endpoint {
    /// The null capability, for "no fault endpoint".
    pub const NULL: Self = Self(0);
}

impl Notification {
    pub fn signal(self) {
        sel4_sys::signal(self.0)
    }

    /// Waits for a signal; answers the accumulated badge bits.
    pub fn wait(self) -> Word {
        sel4_sys::wait(self.0).badge
    }
}
