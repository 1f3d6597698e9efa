"""Helpers shared by the tests of several folders: the vendor documents'
samples in tests/fixtures, and the provider × fault matrix that
providers/test_fault_matrix.py fills and conftest.py prints."""

from __future__ import annotations

import json
import pathlib

FIXTURES = pathlib.Path(__file__).parent / "fixtures"

#: Outcomes of tests/providers/test_fault_matrix.py: (fault, provider) → short
#: text, printed as a table at the end of the session (conftest.py).
FAULT_MATRIX: dict[tuple[str, str], str] = {}
FAULT_MATRIX_PROVIDERS = ("baidu", "mta", "tim")
FAULT_MATRIX_FAULTS: list[str] = []


def fixture_text(*parts: str) -> str:
    return (FIXTURES.joinpath(*parts)).read_text(encoding="utf-8")


def fixture_json(*parts: str) -> dict:
    return json.loads(fixture_text(*parts))
