"""The Python experience: async twins, output choice, CLI, logging, packaging bits."""

from __future__ import annotations

import asyncio
import logging
import time

import polars as pl
import pytest

import appstats as aps
from appstats import cli

S, E = "2024-03-01", "2024-03-31"


def test_async_calls_overlap() -> None:
    with aps.Sandbox(latency=0.2) as sb:
        bd, mta, im = sb.baidu(), sb.mta(), sb.tim()

        async def main() -> list[pl.DataFrame]:
            return await asyncio.gather(
                bd.region_async(S, E, progress=False),
                bd.visit_attribute_async(S, E, progress=False),
                mta.user_basic_async(S, E, progress=False),
                mta.crash_async(S, E, progress=False),
                im.app_info_async(progress=False),
            )

        # warm the token so each call is one request of 0.2 s
        bd.region(S, "2024-03-02", progress=False)
        t0 = time.perf_counter()
        frames = asyncio.run(main())
        elapsed = time.perf_counter() - t0
    assert [f.height for f in frames] == [34, 18, 31, 31, 30]
    # five 0.2 s requests one after another would take ≥ 1.0 s
    assert elapsed < 0.8, elapsed


@pytest.mark.slow
def test_sync_call_releases_the_gil() -> None:
    import threading

    with aps.Sandbox(latency=0.3) as sb:
        bd = sb.baidu()
        bd.region(S, "2024-03-02", progress=False)
        ticks = 0
        stop = False

        def spin() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                time.sleep(0.001)

        t = threading.Thread(target=spin)
        t.start()
        bd.region(S, E, progress=False)
        stop = True
        t.join()
    assert ticks > 50  # the other thread ran while Rust waited on the network


def test_async_errors_are_typed() -> None:
    with aps.Sandbox() as sb:
        bd = sb.baidu(max_attempts=1)
        sb.inject("code", 17, times=None)

        async def main() -> None:
            await bd.region_async(S, E, progress=False)

        with pytest.raises(aps.QuotaExceeded):
            asyncio.run(main())
        with pytest.raises(aps.InvalidArgument):
            asyncio.run(bd.region_async("2024-03-09", S))


def test_missing_optional_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def fake(name: str, *a: object, **k: object) -> object:
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    from appstats._output import convert

    with pytest.raises(aps.MissingDependency, match=r"appstats\[pandas\]"):
        convert(pl.DataFrame({"a": [1]}), "pandas")


def test_rust_logs_reach_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="appstats"):
        with aps.Sandbox() as sb:
            sb.inject("http_status", 502, times=1)
            sb.baidu().region(S, E, progress=False)
    msgs = [r.getMessage() for r in caplog.records if r.name.startswith("appstats")]
    assert any("retrying" in m for m in msgs), msgs
    assert any("request #" in m and "access_token=***" in m for m in msgs), msgs
    assert not any("sandbox-client-secret" in m for m in msgs)


def test_cli_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reports"]) == 0
    out = capsys.readouterr().out
    for name in ["user_trend", "source", "retention", "crash_env", "app_info"]:
        assert name in out


def test_cli_fetch_sandbox_files(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "src.parquet"
    assert (
        cli.main(
            ["fetch", "baidu", "source", "--sandbox", "--start", S, "--end", E, "-o", str(p), "-q"]
        )
        == 0
    )
    df = pl.read_parquet(p)
    assert df.columns[:2] == ["group_rank", "source_id"]
    c = tmp_path / "ret.csv"
    assert (
        cli.main(
            ["fetch", "mta", "retention", "--sandbox", "--start", S, "--end", E, "-o", str(c), "-q"]
        )
        == 0
    )
    assert pl.read_csv(c).columns[0] == "cohort_date"
    assert (
        cli.main(["fetch", "tim", "app_info", "--sandbox", "--fields", "ActiveUserNum", "-o", "-"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "date,active_user_num"
    assert len(out.splitlines()) == 31


def test_cli_errors_are_one_line_with_exit_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for v in ["BAIDU_ACCESS_TOKEN", "BAIDU_CLIENT_ID", "BAIDU_CLIENT_SECRET"]:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("APPSTATS_CONFIG", "/nonexistent/appstats.toml")
    assert cli.main(["fetch", "baidu", "source", "--start", S, "--end", E, "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("appstats: error:") and "\n" not in err
    assert cli.main(["fetch", "baidu", "nope", "--sandbox", "--start", S, "--end", E]) == 2
    assert cli.main(["fetch", "mta", "user_basic", "--sandbox", "--start", E, "--end", S]) == 2
    assert (
        cli.main(
            [
                "fetch",
                "baidu",
                "source",
                "--sandbox",
                "--start",
                S,
                "--end",
                E,
                "-o",
                "x.xlsx",
                "-q",
            ]
        )
        == 2
    )


@pytest.mark.slow
def test_cli_demo(tmp_path) -> None:
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    files = list(tmp_path.glob("*.parquet"))
    assert len(files) == len(cli.DEMO) + 2  # and the TP totals: all scenes, scene 1
    assert all(pl.read_parquet(f).height > 0 for f in files)


def test_sandbox_lifecycle() -> None:
    sb = aps.Sandbox(seed=3)
    assert "127.0.0.1" in repr(sb)
    sb.close()
    assert "closed" in repr(sb)
    with pytest.raises(aps.InvalidArgument, match="closed"):
        _ = sb.url
    with pytest.raises(aps.InvalidArgument, match="fault kind"):
        with aps.Sandbox() as s2:
            s2.inject("gremlins")


def test_deterministic_seed() -> None:
    with aps.Sandbox(seed=11) as a, aps.Sandbox(seed=11) as b, aps.Sandbox(seed=12) as c:
        fa = a.baidu().user_trend(S, E, progress=False)
        assert fa.equals(b.baidu().user_trend(S, E, progress=False))
        assert not fa.equals(c.baidu().user_trend(S, E, progress=False))


def test_cli_credentials_from_config_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    for v in ["BAIDU_ACCESS_TOKEN", "BAIDU_CLIENT_ID", "BAIDU_CLIENT_SECRET"]:
        monkeypatch.delenv(v, raising=False)
    with aps.Sandbox() as sb:
        cfg = tmp_path / "appstats.toml"
        cfg.write_text(
            "[baidu]\n"
            f'client_id = "{sb.credentials["baidu_client_id"]}"\n'
            f'client_secret = "{sb.credentials["baidu_client_secret"]}"\n'
            f'base_url = "{sb.url}"\n'
            "[mta]\n"
            f'app_id = "{sb.credentials["mta_app_id"]}"\n'
            f'secret_key = "{sb.credentials["mta_secret_key"]}"\n'
            f'base_url = "{sb.url}"\n',
            encoding="utf-8",
        )
        out = tmp_path / "region.csv"
        assert (
            cli.main(
                [
                    "fetch",
                    "baidu",
                    "region",
                    "--config",
                    str(cfg),
                    "--start",
                    S,
                    "--end",
                    E,
                    "-o",
                    str(out),
                    "-q",
                ]
            )
            == 0
        )
        assert pl.read_csv(out).height == 34
        out = tmp_path / "dau.parquet"
        assert (
            cli.main(
                [
                    "fetch",
                    "mta",
                    "active_users",
                    "--config",
                    str(cfg),
                    "--start",
                    S,
                    "--end",
                    E,
                    "--metrics",
                    "daily_active_users",
                    "-o",
                    str(out),
                    "-q",
                ]
            )
            == 0
        )
        assert pl.read_parquet(out).columns == ["date", "daily_active_users"]


def test_no_annotations_name_in_the_package_namespaces() -> None:
    # `from __future__ import annotations` binds `annotations` in a module
    import appstats.lazy
    import appstats.metrics
    import appstats.report
    import appstats.sync

    for mod in (aps, appstats.sync, appstats.lazy, appstats.metrics, appstats.report):
        assert not hasattr(mod, "annotations"), mod.__name__


def test_http_settings_keywords() -> None:
    # **http: Unpack[HttpOptions]: an unknown setting is still a TypeError
    with pytest.raises(TypeError, match="timout"):
        aps.Mta("1", "k", timout=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="rate_limt"):
        aps.BaiduSmartApp(access_token="t", rate_limt=1)  # type: ignore[call-arg]
    with pytest.raises(aps.InvalidArgument, match="concurrency"):
        aps.TencentIm(1400000000, "k", concurrency=0)


@pytest.mark.slow
def test_client_stubs_are_current() -> None:
    # baidu.pyi, mta.pyi, tim.pyi (the overloads on `output`) are generated
    import pathlib
    import subprocess
    import sys

    tool = pathlib.Path(__file__).resolve().parents[2] / "tools" / "client_stubs.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
