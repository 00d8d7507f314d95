use crate::Word;

/// The message tag that travels in `a1`: label, caps unwrapped, extra caps
/// and length packed into one word.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MessageInfo(pub Word);

impl MessageInfo {
    pub const LENGTH_BITS: u32 = 7;
    pub const EXTRA_CAPS_BITS: u32 = 2;
    pub const CAPS_UNWRAPPED_BITS: u32 = 3;
    const EXTRA_CAPS_SHIFT: u32 = Self::LENGTH_BITS;
    const CAPS_UNWRAPPED_SHIFT: u32 = Self::EXTRA_CAPS_SHIFT + Self::EXTRA_CAPS_BITS;
    const LABEL_SHIFT: u32 = Self::CAPS_UNWRAPPED_SHIFT + Self::CAPS_UNWRAPPED_BITS;

    /// Packs a tag; fields wider than their bit ranges are truncated as the
    /// kernel would.
    pub const fn new(label: Word, caps_unwrapped: Word, extra_caps: Word, length: Word) -> Self {
        Self(
            (label << Self::LABEL_SHIFT)
                | ((caps_unwrapped & mask(Self::CAPS_UNWRAPPED_BITS))
                    << Self::CAPS_UNWRAPPED_SHIFT)
                | ((extra_caps & mask(Self::EXTRA_CAPS_BITS)) << Self::EXTRA_CAPS_SHIFT)
                | (length & mask(Self::LENGTH_BITS)),
        )
    }

    pub const fn label(self) -> Word {
        self.0 >> Self::LABEL_SHIFT
    }

    pub const fn caps_unwrapped(self) -> Word {
        (self.0 >> Self::CAPS_UNWRAPPED_SHIFT) & mask(Self::CAPS_UNWRAPPED_BITS)
    }

    pub const fn extra_caps(self) -> Word {
        (self.0 >> Self::EXTRA_CAPS_SHIFT) & mask(Self::EXTRA_CAPS_BITS)
    }

    pub const fn length(self) -> Word {
        self.0 & mask(Self::LENGTH_BITS)
    }
}

const fn mask(bits: u32) -> Word {
    (1 << bits) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let info = MessageInfo::new(0xabcde, 5, 3, 120);
        assert_eq!(info.label(), 0xabcde);
        assert_eq!(info.caps_unwrapped(), 5);
        assert_eq!(info.extra_caps(), 3);
        assert_eq!(info.length(), 120);
    }

    #[test]
    fn overwide_fields_are_truncated_not_spilled() {
        let info = MessageInfo::new(1, 0, 4, 128);
        assert_eq!(info.extra_caps(), 0);
        assert_eq!(info.length(), 0);
        assert_eq!(info.label(), 1);
    }
}
