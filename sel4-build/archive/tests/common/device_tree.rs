//! A flattened device tree built by hand: a root node and, under `/soc`,
//! one node per device with its `compatible` strings and one `reg` pair,
//! enough for the archive tool's device checks.

const MAGIC: u32 = 0xd00d_feed;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const END: u32 = 9;

/// A device: its compatible strings and its register window.
pub struct Device<'a> {
    pub compatible: &'a [&'a str],
    pub reg: (u64, u64),
}

/// The DTB of a machine with `devices`, in order.
pub fn device_tree(devices: &[Device]) -> Vec<u8> {
    let mut strings = Vec::new();
    let mut structure = Vec::new();
    fn word(out: &mut Vec<u8>, w: u32) {
        out.extend_from_slice(&w.to_be_bytes());
    }
    fn pad(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    fn node(out: &mut Vec<u8>, name: &str) {
        word(out, BEGIN_NODE);
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad(out);
    }
    fn prop(out: &mut Vec<u8>, strings: &mut Vec<u8>, name: &str, value: &[u8]) {
        word(out, PROP);
        word(out, value.len() as u32);
        word(out, strings.len() as u32);
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
        out.extend_from_slice(value);
        pad(out);
    }
    let cells = |n: u32| n.to_be_bytes().to_vec();
    node(&mut structure, "");
    prop(&mut structure, &mut strings, "#address-cells", &cells(2));
    prop(&mut structure, &mut strings, "#size-cells", &cells(2));
    node(&mut structure, "soc");
    prop(&mut structure, &mut strings, "#address-cells", &cells(2));
    prop(&mut structure, &mut strings, "#size-cells", &cells(2));
    for d in devices {
        node(&mut structure, &format!("device@{:x}", d.reg.0));
        let mut compatible = Vec::new();
        for c in d.compatible {
            compatible.extend_from_slice(c.as_bytes());
            compatible.push(0);
        }
        prop(&mut structure, &mut strings, "compatible", &compatible);
        let mut reg = d.reg.0.to_be_bytes().to_vec();
        reg.extend_from_slice(&d.reg.1.to_be_bytes());
        prop(&mut structure, &mut strings, "reg", &reg);
        word(&mut structure, END_NODE);
    }
    word(&mut structure, END_NODE);
    word(&mut structure, END_NODE);
    word(&mut structure, END);

    let header = 40u32;
    let reserve = 16u32;
    let off_struct = header + reserve;
    let off_strings = off_struct + structure.len() as u32;
    let total = off_strings + strings.len() as u32;
    let mut out = Vec::new();
    for w in [
        MAGIC,
        total,
        off_struct,
        off_strings,
        header,
        17,
        16,
        0,
        strings.len() as u32,
        structure.len() as u32,
    ] {
        word(&mut out, w);
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&structure);
    out.extend_from_slice(&strings);
    out
}

/// QEMU virt's devices that the default manifest grants: its UART and its
/// eight virtio-mmio slots, in its tree order (highest address first).
pub fn virt() -> Vec<u8> {
    let mut devices = vec![Device {
        compatible: &["ns16550a"],
        reg: (0x1000_0000, 0x100),
    }];
    for i in (1..=8u64).rev() {
        devices.push(Device {
            compatible: &["virtio,mmio"],
            reg: (0x1000_0000 + i * 0x1000, 0x1000),
        });
    }
    device_tree(&devices)
}
