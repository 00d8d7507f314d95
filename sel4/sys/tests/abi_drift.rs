//! Compares every number and layout written by hand in sel4-sys, and the
//! kernel facts in sel4-config, with the seL4 kernel actually built.
//!
//! Runs when `SEL4_SRC` names the kernel source; the build directory is
//! `QSOE_KERNEL_BUILD`, or `build/kernel-debug` in the workspace. Instead of parsing
//! C enums and macros, the test lets the RISC-V C compiler evaluate each
//! expression against the real headers and reads the results back out of
//! the object file, so conditional enumerators and computed values come out
//! exactly as the kernel sees them.

use ::object::{Object, ObjectSection, ObjectSymbol};
use sel4_config::{kernel, platform};
use sel4_sys::*;
use serde_json::Value;
use std::{
    collections::BTreeMap,
    env,
    fmt::{Display, Write as _},
    fs,
    mem::{align_of, offset_of, size_of},
    path::{Path, PathBuf},
    process::Command,
};

/// One value both the kernel headers and sel4-sys define.
struct Check {
    /// The Rust expression, for the report.
    ours: &'static str,
    /// A C constant expression over libsel4's headers.
    c: &'static str,
    value: i128,
    /// Preprocessor condition under which the kernel defines `c`.
    only_if: Option<&'static str>,
}

macro_rules! only_if {
    () => {
        None
    };
    ($cond:literal) => {
        Some($cond)
    };
}

/// `"C expression" => rust_value [, if "C condition"];`
macro_rules! checks {
    ($($c:literal => $ours:expr $(, if $cond:literal)?;)*) => {
        vec![$(Check {
            ours: stringify!($ours),
            c: $c,
            value: $ours as i128,
            only_if: only_if!($($cond)?),
        }),*]
    };
}

fn checks() -> Vec<Check> {
    checks! {
        // System call numbers; the debug ones exist only in debug kernels.
        "seL4_SysCall" => sys::CALL;
        "seL4_SysReplyRecv" => sys::REPLY_RECV;
        "seL4_SysNBSendRecv" => sys::NB_SEND_RECV;
        "seL4_SysNBSendWait" => sys::NB_SEND_WAIT;
        "seL4_SysSend" => sys::SEND;
        "seL4_SysNBSend" => sys::NB_SEND;
        "seL4_SysRecv" => sys::RECV;
        "seL4_SysNBRecv" => sys::NB_RECV;
        "seL4_SysWait" => sys::WAIT;
        "seL4_SysNBWait" => sys::NB_WAIT;
        "seL4_SysYield" => sys::YIELD;
        "seL4_SysDebugPutChar" => sys::DEBUG_PUT_CHAR, if "defined(CONFIG_PRINTING)";
        "seL4_SysDebugDumpScheduler" => sys::DEBUG_DUMP_SCHEDULER, if "defined(CONFIG_PRINTING)";
        "seL4_SysDebugHalt" => sys::DEBUG_HALT, if "defined(CONFIG_DEBUG_BUILD)";
        "seL4_SysDebugCapIdentify" => sys::DEBUG_CAP_IDENTIFY, if "defined(CONFIG_DEBUG_BUILD)";
        "seL4_SysDebugSnapshot" => sys::DEBUG_SNAPSHOT, if "defined(CONFIG_DEBUG_BUILD)";
        "seL4_SysDebugNameThread" => sys::DEBUG_NAME_THREAD, if "defined(CONFIG_DEBUG_BUILD)";
        "seL4_SysDebugSendIPI" => sys::DEBUG_SEND_IPI,
            if "defined(CONFIG_DEBUG_BUILD) && defined(CONFIG_ENABLE_SMP_SUPPORT)";
        "seL4_SysDebugGetThreadAffinity" => sys::DEBUG_GET_THREAD_AFFINITY,
            if "defined(CONFIG_DEBUG_BUILD) && defined(CONFIG_ENABLE_SMP_SUPPORT)";

        // Invocation labels.
        "UntypedRetype" => label::UNTYPED_RETYPE;
        "TCBReadRegisters" => label::TCB_READ_REGISTERS;
        "TCBWriteRegisters" => label::TCB_WRITE_REGISTERS;
        "TCBCopyRegisters" => label::TCB_COPY_REGISTERS;
        "TCBConfigure" => label::TCB_CONFIGURE;
        "TCBSetPriority" => label::TCB_SET_PRIORITY;
        "TCBSetMCPriority" => label::TCB_SET_MC_PRIORITY;
        "TCBSetSchedParams" => label::TCB_SET_SCHED_PARAMS;
        "TCBSetTimeoutEndpoint" => label::TCB_SET_TIMEOUT_ENDPOINT;
        "TCBSetIPCBuffer" => label::TCB_SET_IPC_BUFFER;
        "TCBSetSpace" => label::TCB_SET_SPACE;
        "TCBSuspend" => label::TCB_SUSPEND;
        "TCBResume" => label::TCB_RESUME;
        "TCBBindNotification" => label::TCB_BIND_NOTIFICATION;
        "TCBUnbindNotification" => label::TCB_UNBIND_NOTIFICATION;
        "TCBSetTLSBase" => label::TCB_SET_TLS_BASE;
        "TCBSetFlags" => label::TCB_SET_FLAGS;
        "CNodeRevoke" => label::CNODE_REVOKE;
        "CNodeDelete" => label::CNODE_DELETE;
        "CNodeCancelBadgedSends" => label::CNODE_CANCEL_BADGED_SENDS;
        "CNodeCopy" => label::CNODE_COPY;
        "CNodeMint" => label::CNODE_MINT;
        "CNodeMove" => label::CNODE_MOVE;
        "CNodeMutate" => label::CNODE_MUTATE;
        "CNodeRotate" => label::CNODE_ROTATE;
        "IRQIssueIRQHandler" => label::IRQ_ISSUE_IRQ_HANDLER;
        "IRQAckIRQ" => label::IRQ_ACK_IRQ;
        "IRQSetIRQHandler" => label::IRQ_SET_IRQ_HANDLER;
        "IRQClearIRQHandler" => label::IRQ_CLEAR_IRQ_HANDLER;
        "DomainSetSet" => label::DOMAIN_SET_SET;
        "SchedControlConfigureFlags" => label::SCHED_CONTROL_CONFIGURE_FLAGS;
        "SchedContextBind" => label::SCHED_CONTEXT_BIND;
        "SchedContextUnbind" => label::SCHED_CONTEXT_UNBIND;
        "SchedContextUnbindObject" => label::SCHED_CONTEXT_UNBIND_OBJECT;
        "SchedContextConsumed" => label::SCHED_CONTEXT_CONSUMED;
        "SchedContextYieldTo" => label::SCHED_CONTEXT_YIELD_TO;
        "RISCVPageTableMap" => label::RISCV_PAGE_TABLE_MAP;
        "RISCVPageTableUnmap" => label::RISCV_PAGE_TABLE_UNMAP;
        "RISCVPageMap" => label::RISCV_PAGE_MAP;
        "RISCVPageUnmap" => label::RISCV_PAGE_UNMAP;
        "RISCVPageGetAddress" => label::RISCV_PAGE_GET_ADDRESS;
        "RISCVASIDControlMakePool" => label::RISCV_ASID_CONTROL_MAKE_POOL;
        "RISCVASIDPoolAssign" => label::RISCV_ASID_POOL_ASSIGN;
        "RISCVIRQIssueIRQHandlerTrigger" => label::RISCV_IRQ_ISSUE_IRQ_HANDLER_TRIGGER;

        // Object types.
        "seL4_UntypedObject" => object::UNTYPED;
        "seL4_TCBObject" => object::TCB;
        "seL4_EndpointObject" => object::ENDPOINT;
        "seL4_NotificationObject" => object::NOTIFICATION;
        "seL4_CapTableObject" => object::CNODE;
        "seL4_SchedContextObject" => object::SCHED_CONTEXT;
        "seL4_ReplyObject" => object::REPLY;
        "seL4_RISCV_Giga_Page" => object::GIGA_PAGE;
        "seL4_RISCV_4K_Page" => object::PAGE_4K;
        "seL4_RISCV_Mega_Page" => object::MEGA_PAGE;
        "seL4_RISCV_PageTableObject" => object::PAGE_TABLE;

        // Object sizes.
        "seL4_WordSizeBits" => size_bits::WORD;
        "seL4_SlotBits" => size_bits::SLOT;
        "seL4_TCBBits" => size_bits::TCB;
        "seL4_EndpointBits" => size_bits::ENDPOINT;
        "seL4_NotificationBits" => size_bits::NOTIFICATION;
        "seL4_ReplyBits" => size_bits::REPLY;
        "seL4_MinSchedContextBits" => size_bits::MIN_SCHED_CONTEXT;
        "seL4_PageBits" => size_bits::PAGE;
        "seL4_LargePageBits" => size_bits::LARGE_PAGE;
        "seL4_HugePageBits" => size_bits::HUGE_PAGE;
        "seL4_PageTableBits" => size_bits::PAGE_TABLE;
        "seL4_PageTableIndexBits" => size_bits::PAGE_TABLE_INDEX;
        "seL4_IPCBufferSizeBits" => size_bits::IPC_BUFFER;
        "seL4_MinUntypedBits" => size_bits::MIN_UNTYPED;
        "seL4_MaxUntypedBits" => size_bits::MAX_UNTYPED;
        "seL4_ASIDPoolBits" => size_bits::ASID_POOL;
        "seL4_BootInfoFrameSize" => BOOTINFO_FRAME_SIZE;
        "seL4_GuardSizeBits" => GUARD_SIZE_BITS;

        // Errors.
        "seL4_NoError" => error::NO_ERROR;
        "seL4_InvalidArgument" => error::INVALID_ARGUMENT;
        "seL4_InvalidCapability" => error::INVALID_CAPABILITY;
        "seL4_IllegalOperation" => error::ILLEGAL_OPERATION;
        "seL4_RangeError" => error::RANGE_ERROR;
        "seL4_AlignmentError" => error::ALIGNMENT_ERROR;
        "seL4_FailedLookup" => error::FAILED_LOOKUP;
        "seL4_TruncatedMessage" => error::TRUNCATED_MESSAGE;
        "seL4_DeleteFirst" => error::DELETE_FIRST;
        "seL4_RevokeFirst" => error::REVOKE_FIRST;
        "seL4_NotEnoughMemory" => error::NOT_ENOUGH_MEMORY;

        // Initial capabilities.
        "seL4_CapNull" => init_cap::NULL;
        "seL4_CapInitThreadTCB" => init_cap::TCB;
        "seL4_CapInitThreadCNode" => init_cap::CNODE;
        "seL4_CapInitThreadVSpace" => init_cap::VSPACE;
        "seL4_CapIRQControl" => init_cap::IRQ_CONTROL;
        "seL4_CapASIDControl" => init_cap::ASID_CONTROL;
        "seL4_CapInitThreadASIDPool" => init_cap::ASID_POOL;
        "seL4_CapBootInfoFrame" => init_cap::BOOTINFO_FRAME;
        "seL4_CapInitThreadIPCBuffer" => init_cap::IPC_BUFFER;
        "seL4_CapDomain" => init_cap::DOMAIN;
        "seL4_CapInitThreadSC" => init_cap::SCHED_CONTEXT;
        "seL4_NumInitialCaps" => init_cap::NUM_INITIAL_CAPS;

        // Rights, packed by the kernel's generated constructor.
        "seL4_CapRights_new(0, 0, 0, 1).words[0]" => CapRights::WRITE.0;
        "seL4_CapRights_new(0, 0, 1, 0).words[0]" => CapRights::READ.0;
        "seL4_CapRights_new(0, 1, 0, 0).words[0]" => CapRights::GRANT.0;
        "seL4_CapRights_new(1, 0, 0, 0).words[0]" => CapRights::GRANT_REPLY.0;
        "seL4_CapRights_new(0, 0, 0, 0).words[0]" => CapRights::NONE.0;
        "seL4_ReadWrite.words[0]" => CapRights::READ_WRITE.0;
        "seL4_AllRights.words[0]" => CapRights::ALL.0;

        // Faults and their message registers.
        "seL4_Fault_NullFault" => fault::NULL_FAULT;
        "seL4_Fault_CapFault" => fault::CAP_FAULT;
        "seL4_Fault_UnknownSyscall" => fault::UNKNOWN_SYSCALL;
        "seL4_Fault_UserException" => fault::USER_EXCEPTION;
        "seL4_Fault_Timeout" => fault::TIMEOUT;
        "seL4_Fault_VMFault" => fault::VM_FAULT;
        "seL4_CapFault_IP" => fault::CAP_FAULT_IP;
        "seL4_CapFault_Addr" => fault::CAP_FAULT_ADDR;
        "seL4_VMFault_IP" => fault::VM_FAULT_IP;
        "seL4_VMFault_Addr" => fault::VM_FAULT_ADDR;
        "seL4_VMFault_PrefetchFault" => fault::VM_FAULT_PREFETCH;
        "seL4_VMFault_FSR" => fault::VM_FAULT_FSR;
        "seL4_UserException_FaultIP" => fault::USER_EXCEPTION_FAULT_IP;
        "seL4_UserException_SP" => fault::USER_EXCEPTION_SP;
        "seL4_UserException_Number" => fault::USER_EXCEPTION_NUMBER;
        "seL4_UserException_Code" => fault::USER_EXCEPTION_CODE;
        "seL4_UnknownSyscall_FaultIP" => fault::UNKNOWN_SYSCALL_FAULT_IP;
        "seL4_UnknownSyscall_SP" => fault::UNKNOWN_SYSCALL_SP;
        "seL4_UnknownSyscall_RA" => fault::UNKNOWN_SYSCALL_RA;
        "seL4_UnknownSyscall_A0" => fault::UNKNOWN_SYSCALL_A0;
        "seL4_UnknownSyscall_A6" => fault::UNKNOWN_SYSCALL_A6;
        "seL4_UnknownSyscall_Syscall" => fault::UNKNOWN_SYSCALL_SYSCALL;
        "seL4_UnknownSyscall_Length" => fault::UNKNOWN_SYSCALL_LENGTH;

        // Flags and attributes.
        "seL4_RISCV_Default_VMAttributes" => vm_attributes::DEFAULT;
        "seL4_RISCV_ExecuteNever" => vm_attributes::EXECUTE_NEVER;
        "seL4_TCBFlag_fpuDisabled" => tcb_flag::FPU_DISABLED;
        "seL4_SchedContext_Sporadic" => sched_context_flag::SPORADIC;

        // Message tags and limits.
        "seL4_MsgLengthBits" => MessageInfo::LENGTH_BITS;
        "seL4_MsgExtraCapBits" => MessageInfo::EXTRA_CAPS_BITS;
        "seL4_MessageInfo_new(1, 0, 0, 0).words[0]" => MessageInfo::new(1, 0, 0, 0).0;
        "seL4_MessageInfo_new(0x12345, 5, 2, 9).words[0]" => MessageInfo::new(0x12345, 5, 2, 9).0;
        "seL4_MessageInfo_new(0xfffffffffffffull, 7, 3, 127).words[0]" =>
            MessageInfo::new(0xf_ffff_ffff_ffff, 7, 3, 127).0;
        "seL4_MsgMaxLength" => MSG_MAX_LENGTH;
        "seL4_MsgMaxExtraCaps" => MSG_MAX_EXTRA_CAPS;

        // BootInfo and its parts.
        "sizeof(seL4_BootInfo)" => size_of::<BootInfo>();
        "OFF(seL4_BootInfo, extraLen)" => offset_of!(BootInfo, extra_len);
        "OFF(seL4_BootInfo, nodeID)" => offset_of!(BootInfo, node_id);
        "OFF(seL4_BootInfo, numNodes)" => offset_of!(BootInfo, num_nodes);
        "OFF(seL4_BootInfo, numIOPTLevels)" => offset_of!(BootInfo, num_io_pt_levels);
        "OFF(seL4_BootInfo, ipcBuffer)" => offset_of!(BootInfo, ipc_buffer);
        "OFF(seL4_BootInfo, empty)" => offset_of!(BootInfo, empty);
        "OFF(seL4_BootInfo, sharedFrames)" => offset_of!(BootInfo, shared_frames);
        "OFF(seL4_BootInfo, userImageFrames)" => offset_of!(BootInfo, user_image_frames);
        "OFF(seL4_BootInfo, userImagePaging)" => offset_of!(BootInfo, user_image_paging);
        "OFF(seL4_BootInfo, ioSpaceCaps)" => offset_of!(BootInfo, io_space_caps);
        "OFF(seL4_BootInfo, extraBIPages)" => offset_of!(BootInfo, extra_bi_pages);
        "OFF(seL4_BootInfo, initThreadCNodeSizeBits)" =>
            offset_of!(BootInfo, init_thread_cnode_size_bits);
        "OFF(seL4_BootInfo, initThreadDomain)" => offset_of!(BootInfo, init_thread_domain);
        "OFF(seL4_BootInfo, schedcontrol)" => offset_of!(BootInfo, sched_control);
        "OFF(seL4_BootInfo, untyped)" => offset_of!(BootInfo, untyped);
        "OFF(seL4_BootInfo, untypedList)" => offset_of!(BootInfo, untyped_list);
        "sizeof(seL4_UntypedDesc)" => size_of::<UntypedDesc>();
        "OFF(seL4_UntypedDesc, paddr)" => offset_of!(UntypedDesc, paddr);
        "OFF(seL4_UntypedDesc, sizeBits)" => offset_of!(UntypedDesc, size_bits);
        "OFF(seL4_UntypedDesc, isDevice)" => offset_of!(UntypedDesc, is_device);
        "OFF(seL4_UntypedDesc, padding)" => offset_of!(UntypedDesc, padding);
        "sizeof(seL4_SlotRegion)" => size_of::<SlotRegion>();
        "OFF(seL4_SlotRegion, start)" => offset_of!(SlotRegion, start);
        "OFF(seL4_SlotRegion, end)" => offset_of!(SlotRegion, end);
        "sizeof(seL4_BootInfoHeader)" => size_of::<BootInfoHeader>();
        "OFF(seL4_BootInfoHeader, id)" => offset_of!(BootInfoHeader, id);
        "OFF(seL4_BootInfoHeader, len)" => offset_of!(BootInfoHeader, len);
        "SEL4_BOOTINFO_HEADER_FDT" => BOOTINFO_HEADER_FDT;

        // The IPC buffer.
        "sizeof(seL4_IPCBuffer)" => size_of::<IpcBuffer>();
        "_Alignof(seL4_IPCBuffer)" => align_of::<IpcBuffer>();
        "OFF(seL4_IPCBuffer, tag)" => offset_of!(IpcBuffer, tag);
        "OFF(seL4_IPCBuffer, msg)" => offset_of!(IpcBuffer, msg);
        "OFF(seL4_IPCBuffer, userData)" => offset_of!(IpcBuffer, user_data);
        "OFF(seL4_IPCBuffer, caps_or_badges)" => offset_of!(IpcBuffer, caps_or_badges);
        "OFF(seL4_IPCBuffer, receiveCNode)" => offset_of!(IpcBuffer, receive_cnode);
        "OFF(seL4_IPCBuffer, receiveIndex)" => offset_of!(IpcBuffer, receive_index);
        "OFF(seL4_IPCBuffer, receiveDepth)" => offset_of!(IpcBuffer, receive_depth);

        // Register order of TCB_ReadRegisters / TCB_WriteRegisters.
        "sizeof(seL4_UserContext)" => size_of::<UserContext>();
        "OFF(seL4_UserContext, pc)" => offset_of!(UserContext, pc);
        "OFF(seL4_UserContext, ra)" => offset_of!(UserContext, ra);
        "OFF(seL4_UserContext, sp)" => offset_of!(UserContext, sp);
        "OFF(seL4_UserContext, gp)" => offset_of!(UserContext, gp);
        "OFF(seL4_UserContext, s0)" => offset_of!(UserContext, s);
        "OFF(seL4_UserContext, s11)" => offset_of!(UserContext, s) + 11 * size_of::<Word>();
        "OFF(seL4_UserContext, a0)" => offset_of!(UserContext, a);
        "OFF(seL4_UserContext, a7)" => offset_of!(UserContext, a) + 7 * size_of::<Word>();
        "OFF(seL4_UserContext, t0)" => offset_of!(UserContext, t);
        "OFF(seL4_UserContext, t6)" => offset_of!(UserContext, t) + 6 * size_of::<Word>();
        "OFF(seL4_UserContext, tp)" => offset_of!(UserContext, tp);
    }
}

/// `"kernel tag" => rust_value;`, as (tag, our name, our value).
macro_rules! cap_types {
    ($($tag:literal => $ours:expr;)*) => {
        [$(($tag, stringify!($ours), $ours)),*]
    };
}

/// The kernel's internal capability tags, which `DebugCapIdentify` returns.
const CAP_TYPES: [(&str, &str, Word); 17] = cap_types! {
    "cap_null_cap" => cap_type::NULL;
    "cap_frame_cap" => cap_type::FRAME;
    "cap_untyped_cap" => cap_type::UNTYPED;
    "cap_page_table_cap" => cap_type::PAGE_TABLE;
    "cap_endpoint_cap" => cap_type::ENDPOINT;
    "cap_notification_cap" => cap_type::NOTIFICATION;
    "cap_reply_cap" => cap_type::REPLY;
    "cap_cnode_cap" => cap_type::CNODE;
    "cap_asid_control_cap" => cap_type::ASID_CONTROL;
    "cap_thread_cap" => cap_type::THREAD;
    "cap_asid_pool_cap" => cap_type::ASID_POOL;
    "cap_irq_control_cap" => cap_type::IRQ_CONTROL;
    "cap_irq_handler_cap" => cap_type::IRQ_HANDLER;
    "cap_zombie_cap" => cap_type::ZOMBIE;
    "cap_domain_cap" => cap_type::DOMAIN;
    "cap_sched_context_cap" => cap_type::SCHED_CONTEXT;
    "cap_sched_control_cap" => cap_type::SCHED_CONTROL;
};

/// How a Rust configuration value is spelled in `gen_config.json`.
trait ConfigValue {
    fn json(&self) -> Value;
}

impl ConfigValue for usize {
    fn json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl ConfigValue for bool {
    fn json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ConfigValue for &str {
    fn json(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// `"JSON key" => rust_value;`, as (key, our name, our value).
macro_rules! config_checks {
    ($($key:literal => $ours:expr;)*) => {
        [$(($key, stringify!($ours), $ours.json())),*]
    };
}

/// Kernel configuration values our code relies on.
fn config_checks() -> [(&'static str, &'static str, Value); 15] {
    config_checks! {
        "KERNEL_MCS" => kernel::KERNEL_MCS;
        "MAX_NUM_NODES" => kernel::MAX_NUM_NODES;
        "MAX_NUM_BOOTINFO_UNTYPED_CAPS" => kernel::MAX_NUM_BOOTINFO_UNTYPED_CAPS;
        "ROOT_CNODE_SIZE_BITS" => kernel::ROOT_CNODE_SIZE_BITS;
        "RETYPE_FAN_OUT_LIMIT" => kernel::RETYPE_FAN_OUT_LIMIT;
        "NUM_PRIORITIES" => kernel::NUM_PRIORITIES;
        "PT_LEVELS" => kernel::PT_LEVELS;
        "TIMER_FREQUENCY" => kernel::TIMER_FREQUENCY;
        "FIRST_HART_ID" => kernel::FIRST_HART_ID;
        "PLAT" => platform::PLATFORM;
        "SEL4_ARCH" => platform::SEL4_ARCH;
        "DEBUG_BUILD" => platform::KERNEL_DEBUG;
        "PRINTING" => platform::KERNEL_DEBUG;
        "KERNEL_MCS" => platform::MCS;
        "MAX_NUM_NODES" => platform::HARTS;
    }
}

/// Tally of the comparisons.
#[derive(Default)]
struct Report {
    passed: usize,
    mismatches: Vec<String>,
    skipped: Vec<String>,
}

impl Report {
    fn compare(
        &mut self,
        what: impl Display,
        kernel: impl Display,
        ours: impl Display,
        same: bool,
    ) {
        if same {
            self.passed += 1;
        } else {
            self.mismatches
                .push(format!("{what}: kernel says {kernel}, we say {ours}"));
        }
    }
}

#[test]
fn sel4_sys_matches_the_kernel() {
    let Some(src) = env::var_os("SEL4_SRC").map(PathBuf::from) else {
        println!("abi_drift: skipped, SEL4_SRC is not set (no kernel source to compare with)");
        return;
    };
    let build = env::var_os("QSOE_KERNEL_BUILD")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("build/kernel-debug"));
    assert!(
        src.join("libsel4/include/sel4/sel4.h").is_file(),
        "SEL4_SRC={} does not look like the seL4 source (no libsel4/include/sel4/sel4.h)",
        src.display()
    );
    let gen_config = build.join("gen_config/kernel/gen_config.json");
    let structures = build.join("generated/arch/object/structures_gen.h");
    for needed in [
        &gen_config,
        &structures,
        &build.join("libsel4/include/sel4/shared_types_gen.h"),
    ] {
        assert!(
            needed.is_file(),
            "SEL4_SRC is set but no kernel build at {} ({} is missing); run `make kernel`",
            build.display(),
            needed.display()
        );
    }

    let mut report = Report::default();
    compare_config(&gen_config, &mut report);
    compare_cap_types(&structures, &mut report);
    compare_message_registers(&src, &mut report);
    compare_headers(&src, &build, &mut report);

    if !report.skipped.is_empty() {
        println!(
            "abi_drift: not in this kernel configuration, so not compared: {}",
            report.skipped.join(", ")
        );
    }
    assert!(
        report.mismatches.is_empty(),
        "sel4-sys has drifted from the kernel at {} ({} of {} checks differ):\n  {}",
        build.display(),
        report.mismatches.len(),
        report.mismatches.len() + report.passed,
        report.mismatches.join("\n  ")
    );
    println!(
        "abi_drift: all {} checks match the kernel at {}",
        report.passed,
        build.display()
    );
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
}

fn compare_config(path: &Path, report: &mut Report) {
    let text = fs::read_to_string(path).unwrap();
    let config: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
    for (key, ours, value) in config_checks() {
        let kernel = config.get(key);
        report.compare(
            format_args!("{ours} ({key})"),
            kernel.map_or("nothing".into(), Value::to_string),
            &value,
            kernel == Some(&value),
        );
    }
}

fn compare_cap_types(path: &Path, report: &mut Report) {
    let tags: BTreeMap<String, u64> = enumerators(path)
        .into_iter()
        .filter(|(name, _)| name.starts_with("cap_") && name.ends_with("_cap"))
        .collect();
    assert!(
        !tags.is_empty(),
        "no cap_*_cap tags found in {}",
        path.display()
    );
    for (tag, name, ours) in CAP_TYPES {
        let kernel = tags.get(tag);
        report.compare(
            format_args!("{name} ({tag})"),
            kernel.map_or("nothing".into(), u64::to_string),
            ours,
            kernel == Some(&ours),
        );
    }
    for (tag, value) in &tags {
        if !CAP_TYPES.iter().any(|&(ours, _, _)| ours == tag) {
            report.compare(format_args!("cap_type ({tag})"), value, "nothing", false);
        }
    }
}

/// The kernel passes this many message registers in machine registers;
/// libsel4 has no name for it on RISC-V, so it comes from the kernel source.
fn compare_message_registers(src: &Path, report: &mut Report) {
    let path = src.join("include/arch/riscv/arch/machine/registerset.h");
    let kernel = enumerators(&path).get("n_msgRegisters").copied();
    let kernel = kernel.unwrap_or_else(|| panic!("no n_msgRegisters in {}", path.display()));
    report.compare(
        "FAST_MESSAGE_REGISTERS (n_msgRegisters)",
        kernel,
        FAST_MESSAGE_REGISTERS,
        kernel == FAST_MESSAGE_REGISTERS as u64,
    );
}

/// `name = number` enumerators of a header that cannot be included next to
/// libsel4; a line scan suffices because these enums are plain lists.
fn enumerators(path: &Path) -> BTreeMap<String, u64> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.trim().trim_end_matches(',').split_once('=')?;
            let name = name.trim();
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Evaluates every [`Check`] with the RISC-V C compiler and compares.
fn compare_headers(src: &Path, build: &Path, report: &mut Report) {
    let checks = checks();
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("abi_drift-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let c_file = dir.join("checks.c");
    let o_file = dir.join("checks.o");
    fs::write(&c_file, c_source(&checks)).unwrap();

    let includes = [
        src.join("libsel4/include"),
        src.join("libsel4/arch_include/riscv"),
        src.join("libsel4/sel4_arch_include/riscv64"),
        src.join("libsel4/sel4_plat_include/qemu-riscv-virt"),
        src.join("libsel4/mode_include/64"),
        build.join("libsel4/include"),
        build.join("libsel4/arch_include/riscv"),
        build.join("libsel4/sel4_arch_include/riscv64"),
        build.join("libsel4/autoconf"),
        build.join("libsel4/gen_config"),
        build.join("gen_config"),
        build.join("autoconf"),
    ];
    // Optimisation lets the compiler fold libsel4's inline packing
    // functions into constants.
    let output = Command::new("riscv64-linux-gnu-gcc")
        .args([
            "-c",
            "-O2",
            "-march=rv64imafdc_zicsr_zifencei",
            "-mabi=lp64d",
        ])
        .args([
            "-ffreestanding",
            "-nostdinc",
            "-std=gnu11",
            "-D__KERNEL_64__",
        ])
        .args(includes.iter().map(|dir| format!("-I{}", dir.display())))
        .arg(&c_file)
        .arg("-o")
        .arg(&o_file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run riscv64-linux-gnu-gcc: {e}"));
    assert!(
        output.status.success(),
        "the kernel headers reject our checks ({}):\n{}",
        c_file.display(),
        String::from_utf8_lossy(&output.stderr)
    );

    let words = check_words(&fs::read(&o_file).unwrap());
    for (i, check) in checks.iter().enumerate() {
        let what = format_args!("{} ({})", check.ours, check.c);
        match words.get(&i) {
            Some(&word) => {
                // Negative values (system call numbers) read back as words.
                let kernel = if check.value < 0 {
                    word as i64 as i128
                } else {
                    word as i128
                };
                report.compare(what, kernel, check.value, kernel == check.value);
            }
            None if check.only_if.is_some() => report.skipped.push(check.c.to_string()),
            None => report.compare(what, "nothing", check.value, false),
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// A C file that stores each check's value as an 8-byte word under the
/// symbol `qsoe_check_<index>`. The "i" operand makes the compiler insist
/// that the value is a compile-time constant.
fn c_source(checks: &[Check]) -> String {
    let mut c = String::from(concat!(
        "#include <sel4/sel4.h>\n",
        "#define OFF(type, field) __builtin_offsetof(type, field)\n",
        "#define CHECK(i, expr) __asm__ volatile(\".pushsection .qsoe_checks, \\\"a\\\"\\n\"",
        " \".balign 8\\n.globl qsoe_check_\" #i \"\\nqsoe_check_\" #i \":\\n.quad %0\\n\"",
        " \".popsection\" :: \"i\"((unsigned long long)(expr)))\n",
        "__attribute__((used)) void qsoe_checks(void) {\n",
    ));
    for (i, check) in checks.iter().enumerate() {
        if let Some(cond) = check.only_if {
            writeln!(c, "#if {cond}").unwrap();
        }
        writeln!(c, "    CHECK({i}, {}); /* {} */", check.c, check.ours).unwrap();
        if check.only_if.is_some() {
            c.push_str("#endif\n");
        }
    }
    c.push_str("}\n");
    c
}

/// The little-endian word behind each `qsoe_check_<index>` symbol.
fn check_words(elf: &[u8]) -> BTreeMap<usize, u64> {
    let file = ::object::File::parse(elf).expect("the compiler's output is not an object file");
    file.symbols()
        .filter_map(|symbol| {
            let index = symbol
                .name()
                .ok()?
                .strip_prefix("qsoe_check_")?
                .parse()
                .ok()?;
            let section = file.section_by_index(symbol.section_index()?).ok()?;
            let at = (symbol.address() - section.address()) as usize;
            let bytes = section.data().ok()?.get(at..at + 8)?;
            Some((index, u64::from_le_bytes(bytes.try_into().unwrap())))
        })
        .collect()
}
