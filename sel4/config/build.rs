//! Turns `cmake/platform.conf` into Rust constants, so that taskman's boot
//! check and the QEMU command line come from the same file as the kernel's
//! CMake settings.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let conf = manifest.join("../../cmake/platform.conf");
    println!("cargo:rerun-if-changed={}", conf.display());
    let text = fs::read_to_string(&conf).expect("cmake/platform.conf is missing");

    let mut out = String::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("platform.conf:{}: expected KEY=VALUE", lineno + 1));
        let item = match value {
            "ON" | "OFF" => format!("pub const {key}: bool = {};\n", value == "ON"),
            v if v.parse::<u64>().is_ok() => format!("pub const {key}: usize = {v};\n"),
            v => format!("pub const {key}: &str = {v:?};\n"),
        };
        out.push_str(&item);
    }
    // Which of the two kernels this build is for (see platform.conf).
    println!("cargo:rerun-if-env-changed=QSOE_KERNEL_FLAVOUR");
    let flavour = env::var("QSOE_KERNEL_FLAVOUR").unwrap_or_else(|_| "debug".to_owned());
    let debug = match flavour.as_str() {
        "debug" => true,
        "release" => false,
        other => panic!("QSOE_KERNEL_FLAVOUR must be debug or release, not {other:?}"),
    };
    out.push_str(&format!(
        "/// Whether the kernel is the debug one (debug system calls, printing).\npub const KERNEL_DEBUG: bool = {debug};\n"
    ));
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("platform.rs");
    fs::write(dest, out).unwrap();
}
