# appstats — the two commands: `make demo` (main job on the sandbox) and
# `make test` (everything CI checks). Both set up what they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# cargo test (no `python` feature) and maturin (with it) build polars with
# different features: separate target dirs avoid rebuilding it each time.
RUST_TARGET := target/rust
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
	CARGO_TARGET_DIR=$(RUST_TARGET) cargo clippy --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests $(wildcard benches)
	$(VENV)/bin/mypy --strict python/appstats tests/typing_sample.py

test-rust:
	CARGO_TARGET_DIR=$(RUST_TARGET) cargo test

test-python: develop
	$(PY) -m pytest -q tests --doctest-modules python/appstats

test: lint test-rust test-python smoke

bench: develop
	$(PY) benches/flatten.py
	$(PY) benches/fetch.py
	$(PY) benches/memory.py

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
