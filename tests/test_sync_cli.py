"""`appstats sync` from a shell: the literal-secret warning without -v."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("deltalake")


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
