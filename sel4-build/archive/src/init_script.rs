//! The files that tell init what to start, one per boot mode.
//!
//! Taskman reads `etc/init/<mode>` for the mode it booted in
//! (`qsoe.mode=run|test|bench`), so the encoding is kept trivial to parse
//! without an allocator-heavy parser on the target: one command per line,
//! lines separated by `\n` (no trailing newline; an empty list is an empty
//! file), and a command's arguments, program path first, joined by the byte
//! 0x1F (ASCII unit separator). Arguments therefore cannot contain `\n` or
//! 0x1F, nor NUL, since they end up as C strings in the spawned program.

/// One command line: the program's path, then its arguments.
pub type Command = Vec<String>;

/// The byte between a command's arguments.
pub const ARG_SEPARATOR: char = '\u{1f}';

/// The byte between commands.
pub const LINE_SEPARATOR: char = '\n';

/// The boot modes, in the order their files are listed.
pub const MODES: [&str; 3] = ["run", "test", "bench"];

/// The list init starts in every mode, before the mode's own: the drivers
/// (daemons it stops once the mode's commands have ended).
pub const DRIVERS: &str = "drivers";

/// Every list init can be given, each a file: the modes', then the
/// drivers'.
pub const LISTS: [&str; 4] = [MODES[0], MODES[1], MODES[2], DRIVERS];

/// The archive path of the file holding `mode`'s commands.
pub fn path(mode: &str) -> String {
    format!("/etc/init/{mode}")
}

/// The first byte of `arg` that the encoding cannot carry, if any.
pub fn forbidden_byte(arg: &str) -> Option<u8> {
    arg.bytes()
        .find(|&b| b == 0 || char::from(b) == ARG_SEPARATOR || char::from(b) == LINE_SEPARATOR)
}

/// Encodes `commands`; their arguments must have passed [`forbidden_byte`].
pub fn encode(commands: &[Command]) -> Vec<u8> {
    let lines: Vec<String> = commands
        .iter()
        .map(|command| command.join(&ARG_SEPARATOR.to_string()))
        .collect();
    lines.join(&LINE_SEPARATOR.to_string()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(args: &[&str]) -> Command {
        args.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn no_commands_is_an_empty_file() {
        assert_eq!(encode(&[]), b"");
    }

    #[test]
    fn commands_are_lines_of_unit_separated_arguments() {
        let commands = [command(&["/bin/hello", "a b", ""]), command(&["/bin/true"])];
        assert_eq!(encode(&commands), b"/bin/hello\x1fa b\x1f\n/bin/true");
    }

    #[test]
    fn separators_and_nul_are_forbidden_in_arguments() {
        assert_eq!(forbidden_byte("plain text, tabs\tand spaces"), None);
        assert_eq!(forbidden_byte("a\nb"), Some(b'\n'));
        assert_eq!(forbidden_byte("a\u{1f}b"), Some(0x1f));
        assert_eq!(forbidden_byte("a\0b"), Some(0));
    }

    #[test]
    fn each_mode_has_its_own_file() {
        let paths: Vec<String> = LISTS.iter().map(|mode| path(mode)).collect();
        assert_eq!(
            paths,
            [
                "/etc/init/run",
                "/etc/init/test",
                "/etc/init/bench",
                "/etc/init/drivers"
            ]
        );
    }
}
