#!/usr/bin/env bash
# Installs what the build needs on Debian 12, and nothing that is already
# there. `setup.sh rust`: the Rust target and components, and a C++
# compiler (enough for host tests, lints and cross-builds). `setup.sh kernel`: also the kernel's build tools,
# the cross compiler and QEMU.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

rustup target list --installed 2>/dev/null | grep -qx riscv64gc-unknown-none-elf ||
    rustup target add riscv64gc-unknown-none-elf
for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" ||
        rustup component add "$component"
done

# The fuzz target's lint builds libFuzzer, which is C++.
if ! command -v c++ >/dev/null; then
    echo "setup: installing g++"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++
fi

[ "${1:-rust}" = kernel ] || exit 0

apt_packages=(cmake ninja-build device-tree-compiler gcc-riscv64-linux-gnu
    qemu-system-misc libxml2-utils cpio python3-pip)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The kernel's code generators are Python; they need these modules.
if ! python3 -c 'import ply, pyfdt, lxml, yaml, jinja2, jsonschema, six' 2>/dev/null; then
    echo "setup: installing the kernel build's Python modules"
    python3 -m pip install -q --user ply pyfdt lxml pyyaml jinja2 jsonschema six 2>/dev/null ||
        python3 -m pip install -q --user --break-system-packages ply pyfdt lxml pyyaml jinja2 jsonschema six
fi
