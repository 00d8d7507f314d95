//! Packing manifests end to end, reading the archives back with an
//! independent CPIO reader.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{elf, riscv_program, scratch, write_programs};
use object::elf::{EM_RISCV, EM_X86_64, ET_DYN, ET_EXEC};
use qsoe_archive::{deps, pack, read_manifest, Error, Problem};

const MANIFEST: &str = r##"
[[program]]
path = "/sbin/init"
bin = "init"

[[program]]
path = "/bin/hello"
bin = "hello"

[[program]]
path = "/bin/truncated-elf"
bin = "true"
truncate = 512

[[program]]
path = "/usr/bin/foreign"
elf = "../elsewhere/foreign"

[[file]]
path = "/bin/not-elf"
text = "#!/bin/sh\necho this is not an ELF\n"

[init]
run = [["/bin/hello", "hello from the manifest", ""], ["/usr/bin/foreign"]]
test = [["/sbin/init", "-v"]]
"##;

/// A scratch tree: `manifests/m.toml` holding `manifest`, `bin/` with the
/// `bin` programs and `elsewhere/foreign` for the relative `elf`.
fn tree(name: &str, manifest: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    write_programs(&root.join("bin"), &["init", "hello", "true"]);
    write_programs(&root.join("elsewhere"), &["foreign"]);
    fs::create_dir_all(root.join("manifests")).unwrap();
    let manifest_path = root.join("manifests/m.toml");
    fs::write(&manifest_path, manifest).unwrap();
    (manifest_path, root.join("bin"))
}

/// The archive's entries as (name, mode, inode, contents).
fn read_back(bytes: &[u8]) -> Vec<(String, u32, u32, Vec<u8>)> {
    cpio_reader::iter_files(bytes)
        .map(|entry| {
            assert_eq!((entry.uid(), entry.gid(), entry.mtime()), (0, 0, 0));
            assert_eq!(entry.nlink(), 1);
            // Program names carry the NULs that align their bytes.
            let name = entry.name().trim_end_matches('\0').to_string();
            if entry.mode().bits() == 0o100755 {
                let offset = entry.file().as_ptr() as usize - bytes.as_ptr() as usize;
                assert_eq!(offset % 4096, 0, "{name} starts at {offset:#x}");
            }
            (
                name,
                entry.mode().bits(),
                entry.ino(),
                entry.file().to_vec(),
            )
        })
        .collect()
}

#[test]
fn archive_round_trips() {
    let (manifest, bin_dir) = tree("pack-round-trip", MANIFEST);
    let archive = pack(&manifest, &bin_dir, None).unwrap();
    let entries = read_back(&archive.bytes);
    assert_eq!(archive.entries, entries.len());

    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    let expected = [
        "bin/hello",
        "bin/not-elf",
        "bin/truncated-elf",
        "etc/grants",
        "etc/init/bench",
        "etc/init/drivers",
        "etc/init/run",
        "etc/init/test",
        "sbin/init",
        "usr/bin/foreign",
    ];
    assert_eq!(names, expected, "sorted by path, without the leading /");
    let inodes: Vec<u32> = entries.iter().map(|e| e.2).collect();
    assert_eq!(inodes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    let entry = |name: &str| entries.iter().find(|e| e.0 == name).unwrap();
    let program = |name: &str, contents: Vec<u8>| {
        assert_eq!(entry(name).1, 0o100755, "{name}");
        assert_eq!(entry(name).3, contents, "{name}");
    };
    program("sbin/init", riscv_program("init"));
    program("bin/hello", riscv_program("hello"));
    program("usr/bin/foreign", riscv_program("foreign"));
    program("bin/truncated-elf", riscv_program("true")[..512].to_vec());

    let file = |name: &str, contents: &[u8]| {
        assert_eq!(entry(name).1, 0o100644, "{name}");
        assert_eq!(entry(name).3, contents, "{name}");
    };
    file("bin/not-elf", b"#!/bin/sh\necho this is not an ELF\n");
    file(
        "etc/grants",
        b"/bin/hello\x1fspawn\n/bin/truncated-elf\x1fspawn\n/sbin/init\x1fspawn\n/usr/bin/foreign\x1fspawn",
    );
    file(
        "etc/init/run",
        b"/bin/hello\x1fhello from the manifest\x1f\n/usr/bin/foreign",
    );
    file("etc/init/test", b"/sbin/init\x1f-v");
    file("etc/init/bench", b"");
    file("etc/init/drivers", b"");
}

#[test]
fn same_manifest_same_bytes() {
    let (manifest, bin_dir) = tree("pack-determinism", MANIFEST);
    let first = pack(&manifest, &bin_dir, None).unwrap().bytes;
    let second = pack(&manifest, &bin_dir, None).unwrap().bytes;
    assert_eq!(first, second);
}

#[test]
fn entry_order_in_the_manifest_does_not_matter() {
    let (manifest, bin_dir) = tree("pack-order", MANIFEST);
    let (reordered, _) = tree(
        "pack-order-reversed",
        "[[program]]\npath = \"/bin/hello\"\nbin = \"hello\"\n\
         [[program]]\npath = \"/sbin/init\"\nbin = \"init\"\n",
    );
    let (sorted, _) = tree(
        "pack-order-sorted",
        "[[program]]\npath = \"/sbin/init\"\nbin = \"init\"\n\
         [[program]]\npath = \"/bin/hello\"\nbin = \"hello\"\n",
    );
    assert_eq!(
        pack(&reordered, &bin_dir, None).unwrap().bytes,
        pack(&sorted, &bin_dir, None).unwrap().bytes
    );
    assert_ne!(
        pack(&manifest, &bin_dir, None).unwrap().bytes,
        pack(&sorted, &bin_dir, None).unwrap().bytes
    );
}

#[test]
fn elf_paths_resolve_against_the_manifest_directory() {
    let (manifest, bin_dir) = tree("pack-relative-elf", MANIFEST);
    let cwd_relative = PathBuf::from("elsewhere/foreign");
    assert!(
        !cwd_relative.exists(),
        "the test must not pass by resolving against the cwd"
    );
    let listed = deps(&manifest, &bin_dir).unwrap();
    let foreign = manifest.parent().unwrap().join("../elsewhere/foreign");
    assert!(listed.contains(&foreign), "{listed:?}");
    assert!(pack(&manifest, &bin_dir, None).is_ok());

    let absolute = manifest
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("elsewhere/foreign");
    let text = MANIFEST.replace("../elsewhere/foreign", absolute.to_str().unwrap());
    fs::write(&manifest, text).unwrap();
    assert!(deps(&manifest, &bin_dir).unwrap().contains(&absolute));
    assert!(pack(&manifest, &bin_dir, None).is_ok());
}

#[test]
fn deps_lists_the_manifest_and_each_program_file_once() {
    let manifest = scratch("pack-deps").join("m.toml");
    fs::write(&manifest, MANIFEST).unwrap();
    let bin_dir = Path::new("/nonexistent/bin");
    let listed = deps(&manifest, bin_dir).unwrap();
    assert_eq!(
        listed,
        [
            manifest.clone(),
            bin_dir.join("init"),
            bin_dir.join("hello"),
            bin_dir.join("true"),
            manifest.parent().unwrap().join("../elsewhere/foreign"),
        ],
        "program files need not exist yet"
    );
}

/// Packs `MANIFEST` after `damage` has changed the tree; the error it gives.
fn pack_error(name: &str, damage: impl FnOnce(&Path, &Path)) -> (String, Problem) {
    let (manifest, bin_dir) = tree(name, MANIFEST);
    damage(&manifest, &bin_dir);
    match pack(&manifest, &bin_dir, None) {
        Err(Error::Entry { entry, problem }) => (entry, problem),
        other => panic!("expected an entry error, got {other:?}"),
    }
}

#[test]
fn missing_program_files_are_reported() {
    let (entry, problem) = pack_error("pack-missing-bin", |_, bin| {
        fs::remove_file(bin.join("hello")).unwrap();
    });
    assert_eq!(entry, "[[program]] \"/bin/hello\"");
    assert!(matches!(problem, Problem::Unreadable { path, .. } if path.ends_with("bin/hello")));
    let (entry, problem) = pack_error("pack-missing-elf", |manifest, _| {
        let root = manifest.parent().unwrap().parent().unwrap();
        fs::remove_file(root.join("elsewhere/foreign")).unwrap();
    });
    assert_eq!(entry, "[[program]] \"/usr/bin/foreign\"");
    assert!(matches!(problem, Problem::Unreadable { .. }));
}

/// Whether a problem is the one a case expects.
type Expected = fn(&Problem) -> bool;

#[test]
fn program_files_must_be_riscv_executables() {
    let mut elf32 = riscv_program("hello");
    elf32[4] = 1;
    let mut big_endian = riscv_program("hello");
    big_endian[5] = 2;
    let cases: [(&str, Vec<u8>, Expected); 5] = [
        ("pack-not-elf", b"#!/bin/sh\n".to_vec(), |p| {
            matches!(p, Problem::NotElf { .. })
        }),
        ("pack-elf32", elf32, |p| matches!(p, Problem::NotElf { .. })),
        ("pack-big-endian", big_endian, |p| {
            matches!(p, Problem::NotElf { .. })
        }),
        (
            "pack-x86",
            elf(EM_X86_64, ET_EXEC),
            |p| matches!(p, Problem::WrongElf { reason, .. } if reason.contains("e_machine")),
        ),
        (
            "pack-dyn",
            elf(EM_RISCV, ET_DYN),
            |p| matches!(p, Problem::WrongElf { reason, .. } if reason.contains("e_type")),
        ),
    ];
    for (name, contents, expected) in cases {
        let (entry, problem) = pack_error(name, |_, bin| {
            fs::write(bin.join("hello"), contents).unwrap()
        });
        assert_eq!(entry, "[[program]] \"/bin/hello\"", "{name}");
        assert!(expected(&problem), "{name}: {problem:?}");
    }
}

#[test]
fn truncated_programs_skip_the_elf_check_but_must_be_shortened() {
    let (manifest, bin_dir) = tree("pack-truncate-not-elf", MANIFEST);
    let not_elf = vec![b'x'; 600];
    fs::write(bin_dir.join("true"), &not_elf).unwrap();
    let archive = pack(&manifest, &bin_dir, None).unwrap();
    let entries = read_back(&archive.bytes);
    let truncated = entries.iter().find(|e| e.0 == "bin/truncated-elf").unwrap();
    assert_eq!(truncated.3, &not_elf[..512]);

    let (entry, problem) = pack_error("pack-truncate-too-long", |_, bin| {
        fs::write(bin.join("true"), vec![0u8; 512]).unwrap();
    });
    assert_eq!(entry, "[[program]] \"/bin/truncated-elf\"");
    assert!(matches!(
        problem,
        Problem::TruncateTooLong {
            truncate: 512,
            size: 512
        }
    ));
}

#[test]
fn an_unreadable_manifest_is_reported() {
    let missing = scratch("pack-no-manifest").join("absent.toml");
    match read_manifest(&missing) {
        Err(Error::Read { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn devices_must_be_in_the_device_tree_and_land_in_the_grants_file() {
    use common::device_tree::{device_tree, Device};
    use qsoe_abi::grants::{DeviceNames, Devices};
    let dir = scratch("pack-devices");
    write_programs(&dir, &["init", "d"]);
    let tree = dir.join("board.dtb");
    let uart = Device {
        compatible: &["ns16550a"],
        reg: (0x1000_0000, 0x100),
    };
    let virtio = |at| Device {
        compatible: &["virtio,mmio"],
        reg: (at, 0x1000),
    };
    fs::write(
        &tree,
        device_tree(&[uart, virtio(0x1000_8000), virtio(0x1000_7000)]),
    )
    .unwrap();
    let manifest_with = |devices: &str| {
        let path = dir.join("manifest.toml");
        fs::write(
            &path,
            format!(
                "[[program]]\npath = \"/sbin/init\"\nbin = \"init\"\n\
                 [[program]]\npath = \"/bin/d\"\nbin = \"d\"\ndevices = {devices}\n"
            ),
        )
        .unwrap();
        path
    };
    let good = manifest_with(r#"["ns16550a", "virtio,mmio#1"]"#);
    let archive = pack(&good, &dir, Some(&tree)).unwrap();
    let grants = cpio_reader::iter_files(&archive.bytes)
        .find(|e| e.name().trim_end_matches('\0') == "etc/grants")
        .unwrap()
        .file()
        .to_vec();
    assert_eq!(
        DeviceNames::of(&grants).as_slice(),
        [&b"device=ns16550a#0"[..], b"device=virtio,mmio#1"]
    );
    assert_eq!(Devices::granted(&grants, b"/bin/d").bits(), 0b11);
    for (devices, wanted) in [
        (r#"["virtio,mmio#2"]"#, "\"virtio,mmio\" #2"),
        (r#"["sifive,test0"]"#, "\"sifive,test0\" #0"),
    ] {
        let e = pack(&manifest_with(devices), &dir, Some(&tree)).unwrap_err();
        assert!(e.to_string().contains(wanted), "{e}");
    }
    for bad in [
        r##"["#1"]"##,
        r##"["uart#x"]"##,
        r#"["a b"]"#,
        r##"["x", "x#0"]"##,
    ] {
        assert!(
            pack(&manifest_with(bad), &dir, Some(&tree)).is_err(),
            "{bad}"
        );
    }
    let good = manifest_with(r#"["ns16550a"]"#);
    let e = pack(&good, &dir, None).unwrap_err();
    assert!(e.to_string().contains("--device-tree"), "{e}");
}
