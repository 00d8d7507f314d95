use sel4_sys::{BootInfo, IpcBuffer, ThreadControl};

/// Stack of the initial thread.
const MAIN_STACK_SIZE: usize = 256 * 1024;

#[repr(C, align(16))]
struct Stack([u8; MAIN_STACK_SIZE]);

#[no_mangle]
static mut __sel4_root_task_stack: Stack = Stack([0; MAIN_STACK_SIZE]);

/// A thread-control block with `tp` pointing just past it, as
/// [`sel4_sys::thread_control`] expects. Threads the program starts itself
/// get one each.
#[repr(C, align(16))]
pub struct ThreadLocalBlock {
    pub control: ThreadControl,
}

impl ThreadLocalBlock {
    pub const fn new(ipc_buffer: *mut IpcBuffer, user: u64) -> Self {
        Self {
            control: ThreadControl { ipc_buffer, user },
        }
    }

    /// The value for the thread's `tp` register.
    pub fn thread_pointer(&self) -> usize {
        (&self.control as *const ThreadControl as usize) + core::mem::size_of::<ThreadControl>()
    }
}

static mut MAIN_THREAD: ThreadLocalBlock = ThreadLocalBlock::new(core::ptr::null_mut(), 0);

core::arch::global_asm!(
    ".section .text._start",
    ".global _start",
    "_start:",
    "    la sp, {stack}",
    "    li t0, {size}",
    "    add sp, sp, t0",
    "    call {entry}",
    "1:  j 1b",
    stack = sym __sel4_root_task_stack,
    size = const MAIN_STACK_SIZE,
    entry = sym rust_entry,
);

extern "Rust" {
    fn __sel4_root_task_main(bootinfo: &'static BootInfo) -> !;
}

unsafe extern "C" fn rust_entry(bootinfo: *const BootInfo) -> ! {
    let bootinfo = &*bootinfo;
    let main_thread = &mut *core::ptr::addr_of_mut!(MAIN_THREAD);
    main_thread.control.ipc_buffer = bootinfo.ipc_buffer;
    let tp = main_thread.thread_pointer();
    core::arch::asm!("mv tp, {}", in(reg) tp);
    crate::heap::init();
    __sel4_root_task_main(bootinfo)
}

/// Names the program's entry: `fn(&'static BootInfo) -> !`.
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[no_mangle]
        fn __sel4_root_task_main(bootinfo: &'static $crate::__BootInfo) -> ! {
            $main(bootinfo)
        }
    };
}

#[doc(hidden)]
pub use sel4_sys::BootInfo as __BootInfo;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::println!("rootserver {}", info);
    crate::Console::flush_to_kernel();
    halt()
}

/// Stops the rootserver for good: a debug kernel halts the machine; a
/// release kernel has no such call, so the thread suspends itself.
pub fn halt() -> ! {
    if sel4_config::platform::KERNEL_DEBUG {
        sel4_sys::debug_halt()
    }
    loop {
        let _ = sel4_sys::invocations::tcb_suspend(sel4_sys::init_cap::TCB).call();
    }
}
