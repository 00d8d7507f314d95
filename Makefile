# Quick start: `make run` boots the system, `make test` tests everything.
# Both need SEL4_SRC to name an seL4 16.0.0 source tree for the kernel;
# without it, `make test` runs all that does not need the kernel.

TARGET       := riscv64gc-unknown-none-elf
BUILD        := $(CURDIR)/build
KERNEL_BUILD := $(BUILD)/kernel
KERNEL_ELF   := $(KERNEL_BUILD)/kernel.elf
IMAGE        := $(BUILD)/qsoe-image.elf
TARGET_DIR   := $(CURDIR)/target/$(TARGET)/release
HARNESS      := cargo run --quiet --release -p qemu-harness --
# What goes into the boot archive; point it at your own manifest to add
# programs built elsewhere: `make run MANIFEST=path/to/mine.toml`.
MANIFEST     ?= manifests/default.toml
USERLAND_DIR := $(CURDIR)/target/$(TARGET)/userland
ARCHIVE      := $(BUILD)/archive.cpio

export QSOE_KERNEL_BUILD := $(KERNEL_BUILD)
export QSOE_ARCHIVE := $(ARCHIVE)

FUZZ_SECONDS ?= 60

.PHONY: fuzz run test bench image kernel archive userland setup setup-kernel host-test cross-build lint qemu-test need-sel4 clean

run: need-sel4 image
	$(HARNESS) run $(IMAGE)

test: setup lint host-test cross-build qemu-test

bench: need-sel4 image
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
	@sel4-build/build-kernel.sh $(KERNEL_BUILD)

userland:
	cargo build --profile userland --target $(TARGET) -p qsoe-userland

# The userland programs the manifest names, packed into the CPIO archive
# taskman embeds.
archive: userland
	cargo run --quiet --release -p qsoe-archive -- pack \
	  --manifest $(MANIFEST) --bin-dir $(USERLAND_DIR) --out $(ARCHIVE)

image: kernel archive
	cargo build --release --target $(TARGET) -p taskman
	QSOE_KERNEL_ELF=$(KERNEL_ELF) QSOE_ROOTSERVER_ELF=$(TARGET_DIR)/taskman \
	  cargo build --release --target $(TARGET) -p qsoe-loader
	cp $(TARGET_DIR)/qsoe-loader $(IMAGE)

lint: archive
	cargo fmt --all --check
	cargo fmt --manifest-path fuzz/Cargo.toml --check
	cargo clippy --workspace --lib --tests -- -D warnings
	cargo clippy --manifest-path fuzz/Cargo.toml -- -D warnings
	cargo clippy --release --target $(TARGET) -p taskman -p qsoe-loader -p libqsoe -- -D warnings
	cargo clippy --profile userland --target $(TARGET) -p qsoe-userland -- -D warnings

# With SEL4_SRC set the kernel is built first so that the ABI drift test
# compares our bindings with it.
host-test: $(if $(SEL4_SRC),kernel)
	cargo test --workspace

cross-build: archive
	cargo build --release --target $(TARGET) -p taskman -p qsoe-loader

# The suite spawns over 2,000 processes under TCG; allow it 15 minutes.
qemu-test:
	@if [ -z "$(SEL4_SRC)" ]; then \
	  echo "QEMU suite skipped: SEL4_SRC is not set (no seL4 kernel tree to build the image from)"; \
	else \
	  $(MAKE) --no-print-directory image && $(HARNESS) test $(IMAGE) --timeout 900; \
	fi

clean:
	rm -rf $(BUILD)
	cargo clean
