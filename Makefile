# appstats — the two commands: `make demo` (main job on the sandbox) and
# `make test` (everything CI checks). Both set up what they need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# One build of Polars: maturin builds the extension in target/py, and
# tools/cargo-py runs clippy and the Rust tests with the same features,
# profile and PyO3 environment there (see Cargo.toml's feature alignment).
PY_TARGET := target/py
# What building the extension needs (seconds to install) ...
BUILD_DEPS := "maturin>=1.7,<2" "polars>=1.33"
# ... and the dev tools: pyspark, dlt, mkdocs, ... (a minute or more of
# downloads on a fresh machine, installed while Polars compiles).
PY_DEPS := pyarrow "pandas<3" tqdm pytest nbclient nbformat \
	ipykernel matplotlib requests "ruff==0.17.6" mypy pandas-stubs "deltalake>=1.2,<2" duckdb \
	"pyspark>=4.0,<5" "dlt[duckdb]>=1.10" "moto[server]>=5" \
	"mkdocs>=1.6" "mkdocs-material>=9.5" "mkdocstrings[python]>=0.26" "mkdocs-jupyter>=0.25" \
	"vl-convert-python>=1.7" "playwright>=1.40"
# What `make demo` runs beyond the extension: the sync and report extras.
DEMO_DEPS := "deltalake>=1.2,<2" "pyarrow>=14" "vl-convert-python>=1.7"
# Targets that use the built extension and the tools depend on `setup`;
# `make test` sets it up once and runs them with BUILT=1.
SETUP := $(if $(BUILT),,setup)
# The browser tests' chromium (Debian's package, driven by playwright).
BROWSER := $(if $(BUILT),,browser)

.PHONY: help venv develop setup browser checks niced-checks demo test test-rust test-python lint format docs docs-offline bench wheel sdist smoke clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

$(VENV)/.build-stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(BUILD_DEPS)
	touch $@

# niced: under `make setup` it runs beside the Rust build, which is the
# longer of the two; pip's own CPU work (e.g. building pyspark's wheel from
# its 400 MB sdist on a fresh machine) should not slow the build down.
$(VENV)/.deps-stamp: $(VENV)/.build-stamp
	nice -n 10 $(PY) -m pip install -q $(PY_DEPS)
	touch $@

venv: $(VENV)/.deps-stamp ## create .venv with the dev dependencies

develop: $(VENV)/.build-stamp ## build the extension into .venv (release)
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin develop --release -q

# The build and the tools' downloads side by side (different pip packages:
# maturin only installs appstats itself, its dependency is already there).
setup: ## develop + venv, in parallel
	$(MAKE) -j2 --output-sync=line develop venv

$(VENV)/.demo-stamp: $(VENV)/.build-stamp
	$(PY) -m pip install -q $(DEMO_DEPS)
	touch $@

# Only what the demo runs: the extension and the sync and report extras
# (not the dev tools).
demo: $(if $(BUILT),,develop $(VENV)/.demo-stamp) ## sandbox: out/*.parquet, a synced lake, out/report.html
	$(VENV)/bin/appstats demo --out out
	$(VENV)/bin/appstats report --lake out/lake -o out/report.html
	@echo "report: $(CURDIR)/out/report.html (one file, opens offline)"

# Debian's chromium for the browser tests (tests/test_report.py, make
# docs-offline); playwright cannot download its own browser here. Installed
# when missing (CI runs as root); where it cannot be, the tests skip and
# say so loudly.
browser: ## install chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get) for the browser tests"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || true; \
	  fi; \
	  command -v chromium >/dev/null 2>&1 || { \
	    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	    echo "!!! chromium is missing and cannot be installed here (needs root and"; \
	    echo "!!! apt-get): the browser tests of the report and the docs SKIP"; \
	    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; }; }

# stubtest imports the built extension: _native.pyi must match it.
lint: $(SETUP) ## cargo fmt --check, ruff check/format --check, mypy --strict, stubtest
	cargo fmt --check
	$(VENV)/bin/ruff check python tests $(wildcard benches)
	$(VENV)/bin/ruff format --check python tests $(wildcard benches)
	$(VENV)/bin/mypy --strict python/appstats tests/typing_sample.py
	$(PY) -m mypy.stubtest appstats._native --mypy-config-file pyproject.toml

# ruff is pinned (PY_DEPS, .pre-commit-config.yaml): a new ruff release
# may format differently, and `make lint` checks the format.
format: venv ## cargo fmt, ruff's safe fixes (import order, ...) and ruff format
	cargo fmt
	$(VENV)/bin/ruff check --fix python tests $(wildcard benches)
	$(VENV)/bin/ruff format python tests $(wildcard benches)

# clippy (-D warnings, python feature, every target) and the Rust tests in
# one build that reuses the extension's dependencies.
test-rust: $(SETUP) ## clippy -D warnings and the Rust tests, one build
	tools/cargo-py clippy-test

test-python: $(SETUP) $(BROWSER) ## pytest, doctests and notebooks
	$(PY) -m pytest -q tests --doctest-modules python/appstats

# The docs site (site/): README, API reference from the docstrings and
# stubs, the notebooks executed against the sandbox. --strict: a broken
# reference fails the build.
docs: $(SETUP) ## the docs site into site/ (mkdocs --strict, notebooks executed)
	rm -rf .cache/mkdocs-jupyter
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -d site

# The built site opened from file:// in chromium with every request outside
# file:// blocked and counted: zero allowed (no Google Fonts, no GitHub API).
docs-offline: $(SETUP) $(BROWSER) ## the built site/ makes no external request (after docs)
	$(PY) tests/scripts/offline_check.py site/index.html site/notebooks/metrics/index.html \
		site/report/index.html

# One build, then everything else at once: pytest (its lifecycle,
# interrupt and rate tests measure time) at normal priority, and beside it,
# niced so that they only take the CPU pytest leaves idle, the Rust tests
# (a compile) and lint, docs and the wheel smoke test.
test: ## everything CI checks
	$(MAKE) -j2 --output-sync=line setup browser
	$(MAKE) BUILT=1 -j2 --output-sync=target test-python niced-checks

niced-checks: $(SETUP)
	nice -n 19 $(MAKE) BUILT=1 -j2 --output-sync=target test-rust checks

checks: $(SETUP) ## lint, docs and the smoke test, one after another
	$(MAKE) BUILT=1 lint
	$(MAKE) BUILT=1 docs
	$(MAKE) BUILT=1 docs-offline
	$(MAKE) BUILT=1 smoke

bench: $(SETUP) ## the benchmarks in benches/ (ratios against baselines)
	$(PY) benches/flatten.py
	$(PY) benches/fetch.py
	$(PY) benches/memory.py
	$(PY) benches/pressure.py
	$(PY) benches/overhead.py

wheel: $(VENV)/.build-stamp ## build the abi3 wheel into dist/
	rm -rf dist
	CARGO_TARGET_DIR=$(PY_TARGET) $(VENV)/bin/maturin build --release -q -o dist

# The sdist, a wheel built from it by pip (PEP 517, isolated build env with
# maturin from PyPI), installed in a clean venv with only its declared
# dependencies. pip runs under the dev venv's interpreter and shares the
# target dir, so the dependencies are not compiled again.
sdist: $(VENV)/.build-stamp ## the sdist and a wheel built from it (dist/sdist)
	rm -rf dist/sdist
	$(VENV)/bin/maturin sdist -o dist/sdist
	CARGO_TARGET_DIR=$(CURDIR)/$(PY_TARGET) $(PY) -m pip wheel -q --no-deps \
		-w dist/sdist dist/sdist/appstats-*.tar.gz

smoke: sdist ## install the sdist-built wheel in a clean venv and use it
	rm -rf .venv-smoke
	$(PYTHON) -m venv .venv-smoke
	.venv-smoke/bin/python -m pip install -q dist/sdist/appstats-*.whl
	cd /tmp && $(CURDIR)/.venv-smoke/bin/python $(CURDIR)/tests/smoke_wheel.py

clean: ## remove .venv, target, dist, out, site
	rm -rf $(VENV) .venv-smoke target dist out site .cache
