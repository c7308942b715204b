# PFAD entry points. Every target installs what it needs first (scripts/setup.sh,
# idempotent, caches in ~/.cache/pfad).
.PHONY: demo test test-unit bench build build-asan setup-demo setup-test clean

PRESET ?= release

demo: build
	build/pfad demo

test:
	scripts/test.sh

test-unit: build
	ctest --preset $(PRESET) -L unit

bench: setup-test build
	scripts/bench.sh $(BENCH)

build: setup-demo
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)

setup-demo:
	scripts/setup.sh demo

setup-test:
	scripts/setup.sh test

clean:
	rm -rf build build-asan build-tsan
