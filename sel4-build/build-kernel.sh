#!/usr/bin/env bash
# `build-kernel.sh OUT FLAVOUR`: configures and builds the seL4 kernel from
# $SEL4_SRC into OUT with the settings cmake/kernel-settings.cmake derives
# from cmake/platform.conf, as a `debug`, `release` or `exact` kernel. Reconfigures
# from scratch when the source tree, the platform or the flavour changes.
set -euo pipefail

out=$1
flavour=${2:?usage: build-kernel.sh OUT debug|release|exact}
top=$(cd "$(dirname "$0")/.." && pwd)
: "${SEL4_SRC:?SEL4_SRC must name an seL4 16.0.0 source tree}"
src=$(cd "$SEL4_SRC" && pwd)

if [ ! -f "$src/CMakeLists.txt" ] || [ "$(cat "$src/VERSION" 2>/dev/null)" != "16.0.0" ]; then
    echo "build-kernel: $SEL4_SRC is not an seL4 16.0.0 source tree" >&2
    exit 1
fi

# The kernel's device tree is dumped from QEMU at configure time, so a new
# QEMU means a new configuration too.
stamp="$src $flavour $(qemu-system-riscv64 --version | head -1) $(sha256sum "$top/cmake/platform.conf" "$top/cmake/kernel-settings.cmake" | cut -c1-64 | tr '\n' ' ')"
if [ ! -f "$out/build.ninja" ] || [ "$(cat "$out/.qsoe-config" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$out"
    mkdir -p "$out"
    cmake -G Ninja -S "$src" -B "$out" \
        -DQSOE_FLAVOUR="$flavour" -C "$top/cmake/kernel-settings.cmake" \
        -DCMAKE_TOOLCHAIN_FILE="$src/gcc.cmake" >"$out/configure.log" 2>&1 ||
        { cat "$out/configure.log" >&2; exit 1; }
    echo "$stamp" >"$out/.qsoe-config"
fi

# The kernel, and the libsel4 headers the ABI drift test compiles against.
ninja -C "$out" kernel.elf \
    libsel4/include/sel4/shared_types_gen.h \
    libsel4/sel4_arch_include/riscv64/sel4/sel4_arch/types_gen.h \
    libsel4/include/sel4/invocation.h \
    libsel4/sel4_arch_include/riscv64/sel4/sel4_arch/invocation.h \
    libsel4/arch_include/riscv/sel4/arch/invocation.h \
    libsel4/include/sel4/syscall.h \
    libsel4/include/interfaces/sel4_client.h >/dev/null
echo "build-kernel: $out/kernel.elf ($flavour)"
