//! Taskman embeds the boot archive; the Makefile builds it from a manifest
//! and names it in `QSOE_ARCHIVE`.

fn main() {
    println!("cargo:rerun-if-env-changed=QSOE_ARCHIVE");
    match std::env::var("QSOE_ARCHIVE") {
        Ok(path) => println!("cargo:rerun-if-changed={path}"),
        Err(_) => panic!(
            "QSOE_ARCHIVE is not set: build taskman through `make` \
             (it packs the userland archive from manifests/ first)"
        ),
    }
}
