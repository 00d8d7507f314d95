//! A process's console output as taskman collects it: bytes until a
//! newline, so that processes writing at once interleave by line, never
//! within one. A line longer than `LINE_MAX` keeps its first `LINE_MAX`
//! bytes.

use alloc::vec::Vec;

/// The longest line kept.
pub const LINE_MAX: usize = 4096;

/// Console output not yet ended by a newline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsoleLine {
    bytes: Vec<u8>,
}

impl ConsoleLine {
    /// Adds `data`; `line` gets each line it completes, without its
    /// newline.
    pub fn write(&mut self, data: impl IntoIterator<Item = u8>, mut line: impl FnMut(&[u8])) {
        for b in data {
            if b == b'\n' {
                line(&self.bytes);
                self.bytes.clear();
            } else if self.bytes.len() < LINE_MAX {
                self.bytes.push(b);
            }
        }
    }

    /// The unfinished line, if any, taken out (when its process ends).
    pub fn take(&mut self) -> Option<Vec<u8>> {
        (!self.bytes.is_empty()).then(|| core::mem::take(&mut self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn lines(c: &mut ConsoleLine, data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        c.write(data.iter().copied(), |l| out.push(l.to_vec()));
        out
    }

    #[test]
    fn whole_lines_come_out_and_the_rest_waits() {
        let mut c = ConsoleLine::default();
        assert!(lines(&mut c, b"hel").is_empty());
        assert_eq!(lines(&mut c, b"lo\nwor"), [b"hello".to_vec()]);
        assert_eq!(lines(&mut c, b"\n\n"), [b"wor".to_vec(), vec![]]);
        assert_eq!(c.take(), None);
        lines(&mut c, b"tail");
        assert_eq!(c.take(), Some(b"tail".to_vec()));
        assert_eq!(c.take(), None);
    }

    #[test]
    fn a_long_line_keeps_its_start() {
        let mut c = ConsoleLine::default();
        let long = vec![b'x'; LINE_MAX + 100];
        assert!(lines(&mut c, &long).is_empty());
        let out = lines(&mut c, b"\n");
        assert_eq!(out[0].len(), LINE_MAX);
    }
}
