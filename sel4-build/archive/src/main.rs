//! `qsoe-archive`: see the library's documentation and `qsoe-archive --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    qsoe_archive::cli::main(std::env::args_os().skip(1))
}
