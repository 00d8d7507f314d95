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
pub const EACCES: Errno = Errno(13);
pub const EFAULT: Errno = Errno(14);
pub const EBUSY: Errno = Errno(16);
pub const EEXIST: Errno = Errno(17);
pub const ENODEV: Errno = Errno(19);
pub const ENOTDIR: Errno = Errno(20);
pub const EISDIR: Errno = Errno(21);
pub const EINVAL: Errno = Errno(22);
pub const ENFILE: Errno = Errno(23);
pub const EMFILE: Errno = Errno(24);
pub const ENOTTY: Errno = Errno(25);
pub const ENOSPC: Errno = Errno(28);
pub const ESPIPE: Errno = Errno(29);
pub const EROFS: Errno = Errno(30);
pub const EDEADLK: Errno = Errno(45);
pub const ENOTSUP: Errno = Errno(48);
pub const ENAMETOOLONG: Errno = Errno(78);
pub const EOVERFLOW: Errno = Errno(79);
pub const ENOSYS: Errno = Errno(89);
pub const EMSGSIZE: Errno = Errno(240);
/// A timeout (`TimerTimeout`) ended the call.
pub const ETIMEDOUT: Errno = Errno(260);
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
            ENODEV => "ENODEV",
            E2BIG => "E2BIG",
            ENOEXEC => "ENOEXEC",
            EBADF => "EBADF",
            ECHILD => "ECHILD",
            EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM",
            EACCES => "EACCES",
            EFAULT => "EFAULT",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            ENOTDIR => "ENOTDIR",
            EISDIR => "EISDIR",
            EINVAL => "EINVAL",
            ENFILE => "ENFILE",
            EMFILE => "EMFILE",
            ENOTTY => "ENOTTY",
            ENOSPC => "ENOSPC",
            ESPIPE => "ESPIPE",
            EROFS => "EROFS",
            EDEADLK => "EDEADLK",
            ENOTSUP => "ENOTSUP",
            ENAMETOOLONG => "ENAMETOOLONG",
            EOVERFLOW => "EOVERFLOW",
            ENOSYS => "ENOSYS",
            EMSGSIZE => "EMSGSIZE",
            ETIMEDOUT => "ETIMEDOUT",
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
