"""The data source's options, parsed and checked, and the config they name."""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import os
import pathlib
import threading
from collections.abc import Mapping
from typing import Any

from .. import _native
from .._configfile import toml_value
from ..errors import InvalidArgument
from ..sync import catalog
from ..sync.apps import today_cn
from ..sync.config import SECRETISH, AppConfig, SyncConfig, load_config, parse_config
from ._consts import (
    _OWN,
    DEFAULT_APPS_PER_PARTITION,
    DEFAULT_TOKEN_MIN_LIFE_S,
    HOURLY_SPAN,
    MAX_SPAN,
    MODES,
    PER_DAY_SPAN,
)
from ._deps import (
    StructType,
)
from ._schema import report_schema

log = logging.getLogger("appstats.spark")


def _day(v: str, what: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(v.strip())
    except ValueError:
        raise InvalidArgument(f"option {what} must be a YYYY-MM-DD date, got {v!r}") from None


def _int(v: str, what: str, lo: int, hi: int) -> int:
    try:
        n = int(v)
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise InvalidArgument(f"option {what} must be an integer between {lo} and {hi}, got {v!r}")
    return n


def _bool(v: str, what: str) -> bool:
    s = v.strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"option {what} must be true or false, got {v!r}")


def _apps_toml(text: str) -> str:
    """The ``apps`` option (JSON in the config's form) as config TOML."""
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"option apps is neither app names nor valid JSON: {e}") from None
    if isinstance(obj, list):
        grouped: dict[str, list[Any]] = {}
        for i, entry in enumerate(obj):
            if not isinstance(entry, dict) or not isinstance(entry.get("provider"), str):
                raise InvalidArgument(
                    f"option apps: entry {i + 1} must be an object with a "
                    "provider (baidu, mta, tim)"
                )
            item = dict(entry)
            grouped.setdefault(item.pop("provider"), []).append(item)
        obj = grouped
    if not isinstance(obj, dict):
        raise InvalidArgument(
            "option apps must be a JSON list of apps or an object in the config's form"
        )
    obj.setdefault("tokens", {"path": "appstats.tokens.json"})
    out: list[str] = []
    for k, v in obj.items():
        if isinstance(v, dict):
            out.append(f"[{k}]")
            out += [
                f"{json.dumps(str(a))} = {toml_value(b, 'option apps: ' + k)}" for a, b in v.items()
            ]
        elif isinstance(v, list):
            for entry in v:
                if not isinstance(entry, dict):
                    raise InvalidArgument(f"option apps: {k} entries must be objects")
                out.append(f"[[{k}]]")
                out += [
                    f"{json.dumps(str(a))} = {toml_value(b, 'option apps: ' + k)}"
                    for a, b in entry.items()
                ]
        else:
            out.append(f"{json.dumps(str(k))} = {toml_value(v, 'option apps: ' + k)}")
    return "\n".join(out) + "\n"


_CONFIGS: dict[tuple[Any, ...], SyncConfig] = {}
_CONFIGS_LOCK = threading.Lock()


class _Options:
    """The data source's options, validated (picklable; holds no secret)."""

    def __init__(self, options: Mapping[str, str]) -> None:
        o = {str(k).lower(): str(v) for k, v in options.items()}
        for k in o:
            if k not in _OWN and SECRETISH.search(k):
                raise InvalidArgument(
                    f"option {k!r} looks like a secret: Spark shows options in plans and its "
                    'UI. Put credentials in the sync config as "env:VAR" or "file:PATH" '
                    "and pass option('config', path)"
                )
        for need in ("provider", "report", "start"):
            if not o.get(need):
                raise InvalidArgument(f"option {need} is required")
        self.provider = o["provider"].strip().lower()
        if self.provider not in catalog.PROVIDERS:
            raise InvalidArgument(
                f"unknown provider {self.provider!r}; valid: {', '.join(catalog.PROVIDERS)}"
            )
        self.report = o["report"].strip()
        self.start = _day(o["start"], "start")
        self.end = _day(o["end"], "end") if o.get("end") else today_cn() - _dt.timedelta(days=1)
        if self.end < self.start:
            raise InvalidArgument(f"end {self.end} is before start {self.start}")
        self.per_day = _bool(o["perday"], "perDay") if "perday" in o else False
        self.mode = o.get("mode", "FAILFAST").strip().upper()
        if self.mode not in MODES:
            raise InvalidArgument(
                f"option mode must be one of {', '.join(MODES)}, got {o['mode']!r}"
            )
        self.apps_per_partition = (
            _int(o["appsperpartition"], "appsPerPartition", 1, 100_000)
            if "appsperpartition" in o
            else DEFAULT_APPS_PER_PARTITION
        )
        self.concurrency = (
            _int(o["concurrency"], "concurrency", 1, 10_000) if "concurrency" in o else None
        )
        self.token_min_life = (
            float(_int(o["tokenminlife"], "tokenMinLife", 0, 3600))
            if "tokenminlife" in o
            else DEFAULT_TOKEN_MIN_LIFE_S
        )
        self.config = o.get("config") or o.get("path") or None
        apps = o.get("apps", "").strip()
        self.apps_toml: str | None = None
        self.app_names: tuple[str, ...] | None = None
        if apps and apps[0] in "[{":
            if self.config:
                raise InvalidArgument(
                    "give either option config (a file) or apps as JSON, not both"
                )
            self.apps_toml = _apps_toml(apps)
        elif apps:
            self.app_names = tuple(a.strip() for a in apps.split(",") if a.strip())
        if self.config is None and self.apps_toml is None:
            raise InvalidArgument(
                "option config (the sync TOML: which apps) or apps (JSON) is required"
            )
        self.options = {k: v for k, v in o.items() if k not in _OWN}
        self.windows = self._windows()

    def narrowed(self, start: _dt.date, end: _dt.date) -> _Options:
        """These options over ``start..end`` (pushed filters); empty windows
        when the range is empty."""
        out = copy.copy(self)
        out.start, out.end = start, end
        out.windows = out._windows() if start <= end else ()
        return out

    def _windows(self) -> tuple[tuple[str, str], ...]:
        """The tasks' windows: one task per app and window."""
        distribution = any(
            r.provider == self.provider and r.method == self.report and r.kind == "distribution"
            for r in catalog.REPORTS.values()
        )
        if self.per_day:
            span: int | None = PER_DAY_SPAN
        elif distribution or self.provider == "tim":
            span = None  # numbers over the whole range: never split
        elif self.provider == "baidu" and self.options.get("gran") == "hour":
            span = HOURLY_SPAN
        else:
            span = MAX_SPAN
        out = []
        a = self.start
        while a <= self.end:
            b = self.end if span is None else min(self.end, a + _dt.timedelta(days=span - 1))
            out.append((a.isoformat(), b.isoformat()))
            a = b + _dt.timedelta(days=1)
        return tuple(out)

    def schema(self) -> StructType:
        return report_schema(
            self.provider, self.report, self.options, per_day=self.per_day, mode=self.mode
        )

    def validate_tasks(self) -> None:
        """Check every window with the engine's own validation (no app, no
        client, nothing sent)."""
        _native.validate_tasks(
            self.provider,
            [(self.report, s, e, self.options, self.per_day) for s, e in self.windows],
        )

    def load(self) -> SyncConfig:
        """The config (cached per process: executors read it once)."""
        if self.apps_toml is not None:
            key: tuple[Any, ...] = ("apps", self.apps_toml)
        else:
            assert self.config is not None
            path = self._config_path(self.config)
            st = path.stat()
            key = ("file", str(path), st.st_mtime_ns, st.st_size)
        with _CONFIGS_LOCK:
            cfg = _CONFIGS.get(key)
        if cfg is None:
            if self.apps_toml is not None:
                cfg = parse_config(self.apps_toml, file="option apps")
            else:
                cfg = load_config(key[1])
            with _CONFIGS_LOCK:
                if len(_CONFIGS) > 8:
                    _CONFIGS.clear()
                _CONFIGS[key] = cfg
        return cfg

    @staticmethod
    def _config_path(config: str) -> pathlib.Path:
        p = pathlib.Path(config).expanduser()
        if p.exists():
            return p
        try:  # shipped with --files / addFile
            from pyspark import SparkFiles

            q = pathlib.Path(SparkFiles.get(p.name))
            if q.exists():
                return q
        except Exception:  # noqa: BLE001 - no SparkContext files in this process
            pass
        raise InvalidArgument(
            f"the sync config {config!r} does not exist on this node "
            f"({os.uname().nodename}); every node needs it (a shared path "
            "or --files)"
        )

    def select(self, cfg: SyncConfig) -> list[AppConfig]:
        """The config's apps of the provider (only ``apps`` if given)."""
        mine = [a for a in cfg.apps if a.provider == self.provider]
        if self.app_names is not None:
            known = {a.name for a in mine}
            bad = [n for n in self.app_names if n not in known]
            if bad:
                raise InvalidArgument(
                    f"unknown {self.provider} app"
                    f"{'s' if len(bad) > 1 else ''} "
                    f"{', '.join(map(repr, bad))}; the config has: "
                    f"{', '.join(sorted(known)) or 'none'}"
                )
            wanted = set(self.app_names)
            mine = [a for a in mine if a.name in wanted]
        if not mine:
            raise InvalidArgument(f"the config has no {self.provider} app to read")
        return mine
