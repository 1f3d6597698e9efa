"""The token store: Baidu programs' single-use refresh tokens survive
rotations, crashes at every step, and never leak."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import pathlib
import stat
import subprocess
import sys
from typing import Any

import polars as pl
import pytest

import appstats as aps
from appstats.sync import TokenStore, TokenStoreError, sandbox_config, tokens
from tests.sync.helpers import write_toml

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
        # the store, its lock, and the state before the last write (0600)
        assert sorted(x.name for x in p.parent.iterdir()) == [
            "tokens.json",
            "tokens.json.bak",
            "tokens.json.lock",
        ]
        assert stat.S_IMODE(os.stat(f"{p}.bak").st_mode) == 0o600
        assert "pending_since" in _store(pathlib.Path(f"{p}.bak"))["apps"]["a"]
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


@pytest.mark.slow
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


# -- writes are complete or absent -----------------------------------------------


def _short_writes(monkeypatch: pytest.MonkeyPatch, *, at_most: int, fail_after: int | None) -> None:
    """``os.write`` in the store writes at most ``at_most`` bytes a call and,
    after ``fail_after`` bytes in one file, fails as under a file-size limit."""
    real = os.write
    written: dict[int, int] = {}

    def write(fd: int, data: bytes) -> int:
        done = written.get(fd, 0)
        if fail_after is not None and done >= fail_after:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
        room = at_most if fail_after is None else min(at_most, fail_after - done)
        n = real(fd, bytes(data[:room]))
        written[fd] = done + n
        return n

    monkeypatch.setattr(tokens.os, "write", write)
    real_close = os.close

    def close(fd: int) -> None:
        written.pop(fd, None)
        real_close(fd)

    monkeypatch.setattr(tokens.os, "close", close)


def test_short_writes_are_continued(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "tokens.json"
    _short_writes(monkeypatch, at_most=7, fail_after=None)
    with TokenStore(p) as store:
        store.hook("a")("exchanging", None, None, None)
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.next-secret")
    assert _store(p)["apps"]["a"]["refresh_token"] == "27.next-secret"
    assert sorted(x.name for x in tmp_path.iterdir()) == [
        "tokens.json",
        "tokens.json.bak",
        "tokens.json.lock",
    ]


def test_a_backup_without_hard_links(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the file system has no hard links, the backup is a copy."""

    def no_links(src: Any, dst: Any) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(tokens.os, "link", no_links)
    p = tmp_path / "tokens.json"
    with TokenStore(p) as store:
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.first-secret")
        first = p.read_bytes()
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.second-secret")
    bak = pathlib.Path(f"{p}.bak")
    assert bak.read_bytes() == first and stat.S_IMODE(bak.stat().st_mode) == 0o600


def test_a_failed_write_changes_nothing(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The old code renamed the short file into place; now a write that
    cannot finish leaves the store as it was, and an exchange whose result
    has no room is refused before anything is sent."""
    p = tmp_path / "tokens.json"
    with TokenStore(p) as store:
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.first-secret")
    before = p.read_bytes()
    _short_writes(monkeypatch, at_most=64, fail_after=len(before) + 20)
    with TokenStore(p) as store:
        with pytest.raises(TokenStoreError, match=r"File too large.*refresh was not sent"):
            store.hook("a")("exchanging", None, None, None)
        assert store.pending("a") is None  # nothing was sent: nothing pending
        with pytest.raises(TokenStoreError, match=r"File too large \(the store is unchanged\)"):
            store.mark_seed("a", "27.config-secret")
        assert p.read_bytes() == before
        # the provider rotated the token, and its result cannot be written:
        # the hook raises (the client does not use the token), the new token
        # stays in memory, and is written when the store can be written
        second = "27.second-secret-" + "x" * 40  # the state outgrows the limit
        with pytest.raises(TokenStoreError, match="unchanged") as e:
            store.hook("a")("granted", "26.acc2-secret", 3600.0, second)
        assert "secret" not in str(e.value)
        assert p.read_bytes() == before
        assert store.grant("a", refresh_token=None, auth_code=None)[0] == second
        assert store.access_token("a") is None  # not handed out before it is stored
        monkeypatch.undo()
    assert _store(p)["apps"]["a"]["refresh_token"] == second
    assert "new tokens of a are stored now" in caplog.text
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]
    assert "secret" not in caplog.text


def test_unwritable_at_close_names_the_programs(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    p = tmp_path / "tokens.json"
    with TokenStore(p) as store:
        store.hook("shop")("granted", "26.acc-secret", 3600.0, "27.first-secret")
    _short_writes(monkeypatch, at_most=64, fail_after=10)
    with TokenStore(p) as store, pytest.raises(TokenStoreError):
        store.hook("shop")("granted", "26.acc2-secret", 3600.0, "27.second-secret")
    assert "the new refresh tokens of shop are lost" in caplog.text
    assert "auth_code" in caplog.text and "secret" not in caplog.text


def test_an_unreadable_store_names_its_backup(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "tokens.json"
    with TokenStore(p) as store:
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.first-secret")
        store.hook("b")("granted", "26.acc-secret", 3600.0, "27.other-secret")
        store.hook("a")("exchanging", None, None, None)
        store.hook("a")("granted", "26.acc-secret", 3600.0, "27.second-secret")
    good = p.read_bytes()
    p.write_bytes(good[: len(good) // 2])  # truncated (by something else)
    with pytest.raises(TokenStoreError) as e:
        TokenStore(p).open()
    msg = str(e.value)
    assert "not a token store (invalid JSON: truncated or damaged)" in msg
    assert f"{p}.bak" in msg and "2 apps" in msg and f"cp -p {p}.bak {p}" in msg
    assert "a refresh of a was in progress" in msg and "secret" not in msg
    assert not TokenStore(p)._lockfile  # the failed open released the lock
    subprocess.run(["cp", "-p", f"{p}.bak", str(p)], check=True)
    with TokenStore(p) as store:  # the state before the last write
        assert store.grant("a", refresh_token=None, auth_code=None)[0] == "27.first-secret"
        assert store.pending("a")
    # an empty store, a lost one, and one whose backup is damaged too
    p.write_bytes(b"")
    with pytest.raises(TokenStoreError, match=r"\(empty\); its last good state is in"):
        TokenStore(p).open()
    p.unlink()
    with pytest.raises(TokenStoreError, match="is missing, but its backup is not"):
        TokenStore(p).open()
    p.write_bytes(b"{")
    pathlib.Path(f"{p}.bak").write_bytes(b"[")
    with pytest.raises(TokenStoreError, match="cannot be read either"):
        TokenStore(p).open()


def test_a_failed_store_stops_the_token_from_being_used(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Baidu rotated the token and the store cannot take it: the Rust client
    does not use the new access token, the program's task fails with an
    AuthError (no traceback, no panic), the store keeps the token and
    writes it at close: the next run goes on from it."""
    hook = TokenStore.hook

    def failing(self: TokenStore, app: str) -> Any:
        inner = hook(self, app)

        def on_token(event: str, *a: Any) -> None:
            if event == "granted" and not failed:
                failed.append(app)
                with monkeypatch.context() as m:
                    m.setattr(tokens, "_put", _efbig)
                    inner(event, *a)
            inner(event, *a)

        return on_token

    failed: list[str] = []
    monkeypatch.setattr(TokenStore, "hook", failing)
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, tmp_path / "lake", start="2024-03-30", providers=["baidu"], reports=["user_trend"]
        )
        app_id = sb.apps("baidu")[0]["app_id"]
        first = aps.sync(cfg, today=TODAY, progress=False)
        assert first["status"].to_list() == ["failed"]
        err = first["error"][0]
        assert err.startswith("AuthError") and "could not store" in err
        assert "File too large (the store is unchanged)" in err
        assert "interrupted" not in err
        assert sb.baidu_refreshes() == {app_id: 1}
        assert sb.requests_per_app("baidu").get(app_id, 0) == 0, "the new token was not used"
        stored = _store(cfg.token_store)["apps"]["program1"]
        assert stored["refresh_token"] != sb.apps("baidu")[0]["refresh_token"]
        monkeypatch.setattr(TokenStore, "hook", hook)
        again = aps.sync(cfg, today=TODAY, progress=False)
        assert again["status"].to_list() == ["ok"]
        assert sb.baidu_refreshes() == {app_id: 1}, "the stored access token was used"


def _efbig(fd: int, data: bytes) -> None:
    raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))


# -- under a file-size limit and a full disk, in a fresh interpreter ------------------

LIMITED = """
import resource, sys
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
import appstats.sync as s
from appstats import AppStatsError
from appstats.sync.cli import report
try:
    summary = s.run(sys.argv[2], today=sys.argv[3], progress=False)
except AppStatsError as e:
    print(f"appstats: error: {type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(2)
for row in summary.iter_rows(named=True):
    print(row["app"], row["status"], row["error"], file=sys.stderr)
sys.exit(report(summary))
"""


def _filler(path: pathlib.Path, size: int) -> None:
    """A store with an old app's record padding it to about ``size`` bytes
    (bigger than any file the lake writes: only the store meets the limit)."""
    seeds = [f"{i:064x}" for i in range(size // 68)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "apps": {"old": {"seeds": seeds}}}, indent=1))
    os.chmod(path, 0o600)


def _sync_limited(toml: pathlib.Path, limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(limit), str(toml), str(TODAY)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _no_crash(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert "panic" not in r.stderr.lower(), r.stderr
    assert 0 <= r.returncode < 128, (r.returncode, r.stderr)  # no signal, no abort


@pytest.mark.slow
@pytest.mark.parametrize("room", ["seeds", "refresh", "enough"])
def test_sync_under_a_file_size_limit(tmp_path: pathlib.Path, room: str) -> None:
    """``ulimit -f`` (what made the old store a torn file): the store's
    write is refused at the seed mark, or the refresh is refused because its
    result would not fit (``seeds``, ``refresh``: nothing is spent), or the
    result fits in the space reserved before the refresh (``enough``). The
    store stays readable and the next run without the limit syncs every
    program: zero lost tokens, no traceback, no panic."""
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, tmp_path / "lake", start="2024-03-28", providers=["baidu"], reports=["user_trend"]
        )
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        _filler(cfg.token_store, 48_000)
        size = cfg.token_store.stat().st_size
        # the store once both programs' seeds are marked
        scratch = tmp_path / "scratch" / "tokens.json"
        _filler(scratch, 48_000)
        with TokenStore(scratch) as s:
            for name, a in zip(("program1", "program2"), sb.apps("baidu"), strict=True):
                s.mark_seed(name, a["refresh_token"])
        seeded = scratch.stat().st_size
        limit = {
            "seeds": size + 20,
            "refresh": seeded + 100,
            "enough": seeded + 3 * tokens.RESERVE_BYTES,
        }[room]
        r = _sync_limited(toml, limit)
        _no_crash(r)
        every = {a["app_id"]: 1 for a in sb.apps("baidu")}
        if room == "enough":
            assert r.returncode == 0, r.stderr
            assert sb.baidu_refreshes() == every
        else:
            assert r.returncode > 0, r.stderr
            assert "File too large" in r.stderr, r.stderr
            if room == "seeds":
                assert r.returncode == 2 and "TokenStoreError" in r.stderr
            else:
                assert r.stderr.count("failed AuthError") == 2, r.stderr
                assert "the refresh was not sent" in r.stderr
            assert sb.baidu_refreshes() == {}, "nothing was spent"
        assert "secret" not in r.stderr
        stored = _store(cfg.token_store)["apps"]
        assert not any(rec.get("pending_since") for rec in stored.values())
        assert not [x for x in cfg.token_store.parent.iterdir() if x.name.endswith(".tmp")]
        # the next run, without the limit, on the same sandbox: zero lost tokens
        again = _sync_limited(toml, 0)
        assert again.returncode == 0, again.stderr
        assert sb.baidu_refreshes() == every
        stored = _store(cfg.token_store)["apps"]
        assert all(stored[n]["refresh_token"] for n in ("program1", "program2"))


@pytest.mark.slow
@pytest.mark.parametrize("free_pages", [1, 4, 6, 8])
def test_sync_on_a_full_disk(tmp_path: pathlib.Path, free_pages: int) -> None:
    """The store on a tiny tmpfs, filled up but for a page or a few (needs
    root to mount one; skipped elsewhere): the refresh is refused before
    anything is spent, or its result fits in the space reserved for it; no
    token is lost either way."""
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    try:
        with aps.Sandbox(apps=2, today=TODAY) as sb:
            cfg = sandbox_config(
                sb,
                tmp_path / "lake",
                start="2024-03-28",
                providers=["baidu"],
                reports=["user_trend"],
                token_store=disk / "tokens.json",
            )
            toml = tmp_path / "sync.toml"
            write_toml(sb, cfg, toml)
            fill = disk / "fill"
            fd = os.open(fill, os.O_WRONLY | os.O_CREAT, 0o600)
            try:  # the disk is full ...
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, bytes(4096))
            finally:
                os.close(fd)
            page = os.statvfs(disk).f_frsize
            os.truncate(fill, fill.stat().st_size - free_pages * page)  # ... but for a few pages
            r = _sync_limited(toml, 0)
            _no_crash(r)
            every = {a["app_id"]: 1 for a in sb.apps("baidu")}
            spent = sb.baidu_refreshes()
            # each program refreshed (its result stored) or was refused
            # before anything was sent
            assert spent.items() <= every.items()
            if spent != every:
                assert r.returncode > 0 and "No space left on device" in r.stderr, r.stderr
                assert "could not store" not in r.stderr, r.stderr
            assert "secret" not in r.stderr
            stored = _store(cfg.token_store)["apps"] if cfg.token_store.exists() else {}
            assert not any(rec.get("pending_since") for rec in stored.values())
            assert sum(1 for rec in stored.values() if rec.get("refresh_token")) == len(spent)
            fill.unlink()
            again = _sync_limited(toml, 0)
            assert again.returncode == 0, again.stderr
            assert sb.baidu_refreshes() == every
    finally:
        subprocess.run(["umount", str(disk)], check=False)
