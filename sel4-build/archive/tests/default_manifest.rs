//! The checked-in `manifests/default.toml`: it must parse without the
//! userland being built, and pack once its programs exist.

mod common;

use std::path::PathBuf;

use common::{riscv_program, scratch, write_programs};
use qsoe_abi::grants::{prefixes, Abilities, Grant, Limits};
use qsoe_archive::manifest::Source;
use qsoe_archive::{pack, read_manifest};

fn default_manifest() -> PathBuf {
    [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "manifests",
        "default.toml",
    ]
    .iter()
    .collect()
}

const PROGRAMS: [(&str, &str); 24] = [
    ("/sbin/init", "init"),
    ("/sbin/devc-ser8250", "devc-ser8250"),
    ("/bin/hello", "hello"),
    ("/bin/true", "true"),
    ("/bin/exit-with", "exit-with"),
    ("/bin/argv-check", "argv-check"),
    ("/bin/fault", "fault"),
    ("/bin/pause", "pause"),
    ("/bin/ipc-peer", "ipc-peer"),
    ("/bin/core-id", "core-id"),
    ("/bin/greedy", "greedy"),
    ("/bin/greedy-granted", "greedy"),
    ("/bin/greedy-small", "greedy"),
    ("/bin/greedy-budget", "greedy"),
    ("/bin/greedy-none", "greedy"),
    ("/bin/dev-probe", "dev-probe"),
    ("/bin/dev-probe-none", "dev-probe"),
    ("/bin/console-read", "console-read"),
    ("/bin/signal-probe", "signal-probe"),
    ("/bin/qsoe-test", "qsoe-test"),
    ("/bin/resmgr-peer", "resmgr-peer"),
    ("/bin/resmgr-peer-ungranted", "resmgr-peer"),
    ("/bin/qsoe-bench", "qsoe-bench"),
    ("/bin/bench-peer", "bench-peer"),
];

#[test]
fn default_manifest_has_the_expected_entries() {
    let manifest = read_manifest(&default_manifest()).unwrap();
    let programs: Vec<(&str, &Source, Option<u64>)> = manifest
        .programs
        .iter()
        .map(|p| (p.path.as_str(), &p.source, p.truncate))
        .collect();
    let mut expected: Vec<(&str, Source, Option<u64>)> = PROGRAMS
        .iter()
        .map(|&(path, bin)| (path, Source::Bin(bin.into()), None))
        .collect();
    expected.push(("/bin/truncated-elf", Source::Bin("true".into()), Some(512)));
    let expected: Vec<(&str, &Source, Option<u64>)> =
        expected.iter().map(|(p, s, t)| (*p, s, *t)).collect();
    assert_eq!(programs, expected);

    let files: Vec<(&str, &str)> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.text.as_str()))
        .collect();
    assert_eq!(
        files,
        [("/bin/not-elf", "#!/bin/sh\necho this is not an ELF\n")]
    );

    assert_eq!(
        manifest.init.run,
        [["/bin/hello", "hello from the manifest"]]
    );
    assert_eq!(manifest.init.test, [["/bin/qsoe-test"]]);
    assert_eq!(manifest.init.bench, [["/bin/qsoe-bench"]]);
    assert_eq!(manifest.init.drivers, [["/sbin/devc-ser8250"]]);
}

#[test]
fn default_manifest_packs_once_its_programs_exist() {
    let bin_dir = scratch("default-manifest-bin");
    let bins: Vec<&str> = PROGRAMS.iter().map(|&(_, bin)| bin).collect();
    write_programs(&bin_dir, &bins);
    let tree = bin_dir.join("board.dtb");
    std::fs::write(&tree, common::device_tree::virt()).unwrap();
    let archive = pack(&default_manifest(), &bin_dir, Some(&tree)).unwrap();

    let entries: Vec<(&str, &[u8])> = cpio_reader::iter_files(&archive.bytes)
        .map(|e| (e.name().trim_end_matches('\0'), e.file()))
        .collect();
    // Programs, two fixtures, the abilities file, four init files.
    assert_eq!(entries.len(), PROGRAMS.len() + 2 + 1 + 4);
    let contents = |name: &str| entries.iter().find(|e| e.0 == name).unwrap().1;
    assert_eq!(contents("sbin/init"), riscv_program("init"));
    assert_eq!(contents("bin/truncated-elf"), &riscv_program("true")[..512]);
    assert_eq!(
        contents("etc/init/run"),
        b"/bin/hello\x1fhello from the manifest"
    );
    assert_eq!(contents("etc/init/test"), b"/bin/qsoe-test");
    assert_eq!(contents("etc/init/bench"), b"/bin/qsoe-bench");
    assert_eq!(contents("etc/init/drivers"), b"/sbin/devc-ser8250");
    // Only init, the test suite and the benchmark may take a census; init
    // may attach anywhere, the suite and its resource manager under /test.
    let grants = contents("etc/grants");
    let grant = |path: &str| Grant::granted(grants, path.as_bytes());
    let census: Vec<&str> = PROGRAMS
        .iter()
        .map(|(path, _)| *path)
        .filter(|p| grant(p).abilities.contains(Abilities::CENSUS))
        .collect();
    assert_eq!(
        census,
        [
            "/sbin/init",
            "/bin/greedy-granted",
            "/bin/qsoe-test",
            "/bin/qsoe-bench",
            "/bin/bench-peer"
        ]
    );
    assert_eq!(grant("/sbin/init").limits, Limits::MAX);
    assert_eq!(grant("/bin/hello"), Grant::granted(b"", b"/bin/hello"));
    assert!(!grant("/bin/greedy-none")
        .abilities
        .contains(Abilities::SPAWN));
    let prefixes =
        |path: &'static str| -> Vec<&[u8]> { prefixes(grants, path.as_bytes()).collect() };
    assert_eq!(prefixes("/sbin/init"), [b"/"]);
    assert_eq!(prefixes("/bin/qsoe-test"), [b"/test"]);
    assert_eq!(prefixes("/bin/resmgr-peer"), [b"/test"]);
    assert!(prefixes("/bin/hello").is_empty());
}
