"""The command line: the same code path as the Python methods, and one-line
errors with exit 2 for every bad argument, before any request."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from collections.abc import Iterator

import polars as pl
import pytest

import appstats as aps
from appstats import cli

S, E = "2024-03-01", "2024-03-31"


@pytest.fixture
def env_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in [
        "BAIDU_ACCESS_TOKEN",
        "BAIDU_CLIENT_ID",
        "BAIDU_CLIENT_SECRET",
        "MTA_APP_ID",
        "MTA_SECRET_KEY",
        "TIM_SDKAPPID",
        "TIM_SECRET_KEY",
    ]:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("APPSTATS_CONFIG", "/nonexistent/appstats.toml")


@pytest.fixture
def served(tmp_path: pathlib.Path, env_clean: None) -> Iterator[tuple[aps.Sandbox, pathlib.Path]]:
    """A sandbox and a config file pointing the CLI at it."""
    with aps.Sandbox() as sb:
        cfg = tmp_path / "appstats.toml"
        c = sb.credentials
        cfg.write_text(
            f'[baidu]\nclient_id = "{c["baidu_client_id"]}"\n'
            f'client_secret = "{c["baidu_client_secret"]}"\nbase_url = "{sb.url}"\n'
            f'[mta]\napp_id = "{c["mta_app_id"]}"\nsecret_key = "{c["mta_secret_key"]}"\n'
            f'base_url = "{sb.url}"\nmax_attempts = 2\nbackoff = 0.01\n',
            encoding="utf-8",
        )
        yield sb, cfg


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2, *words: str) -> str:
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("appstats: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def test_mta_retention_is_the_python_method(tmp_path: pathlib.Path, sb: aps.Sandbox) -> None:
    out = tmp_path / "ret.parquet"
    assert (
        cli.main(
            [
                "fetch",
                "mta",
                "retention",
                "--sandbox",
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
    got = pl.read_parquet(out)
    assert got["cohort_size"].null_count() == 0
    assert got.equals(sb.mta().retention(S, E, progress=False))
    wide = tmp_path / "wide.parquet"
    assert (
        cli.main(
            [
                "fetch",
                "mta",
                "retention",
                "--sandbox",
                "--start",
                S,
                "--end",
                E,
                "--shape",
                "wide",
                "--opt",
                "cohort_size=no",
                "-o",
                str(wide),
                "-q",
            ]
        )
        == 0
    )
    assert pl.read_parquet(wide).equals(
        sb.mta().retention(S, E, shape="wide", cohort_size=False, progress=False)
    )


def test_options_are_the_methods_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    _fails(
        capsys,
        ["fetch", "mta", "crash", "--sandbox", "--start", S, "--end", E, "--opt", "colour=red"],
        2,
        "no option 'colour'",
        "metrics, version",
    )
    _fails(
        capsys, ["fetch", "tim", "app_info", "--sandbox", "--start", S], 2, "takes no --start/--end"
    )
    _fails(
        capsys,
        ["fetch", "baidu", "tp_data", "--sandbox", "--start", S, "--end", E, "--scene", "one"],
        2,
        "scene",
    )
    _fails(
        capsys,
        ["fetch", "mta", "user_basic", "--sandbox", "--start", S],
        2,
        "needs --start and --end",
    )


@pytest.mark.parametrize(
    "out,words",
    [
        ("x.xlsx", [".parquet, .csv"]),
        ("{file}/x.csv", ["is not a folder"]),
        ("{tmp}/folder.csv", ["it is a folder"]),
    ],
)
def test_bad_output_rejected_before_any_request(
    capsys: pytest.CaptureFixture[str],
    tmp_path: pathlib.Path,
    served: tuple,
    out: str,
    words: list[str],
) -> None:
    sb, cfg = served
    f = tmp_path / "a-file.txt"
    f.write_text("x")
    (tmp_path / "folder.csv").mkdir()
    out = out.format(file=f, tmp=tmp_path)
    _fails(
        capsys,
        [
            "fetch",
            "baidu",
            "user_trend",
            "--gran",
            "hour",
            "--config",
            str(cfg),
            "--start",
            S,
            "--end",
            E,
            "-o",
            out,
        ],
        2,
        *words,
    )
    assert sb.request_count() == 0


@pytest.mark.parametrize(
    "text,words",
    [
        ('[mta\napp_id = "1"\n', ["not valid TOML"]),
        ('[mta]\napp_id = "1"\nsecret_key = 2\n', ["[mta]", "secret_key must be a string"]),
        ('[mta]\napp_id = "1"\nsecret = "k"\n', ["unknown key 'secret' in [mta]", "secret_key"]),
        ('[mtaa]\napp_id = "1"\n', ["unknown section [mtaa]"]),
        ("mta = 3\n", ["mta must be a section"]),
        ('[mta]\napp_id = "1"\nsecret_key = "k"\nconcurrency = -1\n', ["concurrency", "1 to 1024"]),
        ('[mta]\napp_id = "1"\nsecret_key = "k"\nbase_url = "http://h/?t=1"\n', ["query string"]),
    ],
)
def test_bad_config_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    env_clean: None,
    tmp_path: pathlib.Path,
    text: str,
    words: list[str],
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text, encoding="utf-8")
    line = _fails(
        capsys,
        ["fetch", "mta", "crash", "--config", str(cfg), "--start", S, "--end", E, "-q"],
        2,
        str(cfg),
        *words,
    )
    assert "Traceback" not in line


def test_bad_seed_and_demo_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    _fails(
        capsys,
        ["fetch", "mta", "crash", "--sandbox", "--seed", "-1", "--start", S, "--end", E],
        2,
        "seed",
    )
    f = tmp_path / "a-file"
    f.write_text("x")
    _fails(capsys, ["demo", "--out", str(f)], 2, "not a folder")
    _fails(capsys, ["demo", "--out", str(f / "sub")], 2, "not a folder")
    _fails(capsys, ["demo", "--seed", "-1", "--out", str(tmp_path / "d")], 2, "seed")


def test_unwritable_folder(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    _fails(
        capsys,
        ["fetch", "mta", "crash", "--sandbox", "--start", S, "--end", E, "-o", str(ro / "x.csv")],
        2,
        "no permission",
    )
    _fails(capsys, ["demo", "--out", str(ro / "out")], 2, "no permission")


@pytest.mark.slow
def test_failure_is_printed_once(served: tuple) -> None:
    # in a fresh interpreter: no logging configured, as for a user's shell
    sb, cfg = served
    sb.inject("http_status", 500, provider="mta", times=None)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appstats.cli",
            "fetch",
            "mta",
            "crash",
            "--config",
            str(cfg),
            "--start",
            S,
            "--end",
            E,
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("appstats: error:"), r.stderr
    assert "HTTP 500" in r.stderr
    # -vv shows the retries too
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appstats.cli",
            "-vv",
            "fetch",
            "mta",
            "crash",
            "--config",
            str(cfg),
            "--start",
            S,
            "--end",
            E,
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "retrying" in r.stderr, r.stderr


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["fetch", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as ei:
            cli.main(argv)
        assert ei.value.code == 0
        out = capsys.readouterr().out
        for markup in ("``", ":class:", ":meth:", "::"):
            assert markup not in out, (argv, markup)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    top = capsys.readouterr().out
    assert "exit codes:" in top and "[mta]" in top and "appstats fetch" in top
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    demo = capsys.readouterr().out
    for opt in ("--out", "--seed", "--start", "--end"):
        line = next(ln for ln in demo.splitlines() if ln.strip().startswith(opt))
        assert len(line.split()) > 2, line  # the option has a description


def test_verbose_handler_is_removed(tmp_path: pathlib.Path) -> None:
    import logging

    before = list(logging.getLogger("appstats").handlers)
    assert (
        cli.main(
            ["-v", "fetch", "tim", "app_info", "--sandbox", "-q", "-o", str(tmp_path / "x.csv")]
        )
        == 0
    )
    assert logging.getLogger("appstats").handlers == before
