# appstats — the two commands: `make demo` (main job on the sandbox) and
# `make test` (everything CI checks). Both set up what they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# One build of Polars: maturin builds the extension in target/py, and
# tools/cargo-py runs clippy and the Rust tests with the same features,
# profile and PyO3 environment there (see Cargo.toml's feature alignment).
PY_TARGET := target/py
PY_DEPS := "maturin>=1.7,<2" "polars>=1.33" pyarrow pandas tqdm pytest nbclient nbformat \
	ipykernel matplotlib requests ruff mypy pandas-stubs

.PHONY: help venv develop demo test test-rust test-python lint format bench wheel smoke clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

$(VENV)/.deps-stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PY_DEPS)
	touch $@

venv: $(VENV)/.deps-stamp ## create .venv with the dev dependencies

develop: venv ## build the extension into .venv (release)
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin develop --release -q

demo: develop ## pull every report from the sandbox into out/*.parquet
	$(VENV)/bin/appstats demo --out out

# stubtest imports the built extension: _native.pyi must match it.
lint: develop ## cargo fmt --check, ruff, mypy --strict, stubtest of _native.pyi
	cargo fmt --check
	$(VENV)/bin/ruff check python tests $(wildcard benches)
	$(VENV)/bin/mypy --strict python/appstats tests/typing_sample.py
	$(PY) -m mypy.stubtest appstats._native --mypy-config-file pyproject.toml

# (ruff format is not applied yet: the code base predates it; see
# .pre-commit-config.yaml)
format: venv ## cargo fmt and ruff's safe fixes (import order, ...)
	cargo fmt
	$(VENV)/bin/ruff check --fix python tests $(wildcard benches)

# clippy (-D warnings, python feature, every target) and the Rust tests in
# one build that reuses the extension's dependencies.
test-rust: develop ## clippy -D warnings and the Rust tests, one build
	tools/cargo-py clippy-test

test-python: develop ## pytest, doctests and notebooks
	$(PY) -m pytest -q tests --doctest-modules python/appstats

test: lint test-rust test-python smoke ## everything CI checks

bench: develop ## the benchmarks in benches/ (ratios against baselines)
	$(PY) benches/flatten.py
	$(PY) benches/fetch.py
	$(PY) benches/memory.py

wheel: venv ## build the abi3 wheel into dist/
	rm -rf dist
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin build --release -q -o dist

# The built abi3 wheel in a clean venv (only its declared dependencies).
smoke: wheel ## install the wheel in a clean venv and use it
	rm -rf .venv-smoke
	$(PYTHON) -m venv .venv-smoke
	.venv-smoke/bin/python -m pip install -q dist/appstats-*.whl
	cd /tmp && $(CURDIR)/.venv-smoke/bin/python $(CURDIR)/tests/smoke_wheel.py

clean: ## remove .venv, target, dist, out
	rm -rf $(VENV) .venv-smoke target dist out
