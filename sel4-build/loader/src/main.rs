//! The boot loader. OpenSBI starts it in S-mode on whichever hart won the
//! boot lottery, with the hart id in `a0` and the device tree in `a1`. It
//! copies seL4 and taskman to their physical homes, maps the kernel's
//! window, starts every other hart through SBI HSM and enters the kernel on
//! all of them with the arguments `init_kernel` expects.
#![no_std]
#![no_main]

mod payload {
    include!(concat!(env!("OUT_DIR"), "/payload.rs"));
}
mod heap;
mod sbi;

use core::sync::atomic::{AtomicUsize, Ordering};
use object::elf::PT_LOAD;
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object};
use qsoe_loader::{
    place_user_image, root_table, satp_sv39, secondary_cores, Segment, PAGE, PT_ENTRIES,
};
use sel4_config::platform::{HARTS, MEMORY_BYTES};

/// Bytes are included with this alignment so ELF headers parse in place.
#[repr(C, align(4096))]
pub struct Aligned<B: ?Sized>(pub B);

const STACK_SHIFT: usize = 14;
const STACK_SIZE: usize = 1 << STACK_SHIFT;
const RAM_START: u64 = 0x8000_0000;

#[repr(C, align(16))]
struct Stacks([[u8; STACK_SIZE]; HARTS]);
#[no_mangle]
static mut LOADER_STACKS: Stacks = Stacks([[0; STACK_SIZE]; HARTS]);

#[repr(C, align(4096))]
struct PageTable([u64; PT_ENTRIES]);
static mut ROOT_TABLE: PageTable = PageTable([0; PT_ENTRIES]);

/// What every hart passes to `init_kernel`; written by the boot hart
/// before it starts the others.
#[derive(Clone, Copy)]
struct KernelEntry {
    args: [u64; 6],
    entry: u64,
    satp: u64,
}
static mut KERNEL_ENTRY: KernelEntry = KernelEntry {
    args: [0; 6],
    entry: 0,
    satp: 0,
};
/// Secondary harts that have reached the kernel's door.
static SECONDARIES_READY: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    static __loader_start: u8;
    static mut __bss_start: u8;
    static __bss_end: u8;
}

core::arch::global_asm!(
    ".section .text.entry",
    ".global _start",
    "_start:",
    "    csrw sie, zero",
    "    la sp, {stacks}",
    "    li t0, {stack_size}",
    "    add sp, sp, t0",
    "    call {boot}",
    ".global secondary_start",
    "secondary_start:",
    "    csrw sie, zero",
    "    la sp, {stacks}",
    "    addi t0, a1, 1",
    "    slli t0, t0, {stack_shift}",
    "    add sp, sp, t0",
    "    call {secondary}",
    stacks = sym LOADER_STACKS,
    stack_size = const STACK_SIZE,
    stack_shift = const STACK_SHIFT,
    boot = sym boot_hart_main,
    secondary = sym secondary_hart_main,
);

extern "C" {
    fn secondary_start();
}

macro_rules! say {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!(sbi::Console, $($arg)*);
    }};
}

fn fail(why: core::fmt::Arguments) -> ! {
    say!("loader: {}", why);
    sbi::shutdown()
}

fn segments<'a>(
    elf: &'a ElfFile64<'a, Endianness>,
) -> impl Iterator<Item = (Segment, &'a [u8])> + 'a {
    let endian = elf.endian();
    elf.elf_program_headers()
        .iter()
        .filter(move |ph| ph.p_type(endian) == PT_LOAD)
        .map(move |ph| {
            let seg = Segment {
                vaddr: ph.p_vaddr(endian),
                paddr: ph.p_paddr(endian),
                file_size: ph.p_filesz(endian),
                mem_size: ph.p_memsz(endian),
            };
            (seg, ph.data(endian, elf.data()).unwrap_or(&[]))
        })
}

/// Copies a segment's file bytes to `dest` and zeroes the rest of it.
///
/// # Safety
/// `dest` must be free physical memory of `seg.mem_size` bytes.
unsafe fn load(dest: u64, seg: &Segment, bytes: &[u8]) {
    let dest = dest as *mut u8;
    core::ptr::copy_nonoverlapping(bytes.as_ptr(), dest, bytes.len());
    core::ptr::write_bytes(
        dest.add(bytes.len()),
        0,
        (seg.mem_size as usize).saturating_sub(bytes.len()),
    );
}

fn parse(name: &str, bytes: &'static [u8]) -> ElfFile64<'static, Endianness> {
    if bytes.is_empty() {
        fail(format_args!(
            "this image carries no {name}; build it with `make image`"
        ));
    }
    ElfFile64::parse(bytes)
        .unwrap_or_else(|e| fail(format_args!("{name} is not a 64-bit ELF: {e}")))
}

extern "C" fn boot_hart_main(hart_id: u64, dtb: u64) -> ! {
    unsafe {
        let bss = core::ptr::addr_of_mut!(__bss_start);
        let len = core::ptr::addr_of!(__bss_end) as usize - bss as usize;
        // The stacks live in .bss too; ours is in use, so zero around it.
        let stacks = core::ptr::addr_of!(LOADER_STACKS) as usize;
        core::ptr::write_bytes(bss, 0, stacks - bss as usize);
        let after = stacks + core::mem::size_of::<Stacks>();
        core::ptr::write_bytes(after as *mut u8, 0, bss as usize + len - after);
    }
    say!("loader: hart {hart_id} booting seL4 on {HARTS} harts");

    // SAFETY: OpenSBI hands over a valid device tree.
    let fdt = unsafe { fdt::Fdt::from_ptr(dtb as *const u8) }
        .unwrap_or_else(|e| fail(format_args!("bad device tree at {dtb:#x}: {e:?}")));
    let dtb_size = fdt.total_size() as u64;
    let harts = fdt.cpus().map(|c| c.ids().first() as u64);
    if fdt.cpus().count() < HARTS {
        fail(format_args!(
            "the board has {} harts, the kernel is built for {HARTS}",
            fdt.cpus().count()
        ));
    }

    let kernel = parse("kernel", &payload::KERNEL.0);
    let rootserver = parse("rootserver", &payload::ROOTSERVER.0);

    let mut kernel_end = 0;
    let mut kernel_window = None;
    for (seg, bytes) in segments(&kernel) {
        // SAFETY: the kernel is linked to load low in RAM, below the loader.
        unsafe { load(seg.paddr, &seg, bytes) };
        kernel_end = kernel_end.max(seg.paddr + seg.mem_size);
        kernel_window.get_or_insert((seg.vaddr, seg.paddr));
    }
    let (kernel_vaddr, kernel_paddr) =
        kernel_window.unwrap_or_else(|| fail(format_args!("kernel has no segments")));

    let mut user_segments = [Segment {
        vaddr: 0,
        paddr: 0,
        file_size: 0,
        mem_size: 0,
    }; 16];
    let mut count = 0;
    for (seg, _) in segments(&rootserver).take(user_segments.len()) {
        user_segments[count] = seg;
        count += 1;
    }
    // The kernel expects its own image, then the device tree, then the
    // rootserver, in that order in memory: copy the device tree down to
    // just after the kernel.
    let dtb_copy = kernel_end.next_multiple_of(PAGE);
    // SAFETY: the device tree is `dtb_size` bytes; the copy goes to free
    // memory below the loader, and OpenSBI's copy stays where it was.
    unsafe { core::ptr::copy(dtb as *const u8, dtb_copy as *mut u8, dtb_size as usize) };
    let loader_start = core::ptr::addr_of!(__loader_start) as u64;
    let image = place_user_image(
        &user_segments[..count],
        rootserver.entry(),
        dtb_copy + dtb_size,
        loader_start,
    )
    .unwrap_or_else(|e| fail(format_args!("cannot place the rootserver: {e:?}")));
    for (seg, bytes) in segments(&rootserver) {
        // SAFETY: `place_user_image` checked the range is free.
        unsafe { load(image.phys_of(seg.vaddr), &seg, bytes) };
    }
    say!(
        "loader: kernel {kernel_paddr:#x}..{kernel_end:#x}, dtb {dtb_copy:#x} ({dtb_size} bytes), rootserver {:#x}..{:#x}",
        image.phys_start,
        image.phys_end
    );

    let table = root_table(
        RAM_START,
        RAM_START + MEMORY_BYTES as u64,
        kernel_vaddr,
        kernel_paddr,
    )
    .unwrap_or_else(|e| fail(format_args!("cannot map the kernel: {e:?}")));
    let entry = unsafe {
        let root = &mut *core::ptr::addr_of_mut!(ROOT_TABLE);
        root.0 = table;
        let entry = KernelEntry {
            args: [
                image.phys_start,
                image.phys_end,
                image.pv_offset,
                image.virt_entry,
                dtb_copy,
                dtb_size,
            ],
            entry: kernel.entry(),
            satp: satp_sv39(root as *const PageTable as u64),
        };
        KERNEL_ENTRY = entry;
        entry
    };

    let mut started = 0;
    for (hart, core) in secondary_cores(harts, hart_id, HARTS) {
        if let Err(e) = sbi::hart_start(hart, secondary_start as *const () as u64, core as u64) {
            fail(format_args!("SBI could not start hart {hart}: error {e}"));
        }
        started += 1;
    }
    while SECONDARIES_READY.load(Ordering::Acquire) < started {
        core::hint::spin_loop();
    }
    say!(
        "loader: {} harts up, entering seL4 at {:#x}",
        started + 1,
        entry.entry
    );
    enter_kernel(&entry, hart_id, 0)
}

extern "C" fn secondary_hart_main(hart_id: u64, core_id: u64) -> ! {
    // SAFETY: written before this hart was started.
    let entry = unsafe { *core::ptr::addr_of!(KERNEL_ENTRY) };
    SECONDARIES_READY.fetch_add(1, Ordering::Release);
    enter_kernel(&entry, hart_id, core_id)
}

/// Turns on paging and jumps to the kernel with `a0..a5` from `entry`,
/// the hart id in `a6` and the core id in `a7`.
fn enter_kernel(entry: &KernelEntry, hart_id: u64, core_id: u64) -> ! {
    let [a0, a1, a2, a3, a4, a5] = entry.args;
    unsafe {
        core::arch::asm!(
            "csrw satp, {satp}",
            "sfence.vma",
            "fence.i",
            "jr {entry}",
            satp = in(reg) entry.satp,
            entry = in(reg) entry.entry,
            in("a0") a0, in("a1") a1, in("a2") a2, in("a3") a3,
            in("a4") a4, in("a5") a5, in("a6") hart_id, in("a7") core_id,
            options(noreturn),
        )
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    say!("loader {info}");
    sbi::shutdown()
}
