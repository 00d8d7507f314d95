//! The arguments, environment and auxiliary vector taskman put on the
//! initial stack (SysV layout: argc, argv..., NULL, envp..., NULL, auxv
//! pairs, AT_NULL).

/// A view of the initial stack.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
    envp: *const *const u8,
    auxv: *const [u64; 2],
}

impl Args {
    /// Reads the stack at `sp`.
    ///
    /// # Safety
    /// `sp` must point at a SysV initial stack that stays untouched.
    pub unsafe fn from_stack(sp: *const u64) -> Self {
        let argc = *sp as usize;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);
        let mut end = envp;
        while !(*end).is_null() {
            end = end.add(1);
        }
        Self {
            argc,
            argv,
            envp,
            auxv: end.add(1) as *const [u64; 2],
        }
    }

    pub fn len(&self) -> usize {
        self.argc
    }

    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i`, without its NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        // SAFETY: `from_stack`'s contract; i < argc.
        (i < self.argc).then(|| unsafe { c_bytes(*self.argv.add(i)) })
    }

    /// Argument `i` as text (empty if it is not UTF-8).
    pub fn str(&self, i: usize) -> Option<&'static str> {
        self.get(i).map(|b| core::str::from_utf8(b).unwrap_or(""))
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        (0..self.argc).filter_map(|i| self.get(i))
    }

    /// The environment strings (`NAME=value`).
    pub fn env(&self) -> impl Iterator<Item = &'static [u8]> {
        let mut p = self.envp;
        core::iter::from_fn(move || {
            // SAFETY: the list ends with NULL (`from_stack`).
            unsafe {
                let s = *p;
                (!s.is_null()).then(|| {
                    p = p.add(1);
                    c_bytes(s)
                })
            }
        })
    }

    /// The value of environment variable `name`.
    pub fn getenv(&self, name: &str) -> Option<&'static str> {
        self.env().find_map(|e| {
            let rest = e.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
            core::str::from_utf8(rest).ok()
        })
    }

    /// The auxiliary vector entry `key`.
    pub fn aux(&self, key: u64) -> Option<u64> {
        let mut p = self.auxv;
        loop {
            // SAFETY: the vector ends with AT_NULL (`from_stack`).
            let [k, v] = unsafe { *p };
            if k == 0 {
                return None;
            }
            if k == key {
                return Some(v);
            }
            // SAFETY: not past AT_NULL yet.
            p = unsafe { p.add(1) };
        }
    }
}

/// The bytes of a NUL-terminated string.
///
/// # Safety
/// `s` must point at a NUL-terminated string that lives for the program.
unsafe fn c_bytes(s: *const u8) -> &'static [u8] {
    let mut n = 0;
    while *s.add(n) != 0 {
        n += 1;
    }
    core::slice::from_raw_parts(s, n)
}
