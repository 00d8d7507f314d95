//! The `qsoe-archive` binary as Make runs it.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{scratch, write_programs};

const MANIFEST: &str = "\
[[program]]
path = \"/sbin/init\"
bin = \"init\"

[init]
run = [[\"/sbin/init\", \"--hello\"]]
";

fn qsoe_archive(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qsoe-archive"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A scratch directory holding `m.toml` with `manifest` and `bin/init`.
fn setup(name: &str, manifest: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    fs::write(dir.join("m.toml"), manifest).unwrap();
    write_programs(&dir.join("bin"), &["init"]);
    dir
}

#[test]
fn pack_writes_the_archive_and_reports_it() {
    let dir = setup("cli-pack", MANIFEST);
    let out = dir.join("new/sub/dir/boot.cpio");
    let output = qsoe_archive(&[
        "pack".as_ref(),
        "--manifest".as_ref(),
        &dir.join("m.toml"),
        "--bin-dir".as_ref(),
        &dir.join("bin"),
        "--out".as_ref(),
        &out,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let bytes = fs::read(&out).unwrap();
    assert_eq!(
        text(&output.stdout),
        format!(
            "archive: {} (6 entries, {} bytes)\n",
            out.display(),
            bytes.len()
        )
    );
    // init, the abilities file and the four init command files.
    assert_eq!(cpio_reader::iter_files(&bytes).count(), 6);
    let leftovers: Vec<_> = fs::read_dir(out.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

#[test]
fn deps_prints_one_input_per_line() {
    let dir = setup("cli-deps", MANIFEST);
    let manifest = dir.join("m.toml");
    let bin_dir = dir.join("bin");
    let output = qsoe_archive(&[
        "deps".as_ref(),
        "--manifest".as_ref(),
        &manifest,
        "--bin-dir".as_ref(),
        &bin_dir,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "{}\n{}\n",
            manifest.display(),
            bin_dir.join("init").display()
        )
    );
}

#[test]
fn a_bad_manifest_fails_naming_the_entry_and_writes_nothing() {
    let dir = setup(
        "cli-bad",
        &MANIFEST.replace("\"/sbin/init\", ", "\"/bin/nope\", "),
    );
    let manifest = dir.join("m.toml");
    let out = dir.join("boot.cpio");
    let output = qsoe_archive(&[
        "pack".as_ref(),
        "--manifest".as_ref(),
        &manifest,
        "--bin-dir".as_ref(),
        &dir.join("bin"),
        "--out".as_ref(),
        &out,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "qsoe-archive: {}: [init] run[0]: \"/bin/nope\" is not a [[program]] path\n",
            manifest.display()
        )
    );
    assert!(!out.exists());
}

#[test]
fn a_bad_command_line_prints_usage() {
    let output = qsoe_archive(&["pack".as_ref()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("qsoe-archive: missing --manifest\n"),
        "{stderr}"
    );
    assert!(stderr.contains("usage: qsoe-archive pack"), "{stderr}");
}
