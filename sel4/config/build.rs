//! Turns `cmake/platform.conf` into Rust constants, so that taskman's boot
//! check and the QEMU command line come from the same file as the kernel's
//! CMake settings.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let conf = manifest.join("../../cmake/platform.conf");
    println!("cargo:rerun-if-changed={}", conf.display());
    let text = fs::read_to_string(&conf).expect("cmake/platform.conf is missing");

    // Which of the three kernels this build is for (see platform.conf).
    println!("cargo:rerun-if-env-changed=QSOE_KERNEL_FLAVOUR");
    let flavour = env::var("QSOE_KERNEL_FLAVOUR").unwrap_or_else(|_| "debug".to_owned());
    let (debug, exact) = match flavour.as_str() {
        "debug" => (true, false),
        "release" => (false, false),
        "exact" => (false, true),
        other => panic!("QSOE_KERNEL_FLAVOUR must be debug, release or exact, not {other:?}"),
    };

    let mut entries = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("platform.conf:{}: expected KEY=VALUE", lineno + 1));
        entries.push((key.to_owned(), value.to_owned()));
    }
    // The exact kernel runs on EXACT_HARTS harts; everything else is alike.
    if exact {
        let harts = entries
            .iter()
            .find(|(k, _)| k == "EXACT_HARTS")
            .map(|(_, v)| v.clone())
            .expect("platform.conf names no EXACT_HARTS");
        for (key, value) in entries.iter_mut() {
            if key == "HARTS" {
                *value = harts.clone();
            }
        }
    }

    let mut out = String::new();
    for (key, value) in &entries {
        let item = match value.as_str() {
            "ON" | "OFF" => format!("pub const {key}: bool = {};\n", value == "ON"),
            v if v.parse::<u64>().is_ok() => format!("pub const {key}: usize = {v};\n"),
            v => format!("pub const {key}: &str = {v:?};\n"),
        };
        out.push_str(&item);
    }
    out.push_str(&format!(
        "/// Whether the kernel is the debug one (debug system calls, printing).\npub const KERNEL_DEBUG: bool = {debug};\n"
    ));
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("platform.rs");
    fs::write(dest, out).unwrap();
}
