# Quick start: `make run` boots the system, `make test` tests everything.
# Both need SEL4_SRC to name an seL4 16.0.0 source tree for the kernel;
# without it, `make test` runs all that does not need the kernel.

TARGET       := riscv64gc-unknown-none-elf
BUILD        := $(CURDIR)/build
# Three kernels from cmake/platform.conf: the debug one (debug calls and
# printing; the census needs them) for the test suite, the release one for
# `make run`, `make bench` and a smoke boot of the suite, and the exact one
# (release on EXACT_HARTS harts) for the exact-count half of `make bench`.
DEBUG_KERNEL   := $(BUILD)/kernel-debug
RELEASE_KERNEL := $(BUILD)/kernel-release
EXACT_KERNEL   := $(BUILD)/kernel-exact
# The images: the release kernel's, the debug kernel's for `make test`, and
# the exact kernel's for `make bench`.
IMAGE        := $(BUILD)/qsoe-image.elf
TEST_IMAGE   := $(BUILD)/qsoe-test-image.elf
EXACT_IMAGE  := $(BUILD)/qsoe-exact-image.elf
# Taskman and the loader are built once per kernel; the release and exact
# builds have target directories of their own so that none rebuilds another.
TARGET_DIR   := $(CURDIR)/target/$(TARGET)/release
RELEASE_TARGET_ROOT := $(CURDIR)/target/kernel-release
EXACT_TARGET_ROOT   := $(CURDIR)/target/kernel-exact
HARNESS      := cargo run --quiet --release -p qemu-harness --
# What goes into the boot archive; point it at your own manifest to add
# programs built elsewhere: `make run MANIFEST=path/to/mine.toml`.
MANIFEST     ?= manifests/default.toml
USERLAND_DIR := $(CURDIR)/target/$(TARGET)/userland
ARCHIVE      := $(BUILD)/archive.cpio
# The board's device tree, as QEMU gives it to the guest: the archive
# tool checks the devices the manifest grants against it.
DEVICE_TREE  := $(BUILD)/board.dtb

# The kernel build the ABI drift test compares our bindings with.
export QSOE_KERNEL_BUILD := $(DEBUG_KERNEL)
export QSOE_ARCHIVE := $(ARCHIVE)

FUZZ_SECONDS ?= 60

.PHONY: fuzz run test bench image test-image exact-image exact-kernel kernel archive userland setup setup-kernel host-test cross-build lint qemu-test need-sel4 clean

run: need-sel4 image
	$(HARNESS) run $(IMAGE)

test: setup lint host-test cross-build qemu-test

# Two boots: the exact one (one hart, QEMU's -icount: instruction counts
# that repeat bit for bit) for the loops, and the release image on every
# hart (host time) for what needs more than one core.
bench: need-sel4 image exact-image
	$(HARNESS) bench $(EXACT_IMAGE) --exact
	$(HARNESS) bench $(IMAGE)

# libFuzzer on taskman's request decoder; needs a nightly toolchain.
fuzz:
	rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	cd fuzz && cargo +nightly fuzz run wire_decode -- -max_total_time=$(FUZZ_SECONDS)

setup:
	@sel4-build/setup.sh rust

setup-kernel:
	@sel4-build/setup.sh kernel

need-sel4:
	@if [ -z "$(SEL4_SRC)" ]; then \
	  echo "SEL4_SRC is not set. Get seL4 16.0.0 (git clone --branch 16.0.0 <seL4 repository>)"; \
	  echo "and run: SEL4_SRC=/path/to/seL4 make run"; \
	  exit 1; \
	fi

kernel: need-sel4 setup-kernel
	@sel4-build/build-kernel.sh $(DEBUG_KERNEL) debug
	@sel4-build/build-kernel.sh $(RELEASE_KERNEL) release

exact-kernel: need-sel4 setup-kernel
	@sel4-build/build-kernel.sh $(EXACT_KERNEL) exact

userland:
	cargo build --profile userland --target $(TARGET) -p qsoe-userland

# The userland programs the manifest names, packed into the CPIO archive
# taskman embeds.
archive: userland $(DEVICE_TREE)
	cargo run --quiet --release -p qsoe-archive -- pack \
	  --manifest $(MANIFEST) --bin-dir $(USERLAND_DIR) --out $(ARCHIVE) \
	  --device-tree $(DEVICE_TREE)

$(DEVICE_TREE): cmake/platform.conf
	@mkdir -p $(BUILD)
	$(HARNESS) device-tree $@

# Taskman and the loader for kernel flavour $(1) (built in $(2)), built in
# target directory $(3), copied to image $(4).
define flavour_image
	QSOE_KERNEL_FLAVOUR=$(1) cargo build --release --target $(TARGET) --target-dir $(3) -p taskman
	QSOE_KERNEL_FLAVOUR=$(1) QSOE_KERNEL_ELF=$(2)/kernel.elf \
	  QSOE_ROOTSERVER_ELF=$(3)/$(TARGET)/release/taskman \
	  cargo build --release --target $(TARGET) --target-dir $(3) -p qsoe-loader
	cp $(3)/$(TARGET)/release/qsoe-loader $(4)
endef

# The release kernel's image (`make run`, `make bench`).
image: kernel archive
	$(call flavour_image,release,$(RELEASE_KERNEL),$(RELEASE_TARGET_ROOT),$(IMAGE))

# The exact kernel's image (`make bench`).
exact-image: exact-kernel archive
	$(call flavour_image,exact,$(EXACT_KERNEL),$(EXACT_TARGET_ROOT),$(EXACT_IMAGE))

# The debug kernel's image, which the full suite boots.
test-image: kernel archive
	cargo build --release --target $(TARGET) -p taskman
	QSOE_KERNEL_ELF=$(DEBUG_KERNEL)/kernel.elf QSOE_ROOTSERVER_ELF=$(TARGET_DIR)/taskman \
	  cargo build --release --target $(TARGET) -p qsoe-loader
	cp $(TARGET_DIR)/qsoe-loader $(TEST_IMAGE)

lint: archive
	cargo fmt --all --check
	cargo fmt --manifest-path fuzz/Cargo.toml --check
	cargo clippy --workspace --lib --tests -- -D warnings
	cargo clippy --manifest-path fuzz/Cargo.toml -- -D warnings
	cargo clippy --release --target $(TARGET) -p taskman -p qsoe-loader -p libqsoe -- -D warnings
	QSOE_KERNEL_FLAVOUR=release cargo clippy --release --target $(TARGET) \
	  --target-dir $(RELEASE_TARGET_ROOT) -p taskman -- -D warnings
	cargo clippy --profile userland --target $(TARGET) -p qsoe-userland -- -D warnings

# With SEL4_SRC set the kernel is built first so that the ABI drift test
# compares our bindings with it.
host-test: $(if $(SEL4_SRC),kernel)
	cargo test --workspace

cross-build: archive
	cargo build --release --target $(TARGET) -p taskman -p qsoe-loader

# `make test T=ipc::pulse` (or T=a,b: name fragments) boots once and runs
# only the in-guest tests whose names contain one of them.
T ?=
# What the release kernel's boot runs: the tests that need no census.
RELEASE_SMOKE := boot::bootinfo,smp::every_core_runs,spawn::exit_status,spawn::argv_envp,fault::,ipc::send_receive_reply,ipc::msg_error,ipc::pulse$$,ipc::server_death_esrvrfault,thread::create_join,security::forged_tid_rejected,security::debug_calls_refused,dev::uart_echo,signal::sigint_from_console

# The release smoke boot first, then the full suite on the debug kernel
# (it spawns over 13,000 processes under TCG, 10,000 of them alive at once:
# about 12 minutes on a 2-core machine, but a loaded host has taken three
# times as long, so allow it an hour). With T, one boot of the debug
# kernel runs just those tests.
qemu-test:
	@if [ -z "$(SEL4_SRC)" ]; then \
	  echo "QEMU suite skipped: SEL4_SRC is not set (no seL4 kernel tree to build the image from)"; \
	elif [ -n "$(T)" ]; then \
	  $(MAKE) --no-print-directory test-image && \
	  $(HARNESS) test $(TEST_IMAGE) --timeout 3600 --append qsoe.tests=$(T); \
	else \
	  $(MAKE) --no-print-directory image test-image && \
	  $(HARNESS) test $(IMAGE) --timeout 300 --label release --append qsoe.tests=$(RELEASE_SMOKE) && \
	  $(HARNESS) test $(TEST_IMAGE) --timeout 3600; \
	fi

clean:
	rm -rf $(BUILD)
	cargo clean
