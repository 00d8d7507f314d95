//! What init is told to start.
//!
//! The archive tool writes, per boot mode, a file `etc/init/<mode>`, and
//! `etc/init/drivers` for every mode: one command per line, arguments
//! separated by the byte 0x1F. Taskman hands them to init as one argv:
//! `init <n> <arg>... -- <n> <arg>...`, the drivers before `--`, each
//! command preceded by its argument count, so no argument ever needs
//! quoting.

use alloc::vec::Vec;

/// Separates the arguments of one command in `etc/init/<mode>`.
pub const ARG_SEPARATOR: u8 = 0x1f;

/// Between the drivers and the commands in init's argv.
pub const DRIVERS_END: &[u8] = b"--";

/// init's argv for the drivers in `drivers` and the commands in `file`,
/// after `argv0`. Empty lines are skipped.
pub fn init_argv(argv0: &[u8], drivers: &[u8], file: &[u8]) -> Vec<Vec<u8>> {
    let mut argv = alloc::vec![argv0.to_vec()];
    push_groups(&mut argv, drivers);
    argv.push(DRIVERS_END.to_vec());
    push_groups(&mut argv, file);
    argv
}

fn push_groups(argv: &mut Vec<Vec<u8>>, file: &[u8]) {
    for line in file.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let args: Vec<&[u8]> = line.split(|&b| b == ARG_SEPARATOR).collect();
        argv.push(alloc::format!("{}", args.len()).into_bytes());
        argv.extend(args.into_iter().map(<[u8]>::to_vec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_become_counted_groups_after_the_drivers() {
        let file = b"/bin/hello\x1fhello from the manifest\n/bin/true\n";
        let argv = init_argv(b"/sbin/init", b"/sbin/devc\n", file);
        let expect: [&[u8]; 9] = [
            b"/sbin/init",
            b"1",
            b"/sbin/devc",
            b"--",
            b"2",
            b"/bin/hello",
            b"hello from the manifest",
            b"1",
            b"/bin/true",
        ];
        assert_eq!(argv, expect.map(<[u8]>::to_vec));
    }

    #[test]
    fn empty_files_give_just_argv0_and_the_separator() {
        let bare = [b"init".to_vec(), DRIVERS_END.to_vec()];
        assert_eq!(init_argv(b"init", b"", b""), bare);
        assert_eq!(init_argv(b"init", b"\n", b"\n\n"), bare);
    }
}
