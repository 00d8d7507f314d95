//! What delivering a QNX `struct sigevent` means, decided before anything
//! is done: `MsgDeliverEvent` now, timers and interrupts later, all
//! deliver through this.

use qsoe_abi::errno::{Errno, EINVAL, ENOTSUP};
use qsoe_abi::event::{notify, SigEvent};

/// What an event asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// `SIGEV_NONE`: nothing.
    Nothing,
    /// `SIGEV_PULSE`: a pulse on the target's connection `coid`.
    Pulse { coid: i32, code: i8, value: u64 },
}

/// Reads `event`: `EINVAL` for a type QNX does not have, or a pulse code
/// outside a pulse's range; `ENOTSUP` for a type this system cannot
/// deliver yet (signals, `SIGEV_INTR`, `SIGEV_THREAD`, `SIGEV_MEMORY`),
/// and for `SIGEV_UNBLOCK`, which only a timeout (`TimerTimeout`) means.
pub fn plan(event: &SigEvent) -> Result<Delivery, Errno> {
    match event.kind() {
        notify::SIGEV_NONE => Ok(Delivery::Nothing),
        notify::SIGEV_PULSE => Ok(Delivery::Pulse {
            coid: event.coid,
            code: event.pulse_code()?,
            value: if event.notify & notify::SIGEV_FLAG_SIVAL_INT != 0 {
                event.value as u32 as u64
            } else {
                event.value
            },
        }),
        notify::SIGEV_SIGNAL
        | notify::SIGEV_SIGNAL_CODE
        | notify::SIGEV_SIGNAL_THREAD
        | notify::SIGEV_UNBLOCK
        | notify::SIGEV_INTR
        | notify::SIGEV_THREAD
        | notify::SIGEV_MEMORY => Err(ENOTSUP),
        _ => Err(EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulses_and_nothing_are_delivered_the_rest_refused() {
        let e = SigEvent::pulse(6, -1, 4, 1 << 36);
        assert_eq!(
            plan(&e),
            Ok(Delivery::Pulse {
                coid: 6,
                code: 4,
                value: 1 << 36
            })
        );
        let int = SigEvent {
            notify: e.notify | notify::SIGEV_FLAG_SIVAL_INT,
            value: u64::MAX,
            ..e
        };
        assert!(matches!(
            plan(&int),
            Ok(Delivery::Pulse {
                value: 0xffff_ffff,
                ..
            })
        ));
        let none = SigEvent::default();
        assert_eq!(plan(&none), Ok(Delivery::Nothing));
        let signal = SigEvent {
            notify: notify::SIGEV_64BIT | notify::SIGEV_SIGNAL,
            ..none
        };
        assert_eq!(plan(&signal), Err(ENOTSUP));
        let unknown = SigEvent {
            notify: notify::SIGEV_64BIT | 0x33,
            ..none
        };
        assert_eq!(plan(&unknown), Err(EINVAL));
        let wide = SigEvent { code: 300, ..e };
        assert_eq!(plan(&wide), Err(EINVAL));
        // The 32-bit layout's pulse (no SIGEV_64BIT) is a pulse too.
        let narrow = SigEvent { notify: 4, ..e };
        assert!(matches!(plan(&narrow), Ok(Delivery::Pulse { .. })));
    }
}
