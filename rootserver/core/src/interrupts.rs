//! Interrupts attached by processes (`InterruptAttachEvent`): which
//! process hears each one, with what event, and whether it is masked.
//!
//! QNX's semantics: an attached interrupt that fires is masked and its
//! event delivered; it stays masked until the process calls
//! `InterruptUnmask`. Each attachment has a slot of its own, which names
//! the notification badge bit taskman's handler cap signals with, so the
//! table is small and fixed.

use qsoe_abi::errno::{Errno, EAGAIN, EBUSY, EINVAL};
use qsoe_abi::event::SigEvent;
use qsoe_abi::Pid;

/// Interrupts attached at once in the whole system.
pub const SLOTS: usize = 12;

/// One attachment; `H` is how taskman holds the kernel's side of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment<H> {
    pub owner: Pid,
    pub irq: u32,
    pub event: SigEvent,
    /// Fired and not yet unmasked.
    pub masked: bool,
    pub held: H,
}

/// Every attachment, by slot (the id `InterruptAttachEvent` answers).
#[derive(Clone, Debug)]
pub struct Interrupts<H> {
    slots: [Option<Attachment<H>>; SLOTS],
}

impl<H> Default for Interrupts<H> {
    fn default() -> Self {
        Self {
            slots: core::array::from_fn(|_| None),
        }
    }
}

impl<H> Interrupts<H> {
    /// The slot an attachment of `irq` would take: `EBUSY` if someone has
    /// it attached, `EAGAIN` if every slot is taken.
    pub fn check_attach(&self, irq: u32) -> Result<usize, Errno> {
        if self.slots.iter().flatten().any(|a| a.irq == irq) {
            return Err(EBUSY);
        }
        self.slots.iter().position(Option::is_none).ok_or(EAGAIN)
    }

    /// Records an attachment in the slot `check_attach` answered.
    pub fn attach(&mut self, slot: usize, attachment: Attachment<H>) {
        self.slots[slot] = Some(attachment);
    }

    /// `owner`'s attachment `id` (`EINVAL` if it is not one).
    pub fn owned(&mut self, owner: Pid, id: i32) -> Result<&mut Attachment<H>, Errno> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.slots.get_mut(i)?.as_mut())
            .filter(|a| a.owner == owner)
            .ok_or(EINVAL)
    }

    /// Takes `owner`'s attachment `id` out of the table.
    pub fn detach(&mut self, owner: Pid, id: i32) -> Result<Attachment<H>, Errno> {
        self.owned(owner, id)?;
        Ok(self.slots[id as usize].take().expect("checked"))
    }

    /// Takes every attachment of `owner` out.
    pub fn detach_all(&mut self, owner: Pid) -> impl Iterator<Item = Attachment<H>> + '_ {
        self.slots
            .iter_mut()
            .filter(move |s| s.as_ref().is_some_and(|a| a.owner == owner))
            .filter_map(Option::take)
    }

    /// The attachments whose slots `bits` names, now masked; an empty
    /// slot (detached since it fired) is skipped.
    pub fn fired(&mut self, bits: u64) -> impl Iterator<Item = &Attachment<H>> + '_ {
        self.slots
            .iter_mut()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .filter_map(|(_, s)| s.as_mut())
            .map(|a| {
                a.masked = true;
                &*a
            })
    }

    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(owner: Pid, irq: u32) -> Attachment<()> {
        Attachment {
            owner,
            irq,
            event: SigEvent::default(),
            masked: false,
            held: (),
        }
    }

    #[test]
    fn an_irq_is_attached_once_and_only_its_owner_touches_it() {
        let mut t = Interrupts::default();
        let s = t.check_attach(10).unwrap();
        t.attach(s, at(5, 10));
        assert_eq!(t.check_attach(10), Err(EBUSY));
        assert_eq!(t.owned(6, s as i32).map(|a| a.irq), Err(EINVAL));
        assert_eq!(t.owned(5, -1).map(|a| a.irq), Err(EINVAL));
        assert_eq!(t.owned(5, SLOTS as i32).map(|a| a.irq), Err(EINVAL));
        assert_eq!(t.detach(6, s as i32).map(|a| a.irq), Err(EINVAL));
        assert_eq!(t.detach(5, s as i32).map(|a| a.irq), Ok(10));
        assert!(t.is_empty());
    }

    #[test]
    fn firing_masks_and_the_table_fills() {
        let mut t = Interrupts::default();
        for irq in 0..SLOTS as u32 {
            let s = t.check_attach(irq).unwrap();
            t.attach(s, at(if irq < 3 { 1 } else { 2 }, irq));
        }
        assert_eq!(t.check_attach(99), Err(EAGAIN));
        let fired: alloc::vec::Vec<u32> = t.fired(0b101).map(|a| a.irq).collect();
        assert_eq!(fired, [0, 2]);
        assert!(t.owned(1, 0).unwrap().masked && !t.owned(1, 1).unwrap().masked);
        assert_eq!(t.detach_all(1).count(), 3);
        assert_eq!(t.len(), SLOTS - 3);
        assert_eq!(t.fired(0b111).count(), 0);
    }
}
