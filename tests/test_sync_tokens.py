"""The token store: Baidu programs' single-use refresh tokens survive
rotations, crashes at every step, and never leak."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import stat
import subprocess
import sys

import polars as pl
import pytest

import appstats as aps
from appstats.sync import TokenStore, TokenStoreError, sandbox_config
from sync_helpers import write_toml

pytest.importorskip("deltalake")

TODAY = dt.date(2024, 4, 1)


def _store(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_file_is_private_atomic_and_locked(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "t" / "tokens.json"
    with TokenStore(p) as store:
        store.hook("a")("exchanging", None, None, None)
        assert store.pending("a")
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.next-secret")
        assert store.pending("a") is None
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        assert [x.name for x in p.parent.iterdir()] in (
            ["tokens.json", "tokens.json.lock"],
            ["tokens.json.lock", "tokens.json"],
        )
        with pytest.raises(TokenStoreError, match="in use by another sync"):
            TokenStore(p).open()
        assert "secret" not in repr(store)
        assert store.access_token("a") is not None
    assert _store(p)["apps"]["a"]["refresh_token"] == "27.next-secret"
    with TokenStore(p) as again:  # the lock is released on close
        assert again.grant("a", refresh_token="27.first", auth_code=None) == (
            "27.first",
            "refresh_token",
        )  # a token the store never saw: a new authorisation
        again.mark_seed("a", "27.first")
        assert again.grant("a", refresh_token="27.first", auth_code=None) == (
            "27.next-secret",
            "refresh_token",
        )
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenStoreError, match="not a token store"):
        TokenStore(p).open()


def test_rotation_is_stored_and_access_tokens_reused(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(
            sb,
            tmp_path / "lake",
            start="2024-03-28",
            providers=["baidu"],
            reports=["user_trend", "region"],
        )
        first = aps.sync(cfg, today=TODAY, progress=False)
        assert set(first["status"]) == {"ok"}
        assert sb.baidu_refreshes() == {a["app_id"]: 1 for a in sb.apps("baidu")}
        stored = _store(cfg.token_store)["apps"]
        for name, a in zip(("program1", "program2"), sb.apps("baidu"), strict=True):
            assert stored[name]["refresh_token"] != a["refresh_token"]
            assert "pending_since" not in stored[name]
        aps.sync(cfg, today=TODAY, progress=False)
        # within the hour: the cached access tokens, no refresh
        assert sb.baidu_refreshes() == {a["app_id"]: 1 for a in sb.apps("baidu")}
    assert stat.S_IMODE(os.stat(cfg.token_store).st_mode) == 0o600
    # no token in the tables or the run log
    secrets = [
        v
        for rec in stored.values()
        for k, v in rec.items()
        if k in ("refresh_token", "access_token")
    ]
    lake = pathlib.Path(cfg.uri)
    text = "".join(str(pl.read_delta(str(p)).to_dicts()) for p in lake.iterdir())
    assert secrets and not any(s in text for s in secrets)


CRASH = """
import os, sys, appstats.sync as s
from appstats.sync import tokens
when = sys.argv[1]
hook = tokens.TokenStore.hook
def dying(self, app):
    inner = hook(self, app)
    def on_token(event, *a):
        if event == "granted" and when == "before_persist":
            os._exit(9)          # Baidu rotated the token; the process dies
        inner(event, *a)
        if event == when or (event == "granted" and when == "after_persist"):
            os._exit(9)
    return on_token
tokens.TokenStore.hook = dying
s.run(sys.argv[2], today=sys.argv[3], progress=False)
"""


@pytest.mark.parametrize("when", ["exchanging", "after_persist", "before_persist"])
def test_a_crash_at_each_step_of_a_refresh(tmp_path: pathlib.Path, when: str) -> None:
    """Killed after the pending mark, after the new token is stored, or in
    the one window no client can close (Baidu rotated, not yet stored)."""
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, tmp_path / "lake", start="2024-03-30", providers=["baidu"], reports=["user_trend"]
        )
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        r = subprocess.run(
            [sys.executable, "-c", CRASH, when, str(toml), str(TODAY)],
            env=os.environ.copy(),
            timeout=120,
        )
        assert r.returncode == 9
        app_id = sb.apps("baidu")[0]["app_id"]
        store = _store(cfg.token_store)["apps"]["program1"]
        if when == "exchanging":
            # nothing reached Baidu: the first token still works
            assert sb.baidu_refreshes() == {} and store["pending_since"]
            rerun = aps.sync(toml, today=TODAY, progress=False)
            assert set(rerun["status"]) == {"ok"}
            assert "pending_since" not in _store(cfg.token_store)["apps"]["program1"]
        elif when == "after_persist":
            assert sb.baidu_refreshes() == {app_id: 1} and "pending_since" not in store
            rerun = aps.sync(toml, today=TODAY, progress=False)
            assert set(rerun["status"]) == {"ok"}
            assert sb.baidu_refreshes() == {app_id: 1}, "the stored access token was used"
        else:
            # Baidu spent the token, the store never heard of the new one:
            # the next run says so, names the remedy, and fails only this app
            assert sb.baidu_refreshes() == {app_id: 1} and store["pending_since"]
            rerun = aps.sync(toml, today=TODAY, progress=False)
            err = rerun["error"][0]
            assert rerun["status"][0] == "failed" and err.startswith("AuthError")
            assert "interrupted" in err or "never stored" in err
            assert "auth_code" in err
            # re-authorisation: the new code in the config restores access
            text = toml.read_text(encoding="utf-8").replace(
                'name = "program1"', 'name = "program1"\nauth_code = "env:SB_CODE"'
            )
            toml.write_text(text, encoding="utf-8")
            os.environ["SB_CODE"] = sb.apps("baidu")[0]["auth_code"]
            again = aps.sync(toml, today=TODAY, progress=False)
            assert set(again["status"]) == {"ok"}
            assert "pending_since" not in _store(cfg.token_store)["apps"]["program1"]
