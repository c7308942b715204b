# PFAD entry points. Every target installs what it needs first (scripts/setup.sh,
# idempotent, caches in ~/.cache/pfad).
.PHONY: demo test test-tsan test-unit bench fuzz build build-asan setup-demo setup-test clean install check-rules check-deploy

PRESET ?= release

demo: build
	build/pfad demo

test:
	scripts/test.sh

# ThreadSanitizer: its own build (build-tsan), the unit tests and the integration tests
# marked `tsan`. Not part of `make test` (docs/RELIABILITY.md says why).
test-tsan:
	scripts/test.sh tsan

test-unit: build
	ctest --preset $(PRESET) -L unit

bench: setup-test build
	scripts/bench.sh $(BENCH)

# Every libFuzzer target for FUZZ_SECONDS each (docs/FUZZING.md); fails on any crash.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/setup.sh fuzz
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Configure only when the build dir is new or the presets changed: once configured, ninja
# re-runs CMake itself when a CMakeLists.txt (or anything CMake read) changes.
BUILD_DIR_release := build
BUILD_DIR_asan-ubsan := build-asan
BUILD_DIR_tsan := build-tsan
BUILD_DIR := $(BUILD_DIR_$(PRESET))

build: $(BUILD_DIR)/build.ninja
	cmake --build --preset $(PRESET)

$(BUILD_DIR)/build.ninja: CMakePresets.json | setup-demo
	cmake --preset $(PRESET) >/dev/null

# The release binary, the systemd units, the Prometheus rules, the Airflow DAG and the
# configuration examples under PREFIX (and DESTDIR): docs/OPERATIONS.md, "Running PFAD as a service".
PREFIX ?= /usr/local
DESTDIR ?=
install:
	$(MAKE) build PRESET=release
	scripts/install.sh build/pfad $(PREFIX) $(DESTDIR)

# promtool check and unit tests of deploy/prometheus (part of make test; promtool comes from
# Debian's prometheus, which scripts/setup.sh test installs).
check-rules:
	scripts/check_deploy.sh rules

# Everything under deploy/: the rules, the units (systemd-analyze), make install into a temp dir.
check-deploy: build
	scripts/check_deploy.sh rules
	scripts/check_deploy.sh units
	scripts/check_deploy.sh install

setup-demo:
	scripts/setup.sh demo

setup-test:
	scripts/setup.sh test

clean:
	rm -rf build build-asan build-tsan build-fuzz
