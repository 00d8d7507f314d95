//! `devc-ser8250`: the driver of QEMU virt's ns16550a UART, and the
//! system console.
//!
//! It finds the UART in the device tree (`find_device`; the manifest
//! grants it), maps its registers, attaches its interrupt to a pulse on
//! the channel of its interrupt thread and serves `/dev/ser1` and
//! `/dev/console` (one device, one line discipline:
//! `qsoe_userland::line_discipline`). Receive and transmit are both
//! interrupt-driven: received bytes go through the line discipline, whose
//! echo and the writers' bytes wait in a transmit ring that the
//! transmitter-empty interrupt drains, 16 bytes (one FIFO) at a time.
//!
//! It claims taskman's console (`console_claim`) before it attaches its
//! paths: taskman's own lines then come to it as a pulse and are sent
//! with everyone else's, and every process spawned from then on has the
//! console as fds 0, 1 and 2 (connections that never sent `_IO_CONNECT`,
//! which this manager takes as opens of the console).
//!
//! A read waits (its reply deferred) until the line discipline has
//! something for it; `^C` sends `SIGINT` to the foreground process: the
//! one `tcsetpgrp` named, or else the latest reader still waiting.
//!
//! `SIGTERM` (init's, at shutdown) sends what waits before the driver
//! exits, so the last lines of a run are not lost.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use libqsoe::abi::event::SigEvent;
use libqsoe::abi::iomsg::{mode, Stat, IO_FLAG_RD, IO_FLAG_WR};
use libqsoe::abi::ipc::{chf, pulse_code, Pulse, PULSE_BYTES, SIDE_CHANNEL};
use libqsoe::abi::termios::{
    Termios, DCMD_CHR_TCGETATTR, DCMD_CHR_TCGETPGRP, DCMD_CHR_TCSETATTR, DCMD_CHR_TCSETPGRP,
};
use libqsoe::abi::time::Timespec;
use libqsoe::errno::{Errno, EAGAIN, EINVAL, ENOENT, ENOTTY};
use libqsoe::io::O_NONBLOCK;
use libqsoe::lock::SpinLock;
use libqsoe::mman::{
    find_device, mmap_device_memory, InterruptAttachEvent, InterruptUnmask, PROT_NOCACHE,
    PROT_READ, PROT_WRITE,
};
use libqsoe::neutrino::{ChannelCreate, ConnectAttach, MsgError, MsgReceive, MsgReply};
use libqsoe::resmgr::{Client, Dispatch, Ocb, ReadReply, ResourceManager, WriteData};
use libqsoe::signal::{kill, sigaction, SigAction, SIGINT, SIGTERM};
use libqsoe::taskman::{self, CONSOLE_TAKE_BYTES};
use libqsoe::thread::ThreadCreate;
use libqsoe::time::nanosleep;
use libqsoe::{println, Pid};
use qsoe_userland::line_discipline::{LineDiscipline, Typed};

libqsoe::main!(main);

/// Pulse codes on the driver's own channel.
const IRQ_CODE: i8 = 1;
const CONSOLE_CODE: i8 = 2;
/// Pulse priority.
const PRIORITY: i16 = 21;
/// Opens and connections the manager keeps.
const OPENS: usize = 128;
/// Registration handles.
const SER1: u32 = 1;
const CONSOLE: u32 = 2;
/// Bytes waiting to be sent.
const TX_BYTES: usize = 8192;
/// Readers waiting at once (each holds one of the process's reply
/// objects until answered).
const MAX_READERS: usize = 16;
/// The longest read answered at once.
const READ_MAX: usize = 1024;

/// ns16550a registers and bits (byte-wide, no register shift on virt).
mod reg {
    pub const RBR_THR: usize = 0;
    pub const IER: usize = 1;
    pub const FCR: usize = 2;
    pub const LCR: usize = 3;
    pub const MCR: usize = 4;
    pub const LSR: usize = 5;
    /// IER: received data available, transmitter holding register empty.
    pub const IER_RX: u8 = 0x01;
    pub const IER_TX: u8 = 0x02;
    /// FCR: FIFOs on and cleared.
    pub const FCR_ENABLE_CLEAR: u8 = 0x07;
    /// LCR: 8 data bits, no parity, one stop bit.
    pub const LCR_8N1: u8 = 0x03;
    /// MCR: DTR, RTS, and OUT2 (the interrupt line's gate on a PC).
    pub const MCR_DTR_RTS_OUT2: u8 = 0x0b;
    /// LSR: data ready, transmitter holding register empty.
    pub const LSR_DR: u8 = 0x01;
    pub const LSR_THRE: u8 = 0x20;
    /// The transmit FIFO's depth.
    pub const FIFO: usize = 16;
}

struct Uart {
    base: usize,
}

impl Uart {
    fn read(&self, r: usize) -> u8 {
        // SAFETY: the register page is mapped at `base` for good.
        unsafe { core::ptr::read_volatile((self.base + r) as *const u8) }
    }

    fn write(&self, r: usize, v: u8) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + r) as *mut u8, v) }
    }
}

/// A read that waits for input.
#[derive(Clone, Copy)]
struct Reader {
    rcvid: i32,
    wanted: usize,
    pid: Pid,
}

struct State {
    ld: LineDiscipline,
    tx: [u8; TX_BYTES],
    tx_head: usize,
    tx_len: usize,
    readers: [Option<Reader>; MAX_READERS],
    /// `tcsetpgrp`'s process; 0 for none.
    foreground: Pid,
    /// The interrupt's attachment, to unmask.
    irq: (u32, i32),
}

impl State {
    fn queue(&mut self, uart: &Uart, b: u8) {
        if self.tx_len == TX_BYTES {
            // Full: send the oldest byte now.
            while uart.read(reg::LSR) & reg::LSR_THRE == 0 {
                core::hint::spin_loop();
            }
            uart.write(reg::RBR_THR, self.tx[self.tx_head]);
            self.tx_head = (self.tx_head + 1) % TX_BYTES;
            self.tx_len -= 1;
        }
        self.tx[(self.tx_head + self.tx_len) % TX_BYTES] = b;
        self.tx_len += 1;
    }

    /// Fills the transmitter while it is empty; asks for its interrupt
    /// while bytes remain.
    fn transmit(&mut self, uart: &Uart) {
        if uart.read(reg::LSR) & reg::LSR_THRE != 0 {
            for _ in 0..reg::FIFO.min(self.tx_len) {
                uart.write(reg::RBR_THR, self.tx[self.tx_head]);
                self.tx_head = (self.tx_head + 1) % TX_BYTES;
                self.tx_len -= 1;
            }
        }
        let ier = if self.tx_len > 0 {
            reg::IER_RX | reg::IER_TX
        } else {
            reg::IER_RX
        };
        uart.write(reg::IER, ier);
    }

    /// Who `^C` signals.
    fn foreground(&self) -> Option<Pid> {
        if self.foreground > 0 && kill(self.foreground, 0).is_ok() {
            return Some(self.foreground);
        }
        self.readers.iter().rev().flatten().map(|r| r.pid).next()
    }

    /// Answers the waiting readers the line discipline has input for, in
    /// the order they came.
    fn answer_readers(&mut self) {
        let mut buf = [0u8; READ_MAX];
        for slot in self.readers.iter_mut() {
            let Some(r) = *slot else { continue };
            let Some(n) = self.ld.read(&mut buf[..r.wanted]) else {
                break;
            };
            let _ = MsgReply(r.rcvid, n as i32, &buf[..n]);
            *slot = None;
        }
        // Keep arrival order: close the gaps.
        let mut kept = [None; MAX_READERS];
        for (k, r) in kept.iter_mut().zip(self.readers.iter().flatten()) {
            *k = Some(*r);
        }
        self.readers = kept;
    }
}

struct Serial {
    uart: Uart,
    state: SpinLock<State>,
}

impl Serial {
    /// The UART interrupted: takes what it received, then refills the
    /// transmitter.
    fn interrupt(&self) {
        let mut s = self.state.lock();
        let s = &mut *s;
        while self.uart.read(reg::LSR) & reg::LSR_DR != 0 {
            let byte = self.uart.read(reg::RBR_THR);
            let mut echo = [0u8; 8];
            let mut echo_len = 0;
            let typed = s.ld.receive(byte, &mut |e: &[u8]| {
                for &b in e {
                    if echo_len < echo.len() {
                        echo[echo_len] = b;
                        echo_len += 1;
                    }
                }
            });
            for &b in &echo[..echo_len] {
                s.queue(&self.uart, b);
            }
            if typed == Typed::Interrupt {
                if let Some(pid) = s.foreground() {
                    let _ = kill(pid, SIGINT);
                }
            }
        }
        s.answer_readers();
        s.transmit(&self.uart);
        let (irq, id) = s.irq;
        let _ = InterruptUnmask(irq, id);
    }

    /// Sends every byte that waits, polling the transmitter.
    fn drain(&self) {
        let mut s = self.state.lock();
        while s.tx_len > 0 {
            while self.uart.read(reg::LSR) & reg::LSR_THRE == 0 {
                core::hint::spin_loop();
            }
            let b = s.tx[s.tx_head];
            self.uart.write(reg::RBR_THR, b);
            s.tx_head = (s.tx_head + 1) % TX_BYTES;
            s.tx_len -= 1;
        }
    }

    /// Taskman's own output waits: it goes out as it is (taskman ends its
    /// lines with a carriage return already).
    fn taskman_output(&self) {
        let mut chunk = [0u8; CONSOLE_TAKE_BYTES];
        while let Ok(n) = taskman::console_take(&mut chunk) {
            if n == 0 {
                break;
            }
            let mut s = self.state.lock();
            for &b in &chunk[..n] {
                s.queue(&self.uart, b);
            }
            s.transmit(&self.uart);
        }
    }
}

impl ResourceManager for Serial {
    /// The process that opened it.
    type Attr = Pid;

    fn open(&self, handle: u32, path: &[u8], _ioflag: u32, client: Client) -> Result<Pid, Errno> {
        match (handle, path) {
            (SER1 | CONSOLE, b"") => Ok(client.pid),
            _ => Err(ENOENT),
        }
    }

    fn implicit_open(&self, client: Client) -> Option<(Pid, u32)> {
        Some((client.pid, IO_FLAG_RD | IO_FLAG_WR))
    }

    fn read(&self, ocb: &Ocb<Pid>, reply: &mut ReadReply) -> Result<(), Errno> {
        let mut s = self.state.lock();
        let wanted = reply.wanted().min(READ_MAX);
        let mut buf = [0u8; READ_MAX];
        if let Some(n) = s.ld.read(&mut buf[..wanted]) {
            drop(s);
            reply.write(&buf[..n])?;
            return Ok(());
        }
        if ocb.ioflag & O_NONBLOCK != 0 {
            return Err(EAGAIN);
        }
        let free = s.readers.iter().position(Option::is_none).ok_or(EAGAIN)?;
        s.readers[free] = Some(Reader {
            rcvid: reply.defer(),
            wanted,
            pid: ocb.attr,
        });
        Ok(())
    }

    fn write(&self, _ocb: &Ocb<Pid>, data: &mut WriteData) -> Result<usize, Errno> {
        let mut chunk = [0u8; 256];
        let mut done = 0;
        while data.remaining() > 0 {
            let n = data.read(&mut chunk)?;
            let mut s = self.state.lock();
            let s = &mut *s;
            let mut out = [0u8; 512];
            let mut len = 0;
            s.ld.output(&chunk[..n], &mut |b| {
                out[len] = b;
                len += 1;
            });
            for &b in &out[..len] {
                s.queue(&self.uart, b);
            }
            s.transmit(&self.uart);
            done += n;
        }
        Ok(done)
    }

    fn stat(&self, _ocb: &Ocb<Pid>) -> Stat {
        Stat {
            st_mode: mode::S_IFCHR | 0o666,
            st_nlink: 1,
            ..Default::default()
        }
    }

    fn devctl(
        &self,
        _ocb: &mut Ocb<Pid>,
        dcmd: u32,
        data: &mut [u8],
    ) -> Result<(i32, usize), Errno> {
        let mut s = self.state.lock();
        match dcmd {
            DCMD_CHR_TCGETATTR => {
                let t = s.ld.termios().to_bytes();
                data.get_mut(..t.len()).ok_or(EINVAL)?.copy_from_slice(&t);
                Ok((0, t.len()))
            }
            DCMD_CHR_TCSETATTR => {
                let t = Termios::from_bytes(data).ok_or(EINVAL)?;
                s.ld.set(t);
                s.answer_readers();
                Ok((0, 0))
            }
            DCMD_CHR_TCSETPGRP => {
                let pid = i32::from_le_bytes(
                    data.get(..4)
                        .ok_or(EINVAL)?
                        .try_into()
                        .map_err(|_| EINVAL)?,
                );
                if pid < 0 {
                    return Err(EINVAL);
                }
                s.foreground = pid;
                Ok((0, 0))
            }
            DCMD_CHR_TCGETPGRP => {
                let pid = s.foreground().unwrap_or(0);
                data.get_mut(..4)
                    .ok_or(EINVAL)?
                    .copy_from_slice(&pid.to_le_bytes());
                Ok((0, 4))
            }
            _ => Err(ENOTTY),
        }
    }

    /// A waiting reader gave up (it died): it is forgotten.
    fn pulse(&self, pulse: Pulse) {
        if pulse.code != pulse_code::UNBLOCK {
            return;
        }
        let rcvid = pulse.value as i32;
        let mut s = self.state.lock();
        for slot in s.readers.iter_mut() {
            if slot.is_some_and(|r| r.rcvid == rcvid) {
                *slot = None;
                let _ = MsgError(rcvid, libqsoe::errno::EINTR);
            }
        }
        s.answer_readers();
    }
}

/// The driver, for the `SIGTERM` handler (set once, before the handler).
static SERIAL: AtomicPtr<Serial> = AtomicPtr::new(core::ptr::null_mut());

extern "C" fn terminate(_: i32) {
    let serial = SERIAL.load(Ordering::Acquire);
    if !serial.is_null() {
        // SAFETY: it points at the dispatch's manager, which lives on the
        // first thread's stack for as long as the process does.
        let serial = unsafe { &*serial };
        serial.taskman_output();
        serial.drain();
    }
    taskman::exit(0);
}

fn main() -> i32 {
    match run() {
        Ok(never) => match never {},
        Err(e) => {
            println!("devc-ser8250: {e}");
            1
        }
    }
}

fn run() -> Result<core::convert::Infallible, Errno> {
    let device = find_device("ns16550a", 0)?;
    let irq = device.irq.ok_or(EINVAL)?;
    let regs = mmap_device_memory(
        device.size as usize,
        PROT_READ | PROT_WRITE | PROT_NOCACHE,
        device.paddr,
    )?;
    let uart = Uart {
        base: regs as usize,
    };
    uart.write(reg::IER, 0);
    uart.write(reg::LCR, reg::LCR_8N1);
    uart.write(reg::FCR, reg::FCR_ENABLE_CLEAR);
    uart.write(reg::MCR, reg::MCR_DTR_RTS_OUT2);
    let serial = Serial {
        uart,
        state: SpinLock::new(State {
            ld: LineDiscipline::new(),
            tx: [0; TX_BYTES],
            tx_head: 0,
            tx_len: 0,
            readers: [None; MAX_READERS],
            foreground: 0,
            irq: (irq, 0),
        }),
    };
    let dispatch: Dispatch<Serial, OPENS> = Dispatch::new(serial)?;
    let serial = dispatch.manager();
    SERIAL.store(serial as *const Serial as *mut Serial, Ordering::Release);
    sigaction(SIGTERM, SigAction::Handler(terminate))?;
    CONSOLE_CHID.store(dispatch.chid(), Ordering::Release);
    ThreadCreate(0, interrupt_thread, 0)?;
    // The interrupt thread claims the console, then says so.
    loop {
        match READY.load(Ordering::Acquire) {
            0 => {
                let _ = nanosleep(&Timespec::from_nsec(1_000_000));
            }
            1 => break,
            e => return Err(Errno(e as u32)),
        }
    }
    dispatch.attach("/dev/ser1", 0, SER1)?;
    dispatch.attach("/dev/console", 0, CONSOLE)?;
    println!(
        "devc-ser8250: ns16550a at {:#x}, interrupt {irq}: /dev/ser1, /dev/console",
        device.paddr
    );
    dispatch.run()
}

/// The resource manager's channel, which taskman gives new processes as
/// their console.
static CONSOLE_CHID: AtomicI32 = AtomicI32::new(-1);
/// The interrupt thread's start: 0 while it sets up, 1 once the console is
/// claimed, or the errno it failed with.
static READY: AtomicI32 = AtomicI32::new(0);

/// The interrupt thread: the UART's interrupt and taskman's console pulse
/// come on a channel of its own, which nothing else can fill (the
/// resource manager's channel also takes every client's disconnect
/// notices, and a pulse that finds a queue full is lost).
extern "C" fn interrupt_thread(_: usize) -> usize {
    let serial = SERIAL.load(Ordering::Acquire);
    // SAFETY: set before this thread started, to the dispatch's manager,
    // which lives as long as the process.
    let serial = unsafe { &*serial };
    let chid = match attach_interrupt(serial) {
        Ok(chid) => chid,
        Err(e) => {
            READY.store(e.0 as i32, Ordering::Release);
            return 1;
        }
    };
    READY.store(1, Ordering::Release);
    let mut buf = [0u8; PULSE_BYTES];
    loop {
        if let Ok(0) = MsgReceive(chid, &mut buf, None) {
            match Pulse::from_bytes(&buf).code {
                IRQ_CODE => serial.interrupt(),
                CONSOLE_CODE => serial.taskman_output(),
                _ => {}
            }
        }
    }
}

/// Makes the interrupt thread's channel, attaches the UART's interrupt to
/// it and claims taskman's console; answers the channel.
fn attach_interrupt(serial: &Serial) -> Result<i32, Errno> {
    // Fixed priority: the thread keeps its own scheduling context, so an
    // interrupt never waits for a context to be lent or rung back.
    let chid = ChannelCreate(chf::FIXED_PRIORITY)?;
    let own = ConnectAttach(0, taskman::getpid(), chid, SIDE_CHANNEL, 0)?;
    let irq = serial.state.lock().irq.0;
    let id = InterruptAttachEvent(irq, &SigEvent::pulse(own, PRIORITY, IRQ_CODE, 0))?;
    serial.state.lock().irq = (irq, id);
    serial.uart.write(reg::IER, reg::IER_RX);
    InterruptUnmask(irq, id)?;
    taskman::console_claim(
        CONSOLE_CHID.load(Ordering::Acquire),
        &SigEvent::pulse(own, PRIORITY, CONSOLE_CODE, 0),
    )?;
    // What taskman printed before the claim went out itself; what it
    // prints from now on waits for the pulse.
    serial.taskman_output();
    Ok(chid)
}
