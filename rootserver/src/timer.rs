//! Time: QNX timers, `nanosleep` and receive timeouts, all deadlines in
//! one table (`taskman_core::timers`), woken by the board's real-time
//! clock.
//!
//! The clock is QEMU virt's goldfish RTC (`google,goldfish-rtc`): it
//! counts nanoseconds of wall-clock time, which gives `CLOCK_REALTIME`
//! its offset at boot, and it has one alarm. Taskman keeps the alarm set
//! for the table's earliest deadline; its interrupt signals a notification
//! bound to taskman's own thread, so the request loop's receive returns
//! with `ALARM_BADGE` and taskman fires what is due (`alarm`). Nothing
//! polls: a sleeping thread is a reply object set aside, a timer is a
//! table entry.
//!
//! Deadlines are `CLOCK_MONOTONIC` (the `time` counter, `clock`); the
//! alarm is set in the RTC's own time as "now plus what is left", so the
//! two clocks never need to agree beyond their rate.

use crate::calls::{Parked, Via};
use crate::{clock, device, event, interrupt, Taskman};
use alloc::vec::Vec;
use qsoe_abi::errno::{Errno, EINVAL, ENOTSUP, ESRCH};
use qsoe_abi::event::SigEvent;
use qsoe_abi::time::{CLOCK_MONOTONIC, CLOCK_REALTIME, TIMER_ABSTIME};
use qsoe_abi::Pid;
use sel4::{Error, IrqControl, IrqHandler, Notification};
use sel4_root_task::println;
use sel4_sys::{init_cap, CapRights, Word};
use taskman_core::events;
use taskman_core::timers::{Action, Fired, Timer, TimerId, Timers};

/// The badge of the alarm's notification, bound to taskman's thread: no
/// endpoint badge taskman mints has bit 60 (`TaskmanBadge`, `SWEEP_BADGE`),
/// nor does an interrupt's (`interrupt::BADGES`).
pub const ALARM_BADGE: Word = 1 << 60;

/// Goldfish RTC registers (32 bits each). Reading `TIME_LOW` latches the
/// high half for `TIME_HIGH`; writing `ALARM_LOW` sets the alarm (high
/// half first), and one already past rings at once.
mod reg {
    pub const TIME_LOW: usize = 0x00;
    pub const TIME_HIGH: usize = 0x04;
    pub const ALARM_LOW: usize = 0x08;
    pub const ALARM_HIGH: usize = 0x0c;
    pub const IRQ_ENABLED: usize = 0x10;
    pub const CLEAR_ALARM: usize = 0x14;
    pub const CLEAR_INTERRUPT: usize = 0x1c;
}

/// The RTC, mapped, and its interrupt's handler.
struct Rtc {
    regs: usize,
    handler: IrqHandler,
}

impl Rtc {
    fn write(&self, r: usize, value: u32) {
        // SAFETY: `regs` maps the RTC's register page for good.
        unsafe { core::ptr::write_volatile((self.regs + r) as *mut u32, value) }
    }

    fn read(&self, r: usize) -> u32 {
        // SAFETY: as for `write`.
        unsafe { core::ptr::read_volatile((self.regs + r) as *const u32) }
    }

    fn now_ns(&self) -> u64 {
        let low = self.read(reg::TIME_LOW) as u64;
        (self.read(reg::TIME_HIGH) as u64) << 32 | low
    }

    fn alarm_in(&self, ns: u64) {
        let at = self.now_ns().saturating_add(ns);
        self.write(reg::ALARM_HIGH, (at >> 32) as u32);
        self.write(reg::ALARM_LOW, at as u32);
    }
}

/// The timer table and the clock behind it.
#[derive(Default)]
pub struct TimerService {
    rtc: Option<Rtc>,
    pub table: Timers<Parked>,
    /// `CLOCK_REALTIME` minus `CLOCK_MONOTONIC`, in nanoseconds.
    pub realtime_offset: i64,
    /// The deadline the alarm is set for.
    armed: Option<u64>,
}

/// Finds the RTC, reads the wall-clock time and routes its interrupt to
/// taskman. Without it timers still work as a table, but nothing wakes
/// them: taskman says so.
pub fn start(tm: &mut Taskman) {
    if let Some(hz) = tm.boot.timebase_hz() {
        clock::set_timebase(hz);
    }
    match attach_rtc(tm) {
        Ok(rtc) => {
            let offset = rtc.now_ns() as i64 - clock::monotonic_ns() as i64;
            tm.timers.realtime_offset = offset;
            tm.timers.rtc = Some(rtc);
        }
        Err(e) => println!("taskman: no real-time clock for timers ({e:?})"),
    }
}

fn attach_rtc(tm: &mut Taskman) -> Result<Rtc, Error> {
    const RTC: [&str; 1] = ["google,goldfish-rtc"];
    let missing = Error::InvalidArgument { which: 0 };
    let paddr = tm.boot.device_address(&RTC).ok_or(missing)?;
    let irq = tm.boot.device_irq(&RTC).ok_or(missing)?;
    let page = paddr & !0xfff;
    let frame = device::keep_frame(tm, page)?;
    let vaddr = tm
        .window
        .map(&mut tm.objects, frame, CapRights::READ_WRITE)?;
    let badged = interrupt::badged_notification(tm, ALARM_BADGE)?;
    let handler = tm.objects.alloc_slot()?;
    IrqControl(init_cap::IRQ_CONTROL).get(irq, tm.objects.slot(handler))?;
    let handler = IrqHandler(handler);
    handler.set_notification(Notification(badged))?;
    let rtc = Rtc {
        regs: (vaddr + (paddr - page)) as usize,
        handler,
    };
    rtc.write(reg::CLEAR_ALARM, 1);
    rtc.write(reg::CLEAR_INTERRUPT, 1);
    rtc.write(reg::IRQ_ENABLED, 1);
    handler.ack()?;
    Ok(rtc)
}

/// The alarm rang: fire what is due and set it for what is next.
pub fn alarm(tm: &mut Taskman) {
    if let Some(rtc) = &tm.timers.rtc {
        rtc.write(reg::CLEAR_INTERRUPT, 1);
        if let Err(e) = rtc.handler.ack() {
            println!("taskman: cannot acknowledge the RTC interrupt: {e:?}");
        }
    }
    tm.timers.armed = None;
    let fired = tm.timers.table.expire(clock::monotonic_ns());
    for f in fired {
        fire(tm, f);
    }
    reprogram(tm);
}

fn fire(tm: &mut Taskman, f: Fired<Parked>) {
    match f.action {
        // A pulse whose connection has gone is dropped, as QNX drops it.
        Action::Event(e) => {
            let _ = event::deliver(tm, f.owner, &e);
        }
        Action::Wake { tid } => ring(tm, f.owner, tid),
        Action::Sleep { parked, .. } => answer(tm, parked),
        Action::CutCall { tid, pc } => crate::call_timeout::cut(tm, f.owner, tid, pc),
    }
}

fn ring(tm: &Taskman, pid: Pid, tid: i32) {
    if let Some(signal) = tm
        .processes
        .get(pid)
        .and_then(|p| p.thread_wake_signal(tid))
    {
        Notification(signal).signal();
    }
}

/// Answers a sleeper and keeps its reply object for reuse.
fn answer(tm: &mut Taskman, parked: Parked) {
    parked.via.answer(parked.reply, Ok(&[]));
    tm.replies.push(parked.reply);
}

/// Sets the alarm for the earliest deadline, if it is not set for it.
fn reprogram(tm: &mut Taskman) {
    let next = tm.timers.table.next_deadline();
    if next == tm.timers.armed {
        return;
    }
    tm.timers.armed = next;
    let Some(rtc) = &tm.timers.rtc else {
        return;
    };
    match next {
        Some(d) => rtc.alarm_in(d.saturating_sub(clock::monotonic_ns())),
        None => rtc.write(reg::CLEAR_ALARM, 1),
    }
}

/// `CLOCK_INFO`: the counter's frequency and the realtime offset.
pub fn info(tm: &Taskman) -> Vec<Word> {
    alloc::vec![clock::timebase_hz(), tm.timers.realtime_offset as u64]
}

/// `TimerCreate(clock, event)`: only events a timer can deliver (a pulse,
/// or nothing).
pub fn create(tm: &mut Taskman, pid: Pid, clock_id: u32, event: SigEvent) -> Result<i32, Errno> {
    if clock_id != CLOCK_REALTIME && clock_id != CLOCK_MONOTONIC {
        return Err(EINVAL);
    }
    events::plan(&event)?;
    let realtime = clock_id == CLOCK_REALTIME;
    let id = tm.timers.table.create(pid, Action::Event(event))?;
    if realtime {
        tm.timers.table.set_realtime(id, pid);
    }
    Ok(id.encode())
}

/// `TimerSettime(id, flags, value, interval)`: `value` 0 disarms; else it
/// is from now, or with `TIMER_ABSTIME` a time of the timer's clock.
/// Answers what was left of the old setting, from now, and its interval.
pub fn settime(
    tm: &mut Taskman,
    pid: Pid,
    id: i32,
    flags: u32,
    value: u64,
    interval: u64,
) -> Result<Vec<Word>, Errno> {
    let id = TimerId::decode(id).ok_or(EINVAL)?;
    let timer = tm.timers.table.get(id, pid).ok_or(EINVAL)?;
    if !matches!(timer.action, Action::Event(_)) {
        return Err(EINVAL);
    }
    let now = clock::monotonic_ns();
    let deadline = match (value, flags & TIMER_ABSTIME != 0) {
        (0, _) => None,
        (v, false) => Some(now.saturating_add(v)),
        (v, true) if tm.timers.table.is_realtime(id, pid) => {
            Some((v as i64).saturating_sub(tm.timers.realtime_offset).max(0) as u64)
        }
        (v, true) => Some(v),
    };
    let (old, old_interval) = tm.timers.table.set(id, pid, deadline, interval)?;
    reprogram(tm);
    let left = old.map_or(0, |d| d.saturating_sub(now).max(1));
    Ok(alloc::vec![left, old_interval])
}

/// `TimerDestroy`, of a timer or a receive timeout. A sleeper's entry is
/// not the process's to destroy (its reply object holds the sleeping
/// thread): `EINVAL`, as for an id it does not have.
pub fn destroy(tm: &mut Taskman, pid: Pid, id: i32) -> Result<(), Errno> {
    let id = TimerId::decode(id).ok_or(EINVAL)?;
    let timer = tm.timers.table.get(id, pid).ok_or(EINVAL)?;
    if matches!(timer.action, Action::Sleep { .. }) {
        return Err(EINVAL);
    }
    tm.timers.table.remove(id, pid);
    reprogram(tm);
    Ok(())
}

/// A receive timeout for thread `tid`: its wake notification rings at
/// `deadline`. Answers the entry's id.
pub fn wake_at(tm: &mut Taskman, pid: Pid, tid: i32, deadline: u64) -> Result<i32, Errno> {
    let p = tm.processes.get(pid).ok_or(ESRCH)?;
    if p.thread_wake_signal(tid).is_none() {
        return Err(ESRCH);
    }
    let id = tm.timers.table.create(pid, Action::Wake { tid })?;
    tm.timers.table.set(id, pid, Some(deadline), 0)?;
    reprogram(tm);
    Ok(id.encode())
}

/// A call timeout for thread `tid`: its `Call` at `pc` is cut short at
/// `deadline` (`call_timeout`). Answers the entry's id.
pub fn cut_call_at(
    tm: &mut Taskman,
    pid: Pid,
    tid: i32,
    deadline: u64,
    pc: u64,
) -> Result<i32, Errno> {
    if tm
        .processes
        .get(pid)
        .and_then(|p| p.thread_tcb(tid))
        .is_none()
    {
        return Err(ESRCH);
    }
    let id = tm.timers.table.create(pid, Action::CutCall { tid, pc })?;
    tm.timers.table.set(id, pid, Some(deadline), 0)?;
    reprogram(tm);
    Ok(id.encode())
}

/// The calling thread sleeps until `deadline`: its reply object is set
/// aside (`None`: the loop goes on with a spare) or, if the deadline has
/// passed, it is answered at once (`Some`).
pub fn sleep(
    tm: &mut Taskman,
    pid: Pid,
    tid: i32,
    via: Via,
    deadline: u64,
) -> Result<Option<()>, Errno> {
    if tm.timers.rtc.is_none() {
        return Err(ENOTSUP);
    }
    if deadline <= clock::monotonic_ns() {
        return Ok(Some(()));
    }
    let fresh = crate::replies::spare(tm)?;
    let parked = Parked {
        reply: tm.reply,
        via,
    };
    let id = match tm.timers.table.create(pid, Action::Sleep { tid, parked }) {
        Ok(id) => id,
        Err(e) => {
            tm.replies.push(fresh);
            return Err(e);
        }
    };
    // The entry was just made for this owner: setting it cannot fail.
    let _ = tm.timers.table.set(id, pid, Some(deadline), 0);
    tm.reply = fresh;
    reprogram(tm);
    Ok(None)
}

/// A process ended: its timers go, its sleepers' reply objects come back.
pub fn forget_process(tm: &mut Taskman, pid: Pid) {
    let gone = tm.timers.table.remove_owner(pid);
    give_back(tm, gone);
}

/// A process stopped: its threads' sleeps go (each is asked for again,
/// with the same deadline, when it continues).
pub fn forget_sleepers(tm: &mut Taskman, pid: Pid) {
    let gone = tm.timers.table.remove_sleepers(pid);
    give_back(tm, gone);
}

/// A thread ended: its pending receive timeouts go.
pub fn forget_thread(tm: &mut Taskman, pid: Pid, tid: i32) {
    let gone = tm.timers.table.remove_thread(pid, tid);
    give_back(tm, gone);
}

/// Keeps the reply objects of removed sleepers for reuse, and sets the
/// alarm for what is left.
fn give_back(tm: &mut Taskman, gone: Vec<Timer<Parked>>) {
    for t in gone {
        if let Action::Sleep { parked, .. } = t.action {
            tm.replies.push(parked.reply);
        }
    }
    reprogram(tm);
}
