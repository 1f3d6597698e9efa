"""`appstats sync` from a shell: the literal-secret warning without -v, and
`--today` for sandboxes (refused against real providers unless past)."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import subprocess
import sys

import pytest

import appstats as aps
from appstats.sync import sandbox_config
from appstats.sync.apps import today_cn
from tests.sync.helpers import write_toml

pytest.importorskip("deltalake")

pytestmark = pytest.mark.slow  # the CLI in fresh interpreters (make test-fast leaves it out)

TODAY = dt.date(2024, 4, 1)


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter: no logging configured, as in a shell."""
    return subprocess.run(
        [sys.executable, "-m", "appstats.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


def test_literal_secrets_are_warned_about_without_v(tmp_path: pathlib.Path) -> None:
    """Issue 20: `--allow-literal-secrets` warned only with -v."""
    toml = tmp_path / "sync.toml"
    toml.write_text(
        f'[target]\nuri = "{tmp_path / "lake"}"\n'
        '[[mta]]\nname = "game"\napp_id = "500000001"\nsecret_key = "lit-secret-0001"\n'
        'base_url = "http://127.0.0.1:9"\nstart = "2024-03-01"\n',
        encoding="utf-8",
    )
    argv = ["sync", "--config", str(toml), "--until", "2024-03-02", "--dry-run"]
    refused = cli(*argv)
    assert refused.returncode == 2 and "literal secret" in refused.stderr
    r = cli(*argv, "--allow-literal-secrets")
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if "literal secret" in line]
    assert len(warned) == 1, r.stderr
    assert "WARNING" in warned[0] and "secret_key" in warned[0] and str(toml) in warned[0]
    assert r.stderr.count("\n") == 1, "only the warning: no other log record without -v"
    assert "lit-secret-0001" not in r.stderr + r.stdout
    # -v shows it once too (not twice)
    r = cli("-v", *argv, "--allow-literal-secrets")
    assert r.returncode == 0 and r.stderr.count("holds a literal secret") == 1, r.stderr


def test_today_for_a_sandbox(tmp_path: pathlib.Path) -> None:
    """Issue 20: the planner took the wall clock's today, so a sandbox with a
    fixed today planned every IM window as a gap."""
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(
            sb,
            tmp_path / "lake",
            start="2024-03-25",
            providers=["mta", "tim"],
            reports=["mta.user_basic", "tim.app_info"],
        )
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        plan = cli("sync", "--config", str(toml), "--today", str(TODAY), "--dry-run")
        assert plan.returncode == 0, plan.stderr
        assert "GAP" not in plan.stdout and "until 2024-03-31" in plan.stdout, plan.stdout
        r = cli("sync", "--config", str(toml), "--today", str(TODAY), "-q")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "2 tasks, 14 rows" in r.stdout, r.stdout
        bad = cli("sync", "--config", str(toml), "--today", "2024-04-31", "--dry-run")
        assert bad.returncode == 2 and "--today must be a YYYY-MM-DD date" in bad.stderr


def test_a_future_today_is_refused_against_real_providers(tmp_path: pathlib.Path) -> None:
    toml = tmp_path / "sync.toml"
    os.environ["T_CLI_KEY"] = "not-a-real-key"
    toml.write_text(
        f'[target]\nuri = "{tmp_path / "lake"}"\n'
        '[[mta]]\nname = "local"\napp_id = "500000001"\nsecret_key = "env:T_CLI_KEY"\n'
        'base_url = "http://127.0.0.1:9"\nstart = "2024-03-01"\n'
        '[[mta]]\nname = "prod"\napp_id = "500000002"\nsecret_key = "env:T_CLI_KEY"\n'
        'start = "2024-03-01"\n',
        encoding="utf-8",
    )
    future = today_cn() + dt.timedelta(days=2)
    r = cli("sync", "--config", str(toml), "--today", str(future), "--dry-run")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "prod" in r.stderr and "real provider" in r.stderr and "local" not in r.stderr
    assert "Traceback" not in r.stderr
    # a past today (a replay) is allowed: nothing is sent by a dry run
    r = cli("sync", "--config", str(toml), "--today", "2024-03-10", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "plan until 2024-03-09" in r.stdout
    # only apps on this machine (sandboxes): a future today is theirs to have
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text[: text.index('[[mta]]\nname = "prod"')], encoding="utf-8")
    r = cli("sync", "--config", str(toml), "--today", str(future), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"plan until {future - dt.timedelta(days=1)}" in r.stdout
