//! A terminal's line discipline, the part of QNX's `io-char` a console
//! needs: canonical input (a line at a time, with echo, erase, kill, `^C`
//! and `^D`), raw input, and output processing. Pure bookkeeping: the
//! driver feeds it the bytes the UART received and sends what it answers.

use libqsoe::abi::termios::{cc, Termios, ECHO, ECHOE, ECHOK, ICANON, ICRNL, ISIG, ONLCR, OPOST};

/// The longest line canonical input keeps (`MAX_CANON`).
pub const MAX_CANON: usize = 255;
/// Bytes waiting for readers (`MAX_INPUT`).
pub const MAX_INPUT: usize = 2048;
/// Complete lines (and end-of-file marks) waiting for readers.
const MAX_LINES: usize = 64;

/// What a received byte did besides its echo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typed {
    Nothing,
    /// `^C` with `ISIG`: the foreground process gets `SIGINT`.
    Interrupt,
}

/// A fixed ring of `N` items.
struct Ring<T: Copy + Default, const N: usize> {
    items: [T; N],
    head: usize,
    len: usize,
}

impl<T: Copy + Default, const N: usize> Ring<T, N> {
    fn new() -> Self {
        Ring {
            items: [T::default(); N],
            head: 0,
            len: 0,
        }
    }

    fn room(&self) -> usize {
        N - self.len
    }

    fn push(&mut self, item: T) -> bool {
        if self.len == N {
            return false;
        }
        self.items[(self.head + self.len) % N] = item;
        self.len += 1;
        true
    }

    fn front_mut(&mut self) -> Option<&mut T> {
        (self.len > 0).then(|| &mut self.items[self.head])
    }

    fn pop(&mut self) -> Option<T> {
        let item = *self.front_mut()?;
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(item)
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

pub struct LineDiscipline {
    termios: Termios,
    /// The line being typed (canonical mode).
    line: [u8; MAX_CANON],
    line_len: usize,
    /// Bytes readers may take.
    input: Ring<u8, MAX_INPUT>,
    /// In canonical mode, the length of each complete line in `input`
    /// (its newline included); 0 is an end of file.
    lines: Ring<u16, MAX_LINES>,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

const ERASE_ECHO: &[u8] = b"\x08 \x08";

impl LineDiscipline {
    /// A cooked terminal.
    pub fn new() -> Self {
        LineDiscipline {
            termios: Termios::cooked(),
            line: [0; MAX_CANON],
            line_len: 0,
            input: Ring::new(),
            lines: Ring::new(),
        }
    }

    pub fn termios(&self) -> Termios {
        self.termios
    }

    fn canonical(&self) -> bool {
        self.termios.c_lflag & ICANON != 0
    }

    fn echoes(&self, flag: u32) -> bool {
        self.termios.c_lflag & ECHO != 0 && (flag == ECHO || self.termios.c_lflag & flag != 0)
    }

    /// New modes. Leaving canonical mode makes the line being typed
    /// readable; entering it makes what waits one line.
    pub fn set(&mut self, termios: Termios) {
        let was = self.canonical();
        self.termios = termios;
        match (was, self.canonical()) {
            (true, false) => {
                self.lines.clear();
                for i in 0..self.line_len {
                    self.input.push(self.line[i]);
                }
                self.line_len = 0;
            }
            (false, true) if self.input.len > 0 => {
                self.lines.push(self.input.len as u16);
            }
            _ => {}
        }
    }

    /// A byte the terminal sent; `echo` gets what to send back.
    pub fn receive(&mut self, byte: u8, echo: &mut impl FnMut(&[u8])) -> Typed {
        let lflag = self.termios.c_lflag;
        if lflag & ISIG != 0 && byte == cc::INTR {
            self.line_len = 0;
            self.input.clear();
            self.lines.clear();
            if self.echoes(ECHO) {
                echo(b"^C\r\n");
            }
            return Typed::Interrupt;
        }
        let byte = if byte == b'\r' && self.termios.c_iflag & ICRNL != 0 {
            b'\n'
        } else {
            byte
        };
        if !self.canonical() {
            if self.input.push(byte) && self.echoes(ECHO) {
                echo(&[byte]);
            }
            return Typed::Nothing;
        }
        match byte {
            cc::ERASE | cc::DEL => {
                if self.line_len > 0 {
                    self.line_len -= 1;
                    if self.echoes(ECHOE) {
                        echo(ERASE_ECHO);
                    }
                }
            }
            cc::KILL => {
                if self.echoes(ECHOK) {
                    (0..self.line_len).for_each(|_| echo(ERASE_ECHO));
                }
                self.line_len = 0;
            }
            cc::EOF => {
                self.end_line(None);
            }
            b'\n' => {
                if self.end_line(Some(b'\n')) && self.echoes(ECHO) {
                    echo(b"\r\n");
                }
            }
            b => {
                // Room for the newline that ends it.
                if self.line_len < MAX_CANON - 1 {
                    self.line[self.line_len] = b;
                    self.line_len += 1;
                    if self.echoes(ECHO) {
                        echo(&[b]);
                    }
                }
            }
        }
        Typed::Nothing
    }

    /// Moves the typed line (with `end`, if any) to the readers; an empty
    /// line without `end` is an end of file. Answers whether it fit.
    fn end_line(&mut self, end: Option<u8>) -> bool {
        let len = self.line_len + end.is_some() as usize;
        if len > self.input.room() || self.lines.room() == 0 {
            return false;
        }
        for i in 0..self.line_len {
            self.input.push(self.line[i]);
        }
        if let Some(b) = end {
            self.input.push(b);
        }
        self.lines.push(len as u16);
        self.line_len = 0;
        true
    }

    /// Whether a read would be answered now.
    pub fn readable(&self) -> bool {
        if self.canonical() {
            self.lines.len > 0
        } else {
            self.input.len > 0
        }
    }

    /// A read into `buf`: `Some(n)` bytes (0 at an end of file; in
    /// canonical mode at most one line), or `None` while nothing is
    /// there.
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.readable() {
            return None;
        }
        let canonical = self.canonical();
        let available = if canonical {
            let line = *self.lines.front_mut()? as usize;
            if line == 0 {
                self.lines.pop();
                return Some(0);
            }
            line
        } else {
            self.input.len
        };
        let n = available.min(buf.len());
        for b in buf[..n].iter_mut() {
            *b = self.input.pop().unwrap_or(0);
        }
        if canonical {
            match self.lines.front_mut() {
                Some(line) if (*line as usize) > n => *line -= n as u16,
                _ => {
                    self.lines.pop();
                }
            }
        }
        Some(n)
    }

    /// Output processing: `data` as the terminal should get it, a byte at
    /// a time to `out`.
    pub fn output(&self, data: &[u8], out: &mut impl FnMut(u8)) {
        let onlcr = self.termios.c_oflag & (OPOST | ONLCR) == OPOST | ONLCR;
        for &b in data {
            if b == b'\n' && onlcr {
                out(b'\r');
            }
            out(b);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn typed(ld: &mut LineDiscipline, bytes: &[u8]) -> (Vec<u8>, Vec<Typed>) {
        let mut echo = Vec::new();
        let mut what = Vec::new();
        for &b in bytes {
            what.push(ld.receive(b, &mut |e| echo.extend_from_slice(e)));
        }
        (echo, what)
    }

    fn read(ld: &mut LineDiscipline, room: usize) -> Option<Vec<u8>> {
        let mut buf = std::vec![0; room];
        ld.read(&mut buf).map(|n| buf[..n].to_vec())
    }

    #[test]
    fn a_line_is_echoed_and_read_whole_once_it_ends() {
        let mut ld = LineDiscipline::new();
        let (echo, _) = typed(&mut ld, b"hello");
        assert_eq!(echo, b"hello");
        assert_eq!(read(&mut ld, 100), None);
        let (echo, _) = typed(&mut ld, b"\rnext");
        assert_eq!(echo, b"\r\nnext");
        assert_eq!(read(&mut ld, 100).unwrap(), b"hello\n");
        assert_eq!(read(&mut ld, 100), None);
    }

    #[test]
    fn a_short_read_leaves_the_rest_of_the_line() {
        let mut ld = LineDiscipline::new();
        typed(&mut ld, b"abcdef\nxy\n");
        assert_eq!(read(&mut ld, 4).unwrap(), b"abcd");
        assert_eq!(read(&mut ld, 100).unwrap(), b"ef\n");
        assert_eq!(read(&mut ld, 100).unwrap(), b"xy\n");
    }

    #[test]
    fn erase_and_kill_edit_the_line() {
        let mut ld = LineDiscipline::new();
        let (echo, _) = typed(&mut ld, b"helo\x08\x7flp\r");
        assert_eq!(echo, b"helo\x08 \x08\x08 \x08lp\r\n");
        assert_eq!(read(&mut ld, 100).unwrap(), b"help\n");
        let (echo, _) = typed(&mut ld, b"junk\x15ok\n");
        assert_eq!(&echo[..4], b"junk");
        assert_eq!(&echo[4..16], b"\x08 \x08".repeat(4).as_slice());
        assert_eq!(read(&mut ld, 100).unwrap(), b"ok\n");
        // Erasing an empty line does nothing.
        assert_eq!(typed(&mut ld, b"\x08").0, b"");
    }

    #[test]
    fn interrupt_discards_input_and_end_of_file_reads_zero() {
        let mut ld = LineDiscipline::new();
        typed(&mut ld, b"first\n");
        let (echo, what) = typed(&mut ld, b"half\x03");
        assert_eq!(what.last(), Some(&Typed::Interrupt));
        assert!(echo.ends_with(b"^C\r\n"));
        assert_eq!(read(&mut ld, 100), None);
        typed(&mut ld, b"\x04");
        assert_eq!(read(&mut ld, 100).unwrap(), b"");
        assert_eq!(read(&mut ld, 100), None);
        // ^D after some bytes hands them over without a newline.
        typed(&mut ld, b"ab\x04");
        assert_eq!(read(&mut ld, 100).unwrap(), b"ab");
    }

    #[test]
    fn raw_mode_passes_bytes_at_once_and_unchanged() {
        let mut ld = LineDiscipline::new();
        typed(&mut ld, b"pend");
        let mut raw = ld.termios();
        raw.make_raw();
        ld.set(raw);
        let (echo, what) = typed(&mut ld, b"\r\x03\x7f");
        assert!(echo.is_empty());
        assert!(what.iter().all(|&t| t == Typed::Nothing));
        assert_eq!(read(&mut ld, 100).unwrap(), b"pend\r\x03\x7f");
        let mut out = Vec::new();
        ld.output(b"a\nb", &mut |b| out.push(b));
        assert_eq!(out, b"a\nb");
        ld.set(Termios::cooked());
        let mut out = Vec::new();
        ld.output(b"a\nb", &mut |b| out.push(b));
        assert_eq!(out, b"a\r\nb");
    }

    #[test]
    fn a_full_line_or_queue_drops_what_does_not_fit() {
        let mut ld = LineDiscipline::new();
        let long = std::vec![b'x'; MAX_CANON + 10];
        let (echo, _) = typed(&mut ld, &long);
        assert_eq!(echo.len(), MAX_CANON - 1);
        typed(&mut ld, b"\n");
        assert_eq!(read(&mut ld, 1000).unwrap().len(), MAX_CANON);
        for _ in 0..MAX_LINES + 5 {
            typed(&mut ld, b"l\n");
        }
        let mut lines = 0;
        while read(&mut ld, 10).is_some() {
            lines += 1;
        }
        assert_eq!(lines, MAX_LINES);
    }
}
