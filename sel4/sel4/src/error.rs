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

/// The kernel's own encoding of an error, for passing one on in a message.
impl From<Error> for InvocationError {
    fn from(e: Error) -> Self {
        let (code, mr0, mr1) = match e {
            Error::InvalidArgument { which } => (error::INVALID_ARGUMENT, which, 0),
            Error::InvalidCapability { which } => (error::INVALID_CAPABILITY, which, 0),
            Error::IllegalOperation => (error::ILLEGAL_OPERATION, 0, 0),
            Error::RangeError { min, max } => (error::RANGE_ERROR, min, max),
            Error::AlignmentError => (error::ALIGNMENT_ERROR, 0, 0),
            Error::FailedLookup { source_is_send_cap } => {
                (error::FAILED_LOOKUP, source_is_send_cap as Word, 0)
            }
            Error::TruncatedMessage => (error::TRUNCATED_MESSAGE, 0, 0),
            Error::DeleteFirst => (error::DELETE_FIRST, 0, 0),
            Error::RevokeFirst => (error::REVOKE_FIRST, 0, 0),
            Error::NotEnoughMemory { bytes_left } => (error::NOT_ENOUGH_MEMORY, bytes_left, 0),
            Error::Unknown(code) => (code, 0, 0),
        };
        InvocationError {
            code,
            mrs: [mr0, mr1, 0, 0],
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

    #[test]
    fn every_error_survives_the_kernel_encoding() {
        let all = [
            Error::InvalidArgument { which: 3 },
            Error::InvalidCapability { which: 1 },
            Error::IllegalOperation,
            Error::RangeError { min: 2, max: 9 },
            Error::AlignmentError,
            Error::FailedLookup {
                source_is_send_cap: true,
            },
            Error::TruncatedMessage,
            Error::DeleteFirst,
            Error::RevokeFirst,
            Error::NotEnoughMemory { bytes_left: 77 },
            Error::Unknown(99),
        ];
        for e in all {
            assert_eq!(Error::from(InvocationError::from(e)), e);
        }
    }
}
