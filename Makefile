# One entry point for humans and CI. `make demo` and `make test` are the README's two commands;
# .ci/run calls `make test`.
PY ?= python3
PIP = $(PY) -m pip

.PHONY: demo install install-dev lint test test-rs test-py bench-build

demo: install
	anygram demo

install:
	@echo "compiling the Rust engine (about 5 minutes on 2 cores, the first time)..."
	$(PIP) install -q -e .

install-dev:
	$(PIP) install -q -e '.[test]'

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

test-rs:
	cargo test --workspace --exclude anygram-py
	cargo bench --workspace --exclude anygram-py --no-run

test-py:
	$(PY) -m pytest

test: install-dev lint test-rs test-py

bench-build:
	$(PY) benchmarks/bench_build.py
