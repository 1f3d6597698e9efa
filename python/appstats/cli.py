"""The ``appstats`` command line (``appstats --help`` for its manual).

Every ``fetch`` calls the same public method as Python code does
(``appstats fetch mta retention`` is ``Mta.retention``), so the CLI and the
library cannot disagree about a report.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import logging
import os
import pathlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import polars as pl

from . import __version__, _native
from ._http import HTTP_KEYS
from .baidu import BaiduSmartApp
from .errors import (
    AppStatsError,
    AuthError,
    IncompleteData,
    InvalidArgument,
    QuotaExceeded,
    RateLimited,
)
from .mta import Mta
from .sandbox import Sandbox
from .tim import TencentIm

DESCRIPTION = "App analytics from Baidu smart programs, Tencent MTA and Tencent Cloud IM."

EPILOG = """\
examples:
  appstats reports
  appstats fetch baidu source --start 2024-03-01 --end 2024-03-31 -o source.parquet
  appstats fetch mta retention --sandbox --start 2024-03-01 --end 2024-03-31 -o ret.csv
  appstats fetch tim app_info --sandbox --fields ActiveUserNum,MaxOnlineNum -o -
  appstats demo --out out

credentials:
  Never taken from the command line: from environment variables
  (BAIDU_CLIENT_ID and BAIDU_CLIENT_SECRET, or BAIDU_ACCESS_TOKEN;
  MTA_APP_ID and MTA_SECRET_KEY; TIM_SDKAPPID, TIM_SECRET_KEY, TIM_REGION)
  or from a TOML config file (--config, else $APPSTATS_CONFIG, else
  ~/.config/appstats/config.toml) with one section per provider holding
  the client's keyword arguments:

    [baidu]
    client_id = "..."
    client_secret = "..."
    [mta]
    app_id = "..."
    secret_key = "..."
    [tim]
    sdkappid = 1400000000
    secret_key = "..."
    region = "singapore"

exit codes:
  0 success, 2 bad arguments or config, 3 authentication, 4 incomplete data,
  5 rate limit or quota, 1 any other error
"""

#: The client class of each provider (its keyword arguments are the keys
#: of the config file's section).
CLIENTS: dict[str, type] = {"baidu": BaiduSmartApp, "mta": Mta, "tim": TencentIm}


def _option_hint(o: _native._ReportOption) -> str:
    """``gran=day|hour|week|month`` for an option with few values, else its name."""
    values = o["values"]
    if values and len(values) <= 6:
        return f"{o['name']}={'|'.join(values)}"
    return str(o["name"])


#: provider → report → (options, description), from the native catalog
#: (the one list of reports and options, in Rust).
CATALOG: dict[str, dict[str, tuple[list[str], str]]] = {}
for _r in _native.report_catalog():
    CATALOG.setdefault(_r["provider"], {})[_r["name"]] = (
        [_option_hint(o) for o in _r["options"]],
        _r["description"],
    )

EXIT = [
    (InvalidArgument, 2),
    (AuthError, 3),
    (IncompleteData, 4),
    (RateLimited, 5),
    (QuotaExceeded, 5),
    (AppStatsError, 1),
]

#: Output file suffixes.
FORMATS = (".parquet", ".csv", ".json", ".ndjson", ".jsonl")

#: Method arguments that are not report options.
NOT_OPTIONS = {"self", "start", "end", "output", "progress"}


def _bool(v: str) -> bool:
    low = v.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(v)


#: Options that are not strings in Python (the others are passed as given).
CONVERT: dict[str, Callable[[str], Any]] = {"scene": int, "err_ty": int, "cohort_size": _bool}


def _config(path: str | None) -> tuple[pathlib.Path, dict[str, dict[str, Any]]]:
    """The config file's sections, checked: known sections and keys only."""
    p = pathlib.Path(
        path
        or os.environ.get("APPSTATS_CONFIG")
        or pathlib.Path.home() / ".config" / "appstats" / "config.toml"
    )
    if not p.exists():
        if path:
            raise InvalidArgument(f"config file {str(p)!r} does not exist")
        return p, {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise InvalidArgument(
                "reading a config file on Python 3.10 needs tomli (pip install tomli)"
            ) from None
    try:
        with p.open("rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InvalidArgument(f"config file {str(p)!r} is not valid TOML: {e}") from None
    except OSError as e:
        raise InvalidArgument(f"cannot read config file {str(p)!r}: {e.strerror}") from None
    out: dict[str, dict[str, Any]] = {}
    for section, table in doc.items():
        if section not in CLIENTS:
            raise InvalidArgument(
                f"config file {str(p)!r}: unknown section [{section}]; "
                f"valid: {', '.join(f'[{c}]' for c in CLIENTS)}"
            )
        if not isinstance(table, dict):
            raise InvalidArgument(
                f"config file {str(p)!r}: {section} must be a section "
                f"([{section}] with keys), got a {type(table).__name__}"
            )
        params = inspect.signature(CLIENTS[section]).parameters
        valid = [k for k in params if k not in ("self", "http")] + list(HTTP_KEYS)
        for key in table:
            if key not in valid:
                raise InvalidArgument(
                    f"config file {str(p)!r}: unknown key {key!r} in "
                    f"[{section}]; valid: {', '.join(valid)}"
                )
        out[section] = dict(table)
    return p, out


def _client(
    provider: str, config: tuple[pathlib.Path, dict[str, dict[str, Any]]], sb: Sandbox | None
) -> Any:
    if sb is not None:
        makers: dict[str, Callable[[], Any]] = {"baidu": sb.baidu, "mta": sb.mta, "tim": sb.tim}
        return makers[provider]()
    path, sections = config
    section = sections.get(provider)
    if section is None:
        return CLIENTS[provider]()
    try:
        return CLIENTS[provider](**section)
    except InvalidArgument as e:
        # name the file: the value came from it
        raise InvalidArgument(f"config file {str(path)!r} [{provider}]: {e}") from None


def _options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise InvalidArgument(f"--opt takes key=value, got {p!r}")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _check_report(provider: str, report: str) -> None:
    if report not in CATALOG[provider]:
        valid = ", ".join(CATALOG[provider])
        raise InvalidArgument(f"unknown {provider} report {report!r}; valid values: {valid}")


def _fetch(
    client: Any,
    provider: str,
    report: str,
    start: str | None,
    end: str | None,
    opts: dict[str, str],
    progress: bool | None,
    dates_optional: bool = False,
) -> pl.DataFrame:
    """Call the report's public method (``client.<report>(...)``) with ``opts``.

    A report without dates (``tim app_info``, ``mta realtime``) refuses
    ``start``/``end`` unless ``dates_optional``.
    """
    _check_report(provider, report)
    method = getattr(client, report)
    params = inspect.signature(method).parameters
    valid = [k for k in params if k not in NOT_OPTIONS]
    kwargs: dict[str, Any] = {}
    for key, value in opts.items():
        if key not in valid:
            raise InvalidArgument(
                f"{provider} {report} has no option {key!r}; valid: {', '.join(valid) or 'none'}"
            )
        try:
            kwargs[key] = CONVERT.get(key, str)(value)
        except ValueError:
            raise InvalidArgument(f"option {key}: cannot read {value!r}") from None
    if "start" in params:
        if not start or not end:
            raise InvalidArgument(f"{provider} {report} needs --start and --end (YYYY-MM-DD)")
        return cast(pl.DataFrame, method(start, end, progress=progress, **kwargs))
    if (start or end) and not dates_optional:
        raise InvalidArgument(
            f"{provider} {report} takes no --start/--end ({CATALOG[provider][report][1]})"
        )
    return cast(pl.DataFrame, method(progress=progress, **kwargs))


def _writable(path: pathlib.Path, what: str) -> None:
    """Raise unless ``path`` (which may not exist yet) can be created or written."""
    anc = path
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if anc != path and not anc.is_dir():
        raise InvalidArgument(f"cannot write {what} {str(path)!r}: {str(anc)!r} is not a folder")
    if not os.access(anc, os.W_OK | (os.X_OK if anc.is_dir() else 0)):
        raise InvalidArgument(
            f"cannot write {what} {str(path)!r}: no permission to write {str(anc)!r}"
        )


def _check_output(out: str) -> None:
    """Reject an output the fetch could not be written to, before any request."""
    if out == "-":
        return
    path = pathlib.Path(out)
    if path.suffix.lower() not in FORMATS:
        raise InvalidArgument(
            f"cannot write {out!r}: use .parquet, .csv, .json, .ndjson or - (CSV on stdout)"
        )
    if path.is_dir():
        raise InvalidArgument(f"cannot write {out!r}: it is a folder")
    _writable(path, "output")


def _write(df: pl.DataFrame, out: str) -> None:
    if out == "-":
        sys.stdout.write(df.write_csv())
        return
    path = pathlib.Path(out)
    suffix = path.suffix.lower()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".parquet":
            df.write_parquet(path)
        elif suffix == ".csv":
            df.write_csv(path)
        elif suffix == ".json":
            df.write_json(path)
        else:
            df.write_ndjson(path)
    except OSError as e:
        raise AppStatsError(f"cannot write {out!r}: {e.strerror or e}") from None


@contextlib.contextmanager
def _maybe_sandbox(on: bool, seed: int) -> Iterator[Sandbox | None]:
    if not on:
        yield None
        return
    with Sandbox(seed=seed) as sb:
        yield sb


def cmd_reports(_: argparse.Namespace) -> int:
    for provider, reports in CATALOG.items():
        print(provider)
        for name, (opts, desc) in reports.items():
            o = f"  [{'; '.join(opts)}]" if opts else ""
            print(f"  {name:<16} {desc}{o}")
    return 0


#: The shortcut flags of `fetch` (each is `--opt KEY=VALUE`).
SHORTCUTS = {
    "gran": "granularity: hour, day, week or month (Baidu)",
    "shape": "retention layout: long or wide",
    "level": "Baidu source rows: scene or group",
    "metrics": "comma-separated metric names or ids (MTA, Baidu tp_data)",
    "fields": "comma-separated getappinfo fields (Tencent IM)",
    "dimension": "MTA crash_env dimension: app_version, os or device",
    "terminal-type": "terminal: brand|device|os|screen|network (Baidu), os|resolution|... (MTA)",
    "character-type": "Baidu visit_character: depth, time, interval or frequency",
    "report-type": "Baidu retention values: count or ratio",
    "scene": "Baidu tp_data scene (an integer; omitted: totals over all scenes)",
}


def cmd_fetch(a: argparse.Namespace) -> int:
    _check_output(a.output)  # before any request
    opts = _options(a.opt or [])
    for key in SHORTCUTS:
        v = getattr(a, key.replace("-", "_"), None)
        if v is not None:
            opts[key.replace("-", "_")] = v
    _check_report(a.provider, a.report)
    config = _config(a.config)
    show = not a.quiet and a.output != "-"
    with _maybe_sandbox(a.sandbox, a.seed) as sb:
        client = _client(a.provider, config, sb)
        df = _fetch(
            client, a.provider, a.report, a.start, a.end, opts, progress=None if show else False
        )
    _write(df, a.output)
    if a.output != "-" and not a.quiet:
        print(f"wrote {df.height} rows × {df.width} columns to {a.output}", file=sys.stderr)
    return 0


DEMO: list[tuple[str, str, dict[str, str]]] = [
    ("baidu", "user_trend", {"gran": "day"}),
    ("baidu", "user_trend", {"gran": "week"}),
    ("baidu", "user_trend", {"gran": "hour"}),
    ("baidu", "activity_user", {}),
    ("baidu", "retention", {"gran": "day"}),
    ("baidu", "retention", {"gran": "week", "report_type": "ratio", "shape": "wide"}),
    ("baidu", "visit_attribute", {}),
    ("baidu", "region", {}),
    *[
        ("baidu", "terminal", {"terminal_type": t})
        for t in ("brand", "device", "os", "screen", "network")
    ],
    ("baidu", "visit_page", {}),
    *[
        ("baidu", "visit_character", {"character_type": t})
        for t in ("depth", "time", "interval", "frequency")
    ],
    ("baidu", "source", {"level": "scene"}),
    ("baidu", "source", {"level": "group"}),
    ("mta", "user_basic", {}),
    ("mta", "active_users", {}),
    ("mta", "retention", {"shape": "wide"}),
    ("mta", "terminal", {"terminal_type": "device"}),
    ("mta", "crash_env", {"dimension": "os"}),
    ("tim", "app_info", {}),
]


def cmd_demo(a: argparse.Namespace) -> int:
    out = pathlib.Path(a.out)
    if out.exists() and not out.is_dir():
        raise InvalidArgument(f"cannot write into {a.out!r}: it is not a folder")
    _writable(out, "into folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidArgument(f"cannot create folder {a.out!r}: {e.strerror or e}") from None
    pl.Config.set_tbl_rows(5)
    pl.Config.set_tbl_cols(8)
    pl.Config.set_tbl_width_chars(140)
    t0 = time.perf_counter()
    with Sandbox(seed=a.seed) as sb:
        clients = {"baidu": sb.baidu(page_size=20), "mta": sb.mta(), "tim": sb.tim()}
        tp = sb.baidu_tp()
        runs = [*DEMO, ("baidu", "tp_data", {}), ("baidu", "tp_data", {"scene": "1"})]
        for provider, report, opts in runs:
            client = tp if report == "tp_data" else clients[provider]
            df = _fetch(
                client,
                provider,
                report,
                a.start,
                a.end,
                dict(opts),
                progress=False,
                dates_optional=True,
            )
            tag = "_".join([provider, report, *opts.values()]).replace(",", "-")
            path = out / f"{tag}.parquet"
            df.write_parquet(path)
            print(f"\n== {provider} {report} {opts or ''} → {path}  shape={df.shape}")
            print(df.head(5))
        requests = sb.request_count()
    print(
        f"\n{len(runs)} reports, {requests} HTTP requests to the sandbox, "
        f"{time.perf_counter() - t0:.2f} s; Parquet files in {out}/"
    )
    try:
        import deltalake  # noqa: F401
    except ImportError:
        print("(pip install 'appstats[sync]' to also sync sandbox apps into Delta tables)")
    else:
        from .sync.demo import demo as sync_demo

        sync_demo(out / "lake", seed=a.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="appstats",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"appstats {__version__}")
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log retries and requests to stderr (-v: info, -vv: debug)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser(
        "reports",
        help="list every report with its options",
        description="List every report of every provider with its options.",
    )
    r.set_defaults(func=cmd_reports)

    f = sub.add_parser(
        "fetch",
        help="fetch one report into a file (or stdout)",
        description="Fetch one report into a file, or CSV on stdout. Options are the "
        "report method's keyword arguments (see `appstats reports`).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("provider", choices=list(CATALOG), help="baidu, mta or tim")
    f.add_argument("report", help="report name, e.g. user_trend (see `appstats reports`)")
    f.add_argument("--start", help="first day, YYYY-MM-DD")
    f.add_argument("--end", help="last day, YYYY-MM-DD (inclusive)")
    f.add_argument(
        "-o",
        "--output",
        default="-",
        help="out.parquet / out.csv / out.json / out.ndjson, or - for CSV on stdout (default)",
    )
    f.add_argument(
        "--sandbox", action="store_true", help="use the built-in simulator (no credentials needed)"
    )
    f.add_argument("--seed", type=int, default=7, help="sandbox seed (default 7)")
    f.add_argument("--config", metavar="FILE", help="TOML file with credentials per provider")
    f.add_argument(
        "--opt",
        action="append",
        metavar="KEY=VALUE",
        help="any report option, repeatable (e.g. --opt err_ty=1)",
    )
    for key, text in SHORTCUTS.items():
        f.add_argument(f"--{key}", dest=key.replace("-", "_"), metavar="VALUE", help=text)
    f.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    f.set_defaults(func=cmd_fetch)

    d = sub.add_parser(
        "demo",
        help="pull every report from the sandbox into Parquet files",
        description="Pull every report of every provider from the built-in sandbox, print "
        "each frame's shape and head, and write one Parquet file per report.",
    )
    d.add_argument(
        "--out",
        default="out",
        metavar="FOLDER",
        help="folder for the Parquet files (created; default: out)",
    )
    d.add_argument("--seed", type=int, default=7, help="sandbox seed (default 7)")
    d.add_argument("--start", default="2024-03-01", help="first day (default 2024-03-01)")
    d.add_argument("--end", default="2024-03-31", help="last day (default 2024-03-31)")
    d.set_defaults(func=cmd_demo)

    from .report.cli import add_parser as add_report
    from .sync.cli import add_parser as add_sync

    add_sync(sub)
    add_report(sub)
    return p


#: Loggers whose warnings are shown without -v too: they are about the
#: user's own setup (a literal secret in the config), not failures already
#: reported by an error line.
ALWAYS_SHOWN = "appstats.sync.config"


def _logging(verbose: int) -> Callable[[], None]:
    """Show appstats' log records on stderr with -v; without it, only the
    warnings of :data:`ALWAYS_SHOWN` (every failure is reported once, by the
    error line). Returns the undo."""
    log = logging.getLogger("appstats")
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter("appstats: %(levelname)s %(name)s: %(message)s"))
    level = log.level
    log.addHandler(h)
    if verbose:
        log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    else:
        h.setLevel(logging.WARNING)
        h.addFilter(logging.Filter(ALWAYS_SHOWN))

    def undo() -> None:
        log.removeHandler(h)
        log.setLevel(level)

    return undo


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    undo = _logging(a.verbose)
    try:
        return int(a.func(a))
    except AppStatsError as e:
        print(f"appstats: error: {' '.join(str(e).split())}", file=sys.stderr)
        for cls, code in EXIT:
            if isinstance(e, cls):
                return code
        return 1
    except KeyboardInterrupt:
        print("appstats: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        undo()


if __name__ == "__main__":
    sys.exit(main())
