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
	ipykernel matplotlib requests ruff mypy pandas-stubs \
	"mkdocs>=1.6" "mkdocs-material>=9.5" "mkdocstrings[python]>=0.26" "mkdocs-jupyter>=0.25"

.PHONY: venv develop demo test test-rust test-python lint docs bench wheel sdist smoke clean

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

# The docs site (site/): README, API reference from the docstrings and
# stubs, the notebooks executed against the sandbox. --strict: a broken
# reference fails the build.
docs: develop
	rm -rf .cache/mkdocs-jupyter
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -d site

test: lint test-rust test-python docs smoke

bench: develop
	$(PY) benches/flatten.py
	$(PY) benches/fetch.py
	$(PY) benches/memory.py

wheel: venv
	rm -rf dist
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin build --release -q -o dist

# The sdist, a wheel built from it by pip (PEP 517, isolated build env with
# maturin from PyPI), installed in a clean venv with only its declared
# dependencies. pip runs under the dev venv's interpreter and shares the
# target dir, so the dependencies are not compiled again.
sdist: venv
	rm -rf dist/sdist
	$(VENV)/bin/maturin sdist -o dist/sdist
	CARGO_TARGET_DIR=$(CURDIR)/$(PY_TARGET) $(PY) -m pip wheel -q --no-deps \
		-w dist/sdist dist/sdist/appstats-*.tar.gz

smoke: sdist
	rm -rf .venv-smoke
	$(PYTHON) -m venv .venv-smoke
	.venv-smoke/bin/python -m pip install -q dist/sdist/appstats-*.whl
	cd /tmp && $(CURDIR)/.venv-smoke/bin/python $(CURDIR)/tests/smoke_wheel.py

clean:
	rm -rf $(VENV) .venv-smoke target dist out site .cache
