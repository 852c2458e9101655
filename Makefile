# One entry point for humans and CI. `make demo` and `make test` are the README's two commands;
# .ci/run calls `make test`.
PY ?= python3
PIP = $(PY) -m pip
# libpython, for the Rust tests of the bindings (anygram-py links it outside maturin builds).
PYLIBDIR := $(shell $(PY) -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')")

.PHONY: demo install install-dev lint test test-rs test-py bench-build wheel wheel-smoke

demo: install
	anygram demo

install:
	@echo "compiling the Rust engine (about 5 minutes on 2 cores, the first time)..."
	$(PIP) install -q -e .

# The test install builds the extension with Cargo's dev profile, the one clippy, `cargo test`
# and the benches use (Cargo.toml): every dependency is compiled once for all of them.
install-dev:
	@echo "compiling the Rust engine for the tests (a few minutes on 2 cores, the first time)..."
	MATURIN_PEP517_ARGS="--profile dev" $(PIP) install -q -e '.[test]'

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	@# The engine must never depend on Python.
	@if cargo tree -p anygram-core -e normal | grep -q pyo3; then \
		echo "anygram-core depends on pyo3"; exit 1; fi
	$(PY) -m ruff check python tests benchmarks
	$(PY) -m ruff format --check python tests benchmarks
	$(PY) -m mypy
	$(PY) -m mypy.stubtest anygram._core

# Benches are compiled (not run) in the test profile: they reuse the test build.
test-rs:
	LD_LIBRARY_PATH=$(PYLIBDIR) cargo test --workspace
	cargo test --workspace --benches --no-run

# Two passes: everything but the wall-clock tests on both cores (a file's tests stay on one
# worker, so module fixtures such as the Ray cluster start once), then the `timing` tests alone,
# so no other test's load decides whether they pass.
test-py:
	$(PY) -m pytest -n 2 --dist loadfile -m "not slow and not benchmark and not timing"
	$(PY) -m pytest -m timing

test: install-dev lint test-rs test-py wheel-smoke

bench-build:
	$(PY) benchmarks/bench_build.py

# The release wheel (manylinux, abi3; libgomp copied in) and the sdist, into dist/.
wheel:
	maturin build --release --auditwheel repair --out dist
	maturin sdist --out dist

# The packaging check CI runs: an sdist, a wheel built from the unpacked sdist (so the sdist is
# known to build; in the dev profile, reusing the test build's dependencies), installed into a
# fresh venv with the server extra, then tests/smoke_wheel.py run from outside the source tree.
SMOKE = build/smoke
wheel-smoke:
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)
	maturin sdist --out $(SMOKE)
	tar -xzf $(SMOKE)/anygram-*.tar.gz -C $(SMOKE)
	cd $(SMOKE)/anygram-*/ && CARGO_TARGET_DIR=$(CURDIR)/target \
		maturin build --profile dev --auditwheel repair --out $(CURDIR)/$(SMOKE)
	$(PY) -m venv $(SMOKE)/venv
	$(SMOKE)/venv/bin/pip install -q "$$(ls $(SMOKE)/anygram-*.whl)[server]" httpx
	cd $(SMOKE) && venv/bin/python $(CURDIR)/tests/smoke_wheel.py anygram-*.whl
