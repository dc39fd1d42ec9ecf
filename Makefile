# Front door. `make` builds build/strata; `make test` builds and runs every test;
# `make asan-test` runs the unit tests under ASan+UBSan. Each target first makes sure the
# build dependencies are installed (scripts/install-deps is idempotent and quick when done).
JOBS ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure --timeout 600 -j $(JOBS)

.PHONY: all deps release test unit-test mount-test asan-test clean

all: release

deps:
	@./scripts/install-deps

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@ln -sf release/src/cli/strata build/strata

test: release
	cd build/release && ctest $(CTEST_ARGS)

asan-test: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1 ctest $(CTEST_ARGS) -LE mount

clean:
	rm -rf build
