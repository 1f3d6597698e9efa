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

.PHONY: venv develop demo test test-rust test-python lint bench wheel smoke clean

$(VENV)/.deps-stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PY_DEPS)
	touch $@

venv: $(VENV)/.deps-stamp

develop: venv
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin develop --release -q

demo: develop
	$(VENV)/bin/appstats demo --out out

lint: venv
	cargo fmt --check
	$(VENV)/bin/ruff check python tests $(wildcard benches)
	$(VENV)/bin/mypy --strict python/appstats tests/typing_sample.py

# clippy (-D warnings, python feature, every target) and the Rust tests in
# one build that reuses the extension's dependencies.
test-rust: develop
	tools/cargo-py clippy-test

test-python: develop
	$(PY) -m pytest -q tests --doctest-modules python/appstats

test: lint test-rust test-python smoke

bench: develop
	$(PY) benches/flatten.py
	$(PY) benches/fetch.py
	$(PY) benches/memory.py
	$(PY) benches/pressure.py
	$(PY) benches/overhead.py

wheel: venv
	rm -rf dist
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin build --release -q -o dist

# The built abi3 wheel in a clean venv (only its declared dependencies).
smoke: wheel
	rm -rf .venv-smoke
	$(PYTHON) -m venv .venv-smoke
	.venv-smoke/bin/python -m pip install -q dist/appstats-*.whl
	cd /tmp && $(CURDIR)/.venv-smoke/bin/python $(CURDIR)/tests/smoke_wheel.py

clean:
	rm -rf $(VENV) .venv-smoke target dist out
