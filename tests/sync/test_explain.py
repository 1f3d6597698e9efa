"""Why Baidu refused a program's stored refresh token: a refresh an earlier
run never stored (it stopped in between), or a token another client spent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import shutil

import pytest

import appstats as aps
from appstats.sync import SyncConfig, TokenStore, sandbox_config

pytest.importorskip("deltalake")

TODAY = dt.date(2024, 4, 1)


def _spent_by_a_copy(sb: aps.Sandbox, d: pathlib.Path) -> SyncConfig:
    """A synced program whose next refresh token a copy of its token store
    then spent (another machine, a restored backup)."""
    cfg = sandbox_config(
        sb,
        d / "lake",
        start="2024-03-30",
        providers=["baidu"],
        reports=["user_trend"],
        token_store=d / "tokens.json",
    )
    assert set(aps.sync(cfg, today=TODAY, progress=False)["status"]) == {"ok"}
    shutil.copy(d / "tokens.json", d / "copy.json")
    other = dataclasses.replace(cfg, uri=str(d / "other-lake"), token_store=d / "copy.json")
    assert set(aps.sync(other, today=TODAY, progress=False)["status"]) == {"ok"}
    return cfg


def test_a_token_spent_by_another_client_is_not_called_an_interrupted_refresh(
    tmp_path: pathlib.Path,
) -> None:
    """Issue 20: the "refresh was interrupted" diagnosis was given when the
    token was spent by another client (the refused refresh of the run itself
    left the pending record it blamed)."""
    # access tokens of 60 s: every run refreshes (none is cached for reuse)
    with aps.Sandbox(apps=1, today=TODAY, token_ttl=60) as sb:
        cfg = _spent_by_a_copy(sb, tmp_path)
        run = aps.sync(cfg, today=TODAY, progress=False)
    err = run["error"][0]
    assert run["status"][0] == "failed" and err.startswith("AuthError"), err
    assert "interrupted" not in err and "never stored" not in err, err
    assert "spent by another client" in err and "copy of this token store" in err
    assert "re-authorise" in err and "auth_code" in err


def test_a_refresh_an_earlier_run_never_stored_is_named(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(apps=1, today=TODAY, token_ttl=60) as sb:
        cfg = _spent_by_a_copy(sb, tmp_path)
        # as if the last run had died after Baidu rotated the token, before
        # the store heard of the new one
        assert cfg.token_store is not None
        with TokenStore(cfg.token_store) as store:
            store.hook("program1")("exchanging", None, None, None)
            began = store.pending("program1")
        run = aps.sync(cfg, today=TODAY, progress=False)
    err = run["error"][0]
    assert run["status"][0] == "failed" and err.startswith("AuthError"), err
    assert f"began at {began}" in err and "never stored" in err, err
    assert "another client" not in err
    assert "re-authorise" in err and "auth_code" in err
