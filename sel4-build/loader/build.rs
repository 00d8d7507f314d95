//! Embeds the kernel and rootserver ELF files named by `QSOE_KERNEL_ELF` and
//! `QSOE_ROOTSERVER_ELF`, and links the loader at its own address.
//! Without them (a cross-build check with no kernel tree) the loader is
//! built with no payload and says so when booted.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut payload = String::new();
    for (name, var) in [
        ("KERNEL", "QSOE_KERNEL_ELF"),
        ("ROOTSERVER", "QSOE_ROOTSERVER_ELF"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let bytes = match env::var(var) {
            Ok(path) => {
                println!("cargo:rerun-if-changed={path}");
                let path = fs::canonicalize(&path).unwrap_or_else(|e| panic!("{var}={path}: {e}"));
                format!("*include_bytes!({:?})", path.display().to_string())
            }
            Err(_) => "*b\"\"".to_string(),
        };
        payload.push_str(&format!(
            "pub static {name}: &crate::Aligned<[u8]> = &crate::Aligned({bytes});\n"
        ));
    }
    fs::write(out.join("payload.rs"), payload).unwrap();

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        let script = manifest.join("loader.ld");
        println!("cargo:rerun-if-changed={}", script.display());
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }
}
