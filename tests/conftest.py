from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import pytest

import appstats as aps

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture
def sb() -> Iterator[aps.Sandbox]:
    with aps.Sandbox(seed=7) as s:
        yield s


def fixture_text(*parts: str) -> str:
    return (FIXTURES.joinpath(*parts)).read_text(encoding="utf-8")


def fixture_json(*parts: str) -> dict:
    return json.loads(fixture_text(*parts))
