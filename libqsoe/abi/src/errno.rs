//! Error numbers, with QNX Neutrino's values.

/// An error number as QNX defines it (`errno.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub u32);

pub const EPERM: Errno = Errno(1);
pub const ENOENT: Errno = Errno(2);
pub const ESRCH: Errno = Errno(3);
pub const EINTR: Errno = Errno(4);
pub const EIO: Errno = Errno(5);
pub const E2BIG: Errno = Errno(7);
pub const ENOEXEC: Errno = Errno(8);
pub const EBADF: Errno = Errno(9);
pub const ECHILD: Errno = Errno(10);
pub const EAGAIN: Errno = Errno(11);
pub const ENOMEM: Errno = Errno(12);
pub const EFAULT: Errno = Errno(14);
pub const EBUSY: Errno = Errno(16);
pub const EINVAL: Errno = Errno(22);
pub const EDEADLK: Errno = Errno(45);
pub const ENOTSUP: Errno = Errno(48);
pub const ENOSYS: Errno = Errno(89);
/// The server died or faulted before it replied.
pub const ESRVRFAULT: Errno = Errno(312);

impl Errno {
    /// The symbolic name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ESRCH => "ESRCH",
            EINTR => "EINTR",
            EIO => "EIO",
            E2BIG => "E2BIG",
            ENOEXEC => "ENOEXEC",
            EBADF => "EBADF",
            ECHILD => "ECHILD",
            EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM",
            EFAULT => "EFAULT",
            EBUSY => "EBUSY",
            EINVAL => "EINVAL",
            EDEADLK => "EDEADLK",
            ENOTSUP => "ENOTSUP",
            ENOSYS => "ENOSYS",
            ESRVRFAULT => "ESRVRFAULT",
            _ => "E?",
        }
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}
