use sel4_sys::{error, InvocationError, Word};

/// Why the kernel refused an invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    InvalidArgument {
        which: Word,
    },
    InvalidCapability {
        which: Word,
    },
    IllegalOperation,
    RangeError {
        min: Word,
        max: Word,
    },
    AlignmentError,
    FailedLookup {
        source_is_send_cap: bool,
    },
    TruncatedMessage,
    DeleteFirst,
    RevokeFirst,
    /// The untyped has this many bytes left.
    NotEnoughMemory {
        bytes_left: Word,
    },
    Unknown(Word),
}

impl From<InvocationError> for Error {
    fn from(e: InvocationError) -> Self {
        let [mr0, mr1, ..] = e.mrs;
        match e.code {
            error::INVALID_ARGUMENT => Self::InvalidArgument { which: mr0 },
            error::INVALID_CAPABILITY => Self::InvalidCapability { which: mr0 },
            error::ILLEGAL_OPERATION => Self::IllegalOperation,
            error::RANGE_ERROR => Self::RangeError { min: mr0, max: mr1 },
            error::ALIGNMENT_ERROR => Self::AlignmentError,
            error::FAILED_LOOKUP => Self::FailedLookup {
                source_is_send_cap: mr0 != 0,
            },
            error::TRUNCATED_MESSAGE => Self::TruncatedMessage,
            error::DELETE_FIRST => Self::DeleteFirst,
            error::REVOKE_FIRST => Self::RevokeFirst,
            error::NOT_ENOUGH_MEMORY => Self::NotEnoughMemory { bytes_left: mr0 },
            other => Self::Unknown(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_enough_memory_reports_what_is_left() {
        let e = InvocationError {
            code: error::NOT_ENOUGH_MEMORY,
            mrs: [4096, 0, 0, 0],
        };
        assert_eq!(Error::from(e), Error::NotEnoughMemory { bytes_left: 4096 });
    }
}
