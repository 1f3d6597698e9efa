from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# Rust log events reach Python logging through pyo3-log, which caches each
# logger's level the first time it is used: open the `appstats` loggers to
# DEBUG before the extension is loaded, so that `caplog` (tests/api/test_secrets.py)
# sees every event whatever ran before. Handlers still filter what is shown.
logging.getLogger("appstats").setLevel(logging.DEBUG)

import appstats as aps  # noqa: E402
from tests.helpers import FAULT_MATRIX, FAULT_MATRIX_FAULTS, FAULT_MATRIX_PROVIDERS  # noqa: E402

# tests/scripts/*.py are programs that tests/api/test_lifecycle.py runs in fresh
# interpreters; importing them (as --doctest-modules would) runs them inside
# pytest's process, where other tests' imports may hold the signal handlers.
collect_ignore_glob = ["scripts/*", "smoke_wheel.py"]


@pytest.fixture
def sb() -> Iterator[aps.Sandbox]:
    with aps.Sandbox(seed=7) as s:
        yield s


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """Print the provider × fault matrix collected by providers/test_fault_matrix.py."""
    if not FAULT_MATRIX:
        return
    faults = FAULT_MATRIX_FAULTS or sorted({f for f, _ in FAULT_MATRIX})
    provs = FAULT_MATRIX_PROVIDERS
    cells = {(f, p): FAULT_MATRIX.get((f, p), "n/a") for f in faults for p in provs}
    w0 = max(len("fault"), *(len(f) for f in faults))
    ws = {p: max(len(p), *(len(cells[(f, p)]) for f in faults)) for p in provs}
    tr = terminalreporter
    tr.section("fault matrix (provider × fault)")
    tr.write_line(" | ".join(["fault".ljust(w0)] + [p.ljust(ws[p]) for p in provs]))
    tr.write_line("-+-".join(["-" * w0] + ["-" * ws[p] for p in provs]))
    for f in faults:
        tr.write_line(" | ".join([f.ljust(w0)] + [cells[(f, p)].ljust(ws[p]) for p in provs]))
