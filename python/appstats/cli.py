"""The ``appstats`` command line.

Examples::

    appstats reports
    appstats fetch baidu source --start 2024-03-01 --end 2024-03-31 -o source.parquet
    appstats fetch mta retention --sandbox --start 2024-03-01 --end 2024-03-31 -o ret.csv
    appstats fetch tim app_info --sandbox --fields ActiveUserNum,MaxOnlineNum -o -
    appstats demo --out out

Credentials are never taken from the command line: they come from
environment variables (``BAIDU_CLIENT_ID``/``BAIDU_CLIENT_SECRET`` or
``BAIDU_ACCESS_TOKEN``, ``MTA_APP_ID``/``MTA_SECRET_KEY``,
``TIM_SDKAPPID``/``TIM_SECRET_KEY``/``TIM_REGION``) or from a TOML config
file (``--config``, default ``~/.config/appstats/config.toml``)::

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

Exit codes: 0 success, 2 bad arguments, 3 authentication, 4 incomplete
data, 5 rate limit/quota, 1 any other error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
import time
from collections.abc import Iterator
from typing import Any, cast

import polars as pl

from . import __version__
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

#: provider → report → (options, description)
CATALOG: dict[str, dict[str, tuple[list[str], str]]] = {
    "baidu": {
        "user_trend": (["gran=day|hour|week|month"], "new/old users, sessions, durations"),
        "activity_user": ([], "DAU/WAU/MAU, activity degrees, lost users"),
        "retention": (["gran=day|week|month", "report_type=count|ratio", "shape=long|wide"],
                      "cohort retention (第N天 keys)"),
        "visit_attribute": ([], "age / sex / interest shares"),
        "region": ([], "users and sessions by region"),
        "terminal": (["terminal_type=brand|device|os|screen|network"], "terminals"),
        "visit_page": ([], "page views, stay time, bounce"),
        "visit_character": (["character_type=depth|time|interval|frequency"], "visit habits"),
        "source": (["level=scene|group"], "sources: one row per (group, scene)"),
        "tp_data": (["scene=<int>", "metrics=a,b,..."], "third-party platform totals"),
    },
    "mta": {
        "user_basic": (["metrics", "version", "channel"], "new/active users, sessions (offline)"),
        "realtime": (["metrics"], "today's user basics (no dates)"),
        "active_users": (["metrics", "version", "channel"], "DAU/WAU/MAU"),
        "terminal": (["terminal_type=os|resolution|network|carrier|device", "metrics"],
                     "terminal tops"),
        "usage": (["metrics", "version", "channel"], "time/pages per user and session"),
        "frequency": (["metrics"], "use-frequency distribution"),
        "crash": (["metrics", "version", "channel"], "errors and affected users"),
        "crash_env": (["dimension=app_version|os|device"], "crash environments"),
        "error_list": (["err_ty=<int>"], "top-100 errors"),
        "retention": (["shape=long|wide", "metrics"], "day-N returning users"),
    },
    "tim": {
        "app_info": (["fields=A,B,..."], "30 days of operations data (no dates)"),
    },
}

EXIT = [(InvalidArgument, 2), (AuthError, 3), (IncompleteData, 4), (RateLimited, 5),
        (QuotaExceeded, 5), (AppStatsError, 1)]


def _config(path: str | None) -> dict[str, Any]:
    p = pathlib.Path(path or os.environ.get("APPSTATS_CONFIG")
                     or pathlib.Path.home() / ".config" / "appstats" / "config.toml")
    if not p.exists():
        if path:
            raise InvalidArgument(f"config file {str(p)!r} does not exist")
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise InvalidArgument("reading a config file on Python 3.10 needs tomli "
                                  "(pip install tomli)") from None
    with p.open("rb") as f:
        return dict(tomllib.load(f))


def _client(provider: str, cfg: dict[str, Any], sb: Sandbox | None) -> Any:
    section = {k: v for k, v in cfg.get(provider, {}).items()}
    if sb is not None:
        return {"baidu": sb.baidu, "mta": sb.mta, "tim": sb.tim}[provider]()
    if provider == "baidu":
        return BaiduSmartApp(**section) if section else BaiduSmartApp()
    if provider == "mta":
        return Mta(**section)
    return TencentIm(**section)


def _options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise InvalidArgument(f"--opt takes key=value, got {p!r}")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _fetch(client: Any, provider: str, report: str, start: str | None, end: str | None,
           opts: dict[str, str], progress: bool) -> pl.DataFrame:
    if report not in CATALOG[provider]:
        valid = ", ".join(CATALOG[provider])
        raise InvalidArgument(f"unknown {provider} report {report!r}; valid values: {valid}")
    if provider == "tim":
        fields = opts.pop("fields", None)
        if opts:
            raise InvalidArgument(f"tim app_info takes only fields=, got {', '.join(opts)}")
        return cast(pl.DataFrame,
                    client.app_info(fields.split(",") if fields else None, progress=progress))
    if provider == "mta" and report == "realtime":
        return cast(pl.DataFrame, client.fetch("realtime", "", "", progress=progress, **opts))
    if not start or not end:
        raise InvalidArgument(f"{provider} {report} needs --start and --end (YYYY-MM-DD)")
    if provider == "baidu":
        return cast(pl.DataFrame, client.report(report, start, end, progress=progress, **opts).data)
    return cast(pl.DataFrame, client.fetch(report, start, end, progress=progress, **opts))


def _write(df: pl.DataFrame, out: str) -> None:
    if out == "-":
        sys.stdout.write(df.write_csv())
        return
    path = pathlib.Path(out)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        df.write_parquet(path)
    elif suffix == ".csv":
        df.write_csv(path)
    elif suffix in (".json", ".ndjson", ".jsonl"):
        (df.write_ndjson if suffix != ".json" else df.write_json)(path)
    else:
        raise InvalidArgument(f"cannot write {out!r}: use .parquet, .csv, .json, .ndjson or -")


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


def cmd_fetch(a: argparse.Namespace) -> int:
    opts = _options(a.opt or [])
    for key in ("gran", "shape", "level", "metrics", "fields", "dimension", "terminal_type",
                "character_type", "report_type", "scene"):
        v = getattr(a, key, None)
        if v is not None:
            opts[key] = v
    cfg = _config(a.config)
    with _maybe_sandbox(a.sandbox, a.seed) as sb:
        client = _client(a.provider, cfg, sb)
        df = _fetch(client, a.provider, a.report, a.start, a.end, opts,
                    progress=not a.quiet and a.output != "-")
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
    *[("baidu", "terminal", {"terminal_type": t})
      for t in ("brand", "device", "os", "screen", "network")],
    ("baidu", "visit_page", {}),
    *[("baidu", "visit_character", {"character_type": t})
      for t in ("depth", "time", "interval", "frequency")],
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
    out.mkdir(parents=True, exist_ok=True)
    pl.Config.set_tbl_rows(5)
    pl.Config.set_tbl_cols(8)
    pl.Config.set_tbl_width_chars(140)
    t0 = time.perf_counter()
    with Sandbox(seed=a.seed) as sb:
        clients = {"baidu": sb.baidu(page_size=20), "mta": sb.mta(), "tim": sb.tim()}
        tp = sb.baidu_tp()
        runs = [*DEMO, ("baidu", "tp_data", {"scene": "1"})]
        for provider, report, opts in runs:
            client = tp if report == "tp_data" else clients[provider]
            df = _fetch(client, provider, report, a.start, a.end, dict(opts), progress=False)
            tag = "_".join([provider, report, *opts.values()]).replace(",", "-")
            path = out / f"{tag}.parquet"
            df.write_parquet(path)
            print(f"\n== {provider} {report} {opts or ''} → {path}  shape={df.shape}")
            print(df.head(5))
        requests = sb.request_count()
    print(f"\n{len(runs)} reports, {requests} HTTP requests to the sandbox, "
          f"{time.perf_counter() - t0:.2f} s; Parquet files in {out}/")
    try:
        import deltalake  # noqa: F401
    except ImportError:
        print("(pip install 'appstats[sync]' to also sync sandbox apps into Delta tables)")
    else:
        from .sync.demo import demo as sync_demo

        sync_demo(out / "lake", seed=a.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="appstats", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"appstats {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("reports", help="list every report with its options")
    r.set_defaults(func=cmd_reports)

    f = sub.add_parser("fetch", help="fetch one report into a file (or stdout)")
    f.add_argument("provider", choices=list(CATALOG))
    f.add_argument("report")
    f.add_argument("--start")
    f.add_argument("--end")
    f.add_argument("-o", "--output", default="-",
                   help="out.parquet / out.csv / out.json / out.ndjson, or - for CSV on stdout")
    f.add_argument("--sandbox", action="store_true", help="use the built-in simulator")
    f.add_argument("--seed", type=int, default=7, help="sandbox seed")
    f.add_argument("--config", help="TOML file with credentials per provider")
    f.add_argument("--opt", action="append", metavar="KEY=VALUE", help="any report option")
    for key in ("gran", "shape", "level", "metrics", "fields", "dimension", "terminal-type",
                "character-type", "report-type", "scene"):
        f.add_argument(f"--{key}", dest=key.replace("-", "_"))
    f.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    f.set_defaults(func=cmd_fetch)

    d = sub.add_parser("demo", help="pull every report from the sandbox into Parquet files")
    d.add_argument("--out", default="out")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--start", default="2024-03-01")
    d.add_argument("--end", default="2024-03-31")
    d.set_defaults(func=cmd_demo)

    from .sync.cli import add_parser as add_sync

    add_sync(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        return int(a.func(a))
    except AppStatsError as e:
        for cls, code in EXIT:
            if isinstance(e, cls):
                print(f"appstats: error: {e}", file=sys.stderr)
                return code
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
