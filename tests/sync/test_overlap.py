"""The daily load under production conditions (issue 20): overlapping runs
(the lake's lease, conflict-checked creates, repair of doubled rows), a lake
that cannot be written (checked before anything is sent, one line, no
traceback), a throttled provider (deferred, the others committed), commits
as the run goes, and the MTA retention's cohort sizes in the lake."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import pathlib
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator

import polars as pl
import pytest

import appstats as aps
from appstats.sync import DeltaStore, LakeLease, sandbox_config
from appstats.sync.store import CHECKED
from tests.sync.helpers import write_toml

deltalake = pytest.importorskip("deltalake")

TODAY = dt.date(2024, 4, 1)
REPORTS = ["mta.user_basic", "mta.retention", "tim.app_info"]
#: ... and a Baidu program's: its single-use refresh token must not be spent
WITH_BAIDU = [*REPORTS, "baidu.user_trend"]


def _read(lake: pathlib.Path, table: str) -> pl.DataFrame:
    return pl.read_delta(str(lake / table))


def _cli(toml: pathlib.Path, *extra: str, **popen: object) -> subprocess.Popen[str]:
    """`appstats sync` of ``toml`` in a fresh interpreter."""
    main = "import sys; from appstats.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", main, "sync", "--config", str(toml), "-q"]
    return subprocess.Popen(
        [*argv, "--today", str(TODAY), *extra],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[arg-type]
    )


# -- the lease ---------------------------------------------------------------


@pytest.mark.slow
def test_the_lease_is_one_runs_at_a_time(tmp_path: pathlib.Path) -> None:
    lake = str(tmp_path / "lake")
    first = LakeLease(DeltaStore(lake), ttl=60)
    first.acquire()
    second = LakeLease(DeltaStore(lake), ttl=60)
    with pytest.raises(aps.LakeBusy, match="held by run"):
        second.acquire()
    t0 = time.monotonic()
    with pytest.raises(aps.LakeBusy):
        LakeLease(DeltaStore(lake), wait=1.5).acquire()
    assert time.monotonic() - t0 >= 1.5, "lease_wait waits"
    first.renew()
    first.check()
    first.release()
    second.acquire()  # released: free at once
    second.release()


def test_an_expired_lease_is_taken_over_and_its_holder_stops(tmp_path: pathlib.Path) -> None:
    lake = str(tmp_path / "lake")
    old = LakeLease(DeltaStore(lake), ttl=0.3)
    old.acquire()
    old._stop.set()  # a holder that stopped renewing (hung, or a lost machine)
    time.sleep(0.5)
    new = LakeLease(DeltaStore(lake), ttl=60)
    new.acquire()
    with pytest.raises(aps.LakeBusy, match="taken over"):
        old.renew()
    with pytest.raises(aps.LakeBusy):
        old.check()
    new.release()


@pytest.mark.slow
def test_a_killed_holder_on_this_machine_frees_the_lease_at_once(tmp_path: pathlib.Path) -> None:
    lake = str(tmp_path / "lake")
    script = (
        "import appstats.sync as s, sys, time\n"
        f"s.LakeLease(s.DeltaStore({lake!r}), ttl=600).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    with pytest.raises(aps.LakeBusy):
        LakeLease(DeltaStore(lake)).acquire()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lease = LakeLease(DeltaStore(lake))
    lease.acquire()  # the holder's process is gone: no 10-minute wait
    lease.release()


def test_of_two_runs_taking_the_lease_at_once_one_wins(tmp_path: pathlib.Path) -> None:
    """Compare-and-swap through Delta's commit: two runs that read the same
    lease version cannot both take it."""
    lake = str(tmp_path / "lake")
    LakeLease(DeltaStore(lake)).acquire()  # a holder ...
    table = deltalake.DeltaTable(str(tmp_path / "lake" / "_lease"))
    a, b = LakeLease(DeltaStore(lake)), LakeLease(DeltaStore(lake))
    stale = deltalake.DeltaTable(str(tmp_path / "lake" / "_lease"))
    assert a._swap(table, a._row(dt.datetime.now(dt.timezone.utc)))
    assert not b._swap(stale, b._row(dt.datetime.now(dt.timezone.utc)))


def _at_once(*calls: Callable[[], object]) -> list[object]:
    """Run ``calls`` in threads released together; their results (or errors)."""
    barrier = threading.Barrier(len(calls))
    out: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as e:  # the test looks at it
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_of_two_runs_creating_the_lease_at_once_one_wins(tmp_path: pathlib.Path) -> None:
    """Two runs that both find no lease table create it at the same moment:
    exactly one holds the lease, and the table has one holder row (delta-rs
    would retry the losing create as an append: `DeltaStore.once`)."""
    for attempt in range(10):
        lake = str(tmp_path / f"lake{attempt}")
        a, b = LakeLease(DeltaStore(lake)), LakeLease(DeltaStore(lake))
        now = dt.datetime.now(dt.timezone.utc)
        won = _at_once(
            functools.partial(a._swap, None, a._row(now)),
            functools.partial(b._swap, None, b._row(now)),
        )
        assert sorted(won, key=str) == [False, True], (attempt, won)
        assert pl.read_delta(f"{lake}/_lease").height == 1, attempt


def test_two_writers_creating_a_table_at_the_same_moment_do_not_double_it(
    tmp_path: pathlib.Path,
) -> None:
    """Two writers (no lease) create one report table at the same moment,
    ten times: the loser's create fails and it replaces its slice."""
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, tmp_path / "seed", start="2024-03-25", providers=["mta"], reports=["user_basic"]
        )
        aps.sync(cfg, today=TODAY, progress=False)
    rows = _read(tmp_path / "seed", "mta_user_basic")
    report = aps.sync.REPORTS["mta.user_basic"]
    from appstats.sync.planner import PlannedTask

    task = PlannedTask(cfg.apps[0], report, None, dt.date(2024, 3, 25), dt.date(2024, 3, 31))
    for attempt in range(10):
        lake = str(tmp_path / f"lake{attempt}")
        one, two = DeltaStore(lake), DeltaStore(lake)
        errors = _at_once(
            functools.partial(one.replace, report, [task], [rows]),
            functools.partial(two.replace, report, [task], [rows]),
        )
        assert errors == [None, None], (attempt, errors)
        got = pl.read_delta(f"{lake}/mta_user_basic")
        assert got.height == rows.height, attempt


# -- overlapping syncs -----------------------------------------------------------


@pytest.mark.slow
def test_overlapping_syncs_never_double_a_row(tmp_path: pathlib.Path) -> None:
    """Two CLI syncs of MTA and IM apps started together on a fresh lake:
    one writes, the other exits 75 naming the holder (or, having started
    after the first finished, finds nothing new); no row is ever doubled."""
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        for attempt in range(4):
            lake = tmp_path / f"lake{attempt}"
            cfg = sandbox_config(sb, lake, start="2024-03-20", providers=["mta", "tim"])
            toml = tmp_path / f"sync{attempt}.toml"
            write_toml(sb, cfg, toml)
            procs = [_cli(toml), _cli(toml)]
            results = [(p.wait(timeout=120), p.communicate()) for p in procs]
            codes = sorted(code for code, _ in results)
            for code, (_, err) in results:
                assert code in (0, 75), err
                assert "Traceback" not in err and "panicked" not in err, err
                if code == 75:
                    assert "held by run" in err and err.count("\n") == 1, err
            assert codes[0] == 0
            ub = _read(lake, "mta_user_basic")
            assert ub.height == 2 * 12 and ub.select("app", "date").is_unique().all()
            im = _read(lake, "tim_app_info")
            assert im.select("app", "date").is_unique().all()


def test_two_runs_creating_a_table_at_once_do_not_double_it(tmp_path: pathlib.Path) -> None:
    """Without the lease (two writers that both saw no table), the second
    create fails Delta's commit and replaces its slices instead."""
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, lake, start="2024-03-25", providers=["mta"], reports=["user_basic"]
        )
        aps.sync(cfg, today=TODAY, progress=False)
    rows = _read(lake, "mta_user_basic")
    store = DeltaStore(str(lake))
    report = aps.sync.REPORTS["mta.user_basic"]
    exists = store.exists
    seen: list[str] = []

    def stale_exists(table: str) -> bool:  # what a writer saw before the other's create
        seen.append(table)
        return False if seen.count(table) == 1 else exists(table)

    store.exists = stale_exists  # type: ignore[method-assign]
    again = rows.with_columns(pl.col("fetched_at") + pl.duration(minutes=5))
    from appstats.sync.planner import PlannedTask

    task = PlannedTask(cfg.apps[0], report, None, dt.date(2024, 3, 25), dt.date(2024, 3, 31))
    store.replace(report, [task], [again])
    got = _read(lake, "mta_user_basic")
    assert got.height == rows.height
    assert got["fetched_at"].min() == again["fetched_at"].min(), "the slice was replaced"


def test_doubled_rows_of_an_older_version_are_repaired(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, lake, start="2024-03-01", providers=["mta"], reports=["user_basic"]
        )
        aps.sync(cfg, today=TODAY, progress=False)
        clean = _read(lake, "mta_user_basic").drop("fetched_at").sort("app", "date")
        # what two overlapping runs of the old version left: a blind append
        older = _read(lake, "mta_user_basic").with_columns(
            pl.col("fetched_at") - pl.duration(minutes=5)
        )
        table = deltalake.DeltaTable(str(lake / "mta_user_basic"))
        assert table.metadata().description == CHECKED  # created by this version
        table.alter.set_table_description("")  # an older version's table: no mark
        deltalake.write_deltalake(str(lake / "mta_user_basic"), older.to_arrow(), mode="append")
        assert _read(lake, "mta_user_basic").height == 2 * clean.height
        aps.sync(cfg, today=TODAY, progress=False)  # a lag run (3 days) repairs all 31
        got = _read(lake, "mta_user_basic")
        assert got.drop("fetched_at").sort("app", "date").equals(clean)
        # checked once: the mark is set, and later runs no longer scan the table
        assert deltalake.DeltaTable(str(lake / "mta_user_basic")).metadata().description == (
            CHECKED
        )
        assert DeltaStore(str(lake)).check(aps.sync.REPORTS["mta.user_basic"]) == 0


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """An S3-compatible server on 127.0.0.1 (moto's standalone server)."""
    pytest.importorskip("moto.server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{url}/lake", method="PUT"))
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait()


@pytest.mark.slow
def test_overlapping_syncs_on_an_object_store(tmp_path: pathlib.Path, s3: str) -> None:
    """The same on S3: the lease and the table creates are Delta commits,
    which delta-rs makes safe on S3 (conditional put)."""
    options = {
        "AWS_ENDPOINT_URL": s3,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "aws_conditional_put": "etag",
    }
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        for attempt in range(2):
            uri = f"s3://lake/run{attempt}"
            cfg = sandbox_config(sb, uri, start="2024-03-20", providers=["mta", "tim"])
            cfg = dataclasses.replace(
                cfg, storage_options=options, token_store=str(tmp_path / "tokens.json")
            )
            toml = tmp_path / f"s3-{attempt}.toml"
            write_toml(sb, cfg, toml)
            procs = [_cli(toml), _cli(toml)]
            codes = []
            for p in procs:
                _, err = p.communicate(timeout=120)
                assert p.returncode in (0, 75), err
                assert "Traceback" not in err, err
                codes.append(p.returncode)
            assert 0 in codes
            ub = pl.read_delta(f"{uri}/mta_user_basic", storage_options=options)
            assert ub.height == 2 * 12 and ub.select("app", "date").is_unique().all()
            runs = pl.read_delta(f"{uri}/_runs", storage_options=options)
            assert runs["run_id"].n_unique() == codes.count(0)


# -- the target before anything is sent ----------------------------------------------


def _one_line_error(proc: subprocess.Popen[str], code: int) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, (out, err)
    assert "Traceback" not in err and "panicked" not in err, err
    assert err.strip().count("\n") == 0, err
    return err


@pytest.mark.slow
def test_a_lake_that_cannot_be_written_stops_the_run_before_any_request(
    tmp_path: pathlib.Path,
) -> None:
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        # a lake path that is a file
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        cfg = sandbox_config(sb, blocker / "lake", start="2024-03-25", reports=WITH_BAIDU)
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        err = _one_line_error(_cli(toml), 2)
        assert str(blocker) in err and "Not a directory" in err, err
        # a full disk: writes fail (RLIMIT_FSIZE, as a full disk does)
        cfg = sandbox_config(sb, tmp_path / "full", start="2024-03-25", reports=WITH_BAIDU)
        write_toml(sb, cfg, toml)

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

        err = _one_line_error(_cli(toml, preexec_fn=limit), 2)
        assert "full" in err and "File too large" in err, err
        assert sb.request_count() == 0
        assert sb.baidu_refreshes() == {} or sum(sb.baidu_refreshes().values()) == 0


# -- a throttled provider, commits as the run goes -------------------------------------


@pytest.mark.slow
def test_a_throttled_provider_is_deferred_and_the_others_land(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-03-25", reports=REPORTS)
        sb.inject("code", 60005, provider="mta", times=None)  # rate limited, always
        t0 = time.monotonic()
        first = aps.sync(cfg, today=TODAY, progress=False)
        took = time.monotonic() - t0
        mta = first.filter(pl.col("provider") == "mta")
        assert set(mta["status"]) == {"deferred"}, mta
        assert mta["error"].str.starts_with("RateLimited").all()
        assert set(first.filter(pl.col("provider") == "tim")["status"]) == {"ok"}
        assert _read(lake, "tim_app_info").height > 0
        assert took < 60, f"a throttled provider held the run for {took:.0f} s"
        sb.clear_faults()
        again = aps.sync(cfg, today=TODAY, progress=False)
    assert set(again.filter(pl.col("provider") == "mta")["status"]) == {"ok"}
    runs = _read(lake, "_runs")
    assert runs.filter(pl.col("status") == "deferred").height == mta.height


@pytest.mark.slow
def test_slices_are_committed_while_a_slow_app_still_runs(tmp_path: pathlib.Path) -> None:
    """A kill while one provider is still slow keeps what the others
    fetched: batches are committed by age, not only at the end."""
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-03-25", reports=REPORTS)
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        sb.inject("delay", 30, provider="mta", times=None)
        script = (
            "import appstats.sync as s\n"
            f"s.run({str(toml)!r}, today='{TODAY}', progress=False, batch_seconds=0.5)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
        log = lake / "_runs" / "_delta_log"  # written after the data
        deadline = time.monotonic() + 25
        while not (log.is_dir() and any(log.glob("*.json"))):
            assert proc.poll() is None, "the run ended before the slow app did"
            assert time.monotonic() < deadline, "nothing committed while MTA was slow"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _read(lake, "tim_app_info").height == 7
    assert _read(lake, "_runs").filter(pl.col("table") == "tim_app_info").height == 1


# -- one home for provider facts: MTA cohort sizes ----------------------------------------


def test_mta_retention_in_the_lake_has_the_clients_cohort_sizes(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-03-01", providers=["mta"], reports=["retention"])
        aps.sync(cfg, today=TODAY, progress=False)
        client = sb.mta().retention("2024-03-01", "2024-03-31", progress=False)
        app = cfg.apps[0]
        spec = aps.sync.apps.engine_spec(app, None)
        task = aps.sync.Task(app.name, "retention", "2024-03-01", "2024-03-31")
        with aps.fetch_many({app.name: spec}, [task], progress=False) as run:
            many = next(iter(run)).frame
    lake_rows = _read(lake, "mta_retention").sort("cohort_date", "period")
    assert client["cohort_size"].null_count() == 0
    assert many.sort("cohort_date", "period").equals(client.sort("cohort_date", "period"))
    assert lake_rows.select(client.columns).equals(client.sort("cohort_date", "period"))


def test_an_old_lake_without_mta_cohort_sizes_is_repaired(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-01-01", providers=["mta"], reports=["retention"])
        aps.sync(cfg, today=TODAY, progress=False)
        full = _read(lake, "mta_retention").drop("fetched_at").sort("app", "cohort_date", "period")
        # what the many-app path of an older version wrote: no cohort sizes
        old = _read(lake, "mta_retention").with_columns(pl.lit(None, pl.Int64).alias("cohort_size"))
        deltalake.write_deltalake(str(lake / "mta_retention"), old.to_arrow(), mode="overwrite")
        deltalake.DeltaTable(str(lake / "mta_retention")).alter.set_table_description("")
        caplog.set_level("WARNING", logger="appstats.sync")
        summary = aps.sync(cfg, today=TODAY, progress=False)
    assert "have no cohort_size (written by an older version)" in caplog.text
    assert summary["start"].min() == dt.date(2024, 1, 1)  # fetched from the first cohort again
    got = _read(lake, "mta_retention").drop("fetched_at").sort("app", "cohort_date", "period")
    assert got["cohort_size"].null_count() == 0
    assert got.equals(full)


@pytest.mark.slow
def test_ctrl_c_commits_what_was_fetched_and_defers_the_rest(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-03-25", reports=REPORTS)
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        sb.inject("delay", 30, provider="mta", times=None)  # MTA hangs; IM answers at once
        proc = _cli(toml)
        deadline = time.monotonic() + 30
        while sb.request_count("tim") == 0 or sb.request_count("mta") == 0:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # IM's frame is in the commit buffer
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert stopped_in < 10, f"Ctrl-C took {stopped_in:.1f} s"
    assert _read(lake, "tim_app_info").height == 7  # committed on the way out
    runs = _read(lake, "_runs")
    deferred = runs.filter(pl.col("status") == "deferred")
    assert set(deferred["error_class"]) == {"Interrupted"}
    assert set(deferred["table"]) == {"mta_user_basic", "mta_retention"}
    assert runs.filter(pl.col("table") == "tim_app_info")["status"].to_list() == ["ok"]
