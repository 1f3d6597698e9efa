"""The sync's TOML config: where the tables go and which apps to sync.

Secrets are never literal in the file by default: a value ``"env:VAR"`` is
read from the environment, ``"file:PATH"`` from a file (relative to the
config's folder; e.g. a mounted secret). A literal secret is accepted only
with ``allow_literal_secrets=True`` (``--allow-literal-secrets``) and
warned about. Every problem of a config (unknown provider, report, option
or key; a missing variable; a bad date; a duplicate name) is reported at
once, each with the file and line, before any request.

See ``appstats.example.toml`` for a commented example.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import pathlib
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from . import catalog
from .catalog import Report

__all__ = ["AppConfig", "ConfigError", "ConfigIssue", "SyncConfig", "load_config", "parse_config"]

log = logging.getLogger("appstats.sync.config")  # warnings shown without -v

#: Defaults of ``[defaults]``, written once.
DEFAULT_START = _dt.date(2024, 1, 1)
DEFAULT_LAG_DAYS = 3
DEFAULT_CONCURRENCY = 32
DEFAULT_ACTIVE_APPS = 64
DEFAULT_RATE_LIMIT = 10
DEFAULT_URI = "lake"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

#: Keys of each provider's entries (``True``: a secret).
COMMON_KEYS = {
    "name": False,
    "start": False,
    "lag_days": False,
    "reports": False,
    "rate_limit": False,
    "concurrency": False,
}
PROVIDER_KEYS: dict[str, dict[str, bool]] = {
    "baidu": {
        "app_id": False,
        "access_token": True,
        "client_id": False,
        "client_secret": True,
        "auth_code": True,
        "refresh_token": True,
        "base_url": False,
        "page_size": False,
    },
    "mta": {"app_id": False, "secret_key": True, "base_url": False},
    "tim": {
        "sdkappid": False,
        "secret_key": True,
        "region": False,
        "identifier": False,
        "resolve_to": False,
        "today": False,
    },
}
TP_KEYS = {"client_id": False, "ticket": True}
TABLES = {
    "target": {"uri", "storage_options"},
    "defaults": {"start", "lag_days", "reports", "concurrency", "active_apps", "rate_limit"},
    "tokens": {"path"},
    "baidu_tp": set(TP_KEYS),
}
SECRETISH = re.compile(r"secret|token|password|key|credential|sas", re.I)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config, with where it is."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(InvalidArgument):
    """A config with problems; ``issues`` lists every one of them."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line or 0))
        n = len(issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the sync config:"
        super().__init__("\n".join([head, *(f"  {i}" for i in issues)]))


@dataclass(frozen=True)
class AppConfig:
    """One app to sync. ``credentials`` holds resolved secrets: never shown."""

    name: str
    provider: str
    app_id: str
    start: _dt.date
    lag_days: int
    reports: tuple[Report, ...]
    credentials: dict[str, Any] = field(repr=False)
    http: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    def __repr__(self) -> str:
        return (
            f"AppConfig(name={self.name!r}, provider={self.provider!r}, "
            f"app_id={self.app_id!r}, start={self.start}, lag_days={self.lag_days}, "
            f"reports={len(self.reports)})"
        )


@dataclass(frozen=True)
class SyncConfig:
    """A validated sync config."""

    uri: str
    apps: tuple[AppConfig, ...]
    storage_options: dict[str, str] = field(default_factory=dict, repr=False)
    token_store: pathlib.Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    active_apps: int = DEFAULT_ACTIVE_APPS
    path: pathlib.Path | None = None

    def __repr__(self) -> str:
        by = {p: sum(a.provider == p for a in self.apps) for p in catalog.PROVIDERS}
        apps = ", ".join(f"{p}={n}" for p, n in by.items() if n)
        return f"SyncConfig(uri={self.uri!r}, apps: {apps or 'none'})"


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10
        import tomli

        return tomli
    except ImportError:  # pragma: no cover
        raise InvalidArgument(
            "reading a config on Python 3.10 needs tomli (pip install tomli)"
        ) from None


class _Lines:
    """Line numbers of tables and keys in TOML text (tomllib keeps none)."""

    HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        cur = ("", 0)
        for n, line in enumerate(text.splitlines(), 1):
            m = self.HEADER.match(line)
            if m:
                name = m.group(2)
                if m.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                    cur = (name, counts[name])
                else:
                    cur = (name, 0)
                self.tables.setdefault(cur, n)
                continue
            k = self.KEY.match(line)
            if k:
                self.keys.setdefault((cur[0], cur[1], k.group(1).strip('"')), n)

    def table(self, name: str, i: int = 0) -> int | None:
        return self.tables.get((name, i))

    def key(self, table: str, i: int, key: str) -> int | None:
        return self.keys.get((table, i, key)) or self.table(table, i)


class _Checker:
    """Collects every problem of a config before raising."""

    def __init__(
        self, file: str, lines: _Lines, base: pathlib.Path, allow_literal_secrets: bool
    ) -> None:
        self.file = file
        self.lines = lines
        self.base = base
        self.allow_literal = allow_literal_secrets
        self.issues: list[ConfigIssue] = []
        self.literal: list[str] = []

    def add(self, line: int | None, msg: str) -> None:
        self.issues.append(ConfigIssue(self.file, line, msg))

    def value(self, where: str, line: int | None, key: str, v: Any, secret: bool) -> Any:
        """Resolve ``env:``/``file:`` references; refuse literal secrets."""
        if not isinstance(v, str):
            return v
        if v.startswith("env:"):
            var = v[4:]
            got = os.environ.get(var)
            if not var:
                self.add(line, f'{where}: {key} = "env:" names no variable')
            elif got is None or got == "":
                self.add(line, f"{where}: {key}: environment variable {var} is not set")
            return got
        if v.startswith("file:"):
            p = pathlib.Path(v[5:]).expanduser()
            p = p if p.is_absolute() else self.base / p
            try:
                return p.read_text(encoding="utf-8").strip()
            except OSError as e:
                self.add(line, f"{where}: {key}: cannot read {str(p)!r} ({e.strerror})")
                return None
        if secret:
            if not self.allow_literal:
                self.add(
                    line,
                    f'{where}: {key} is a literal secret; use "env:VAR" or '
                    '"file:PATH" (or allow literal secrets explicitly)',
                )
            else:
                self.literal.append(f"{where}: {key}")
        return v

    def date(self, where: str, line: int | None, key: str, v: Any) -> _dt.date | None:
        if isinstance(v, _dt.datetime):
            return v.date()
        if isinstance(v, _dt.date):
            return v
        if isinstance(v, str):
            try:
                return _dt.date.fromisoformat(v)
            except ValueError:
                pass
        self.add(line, f"{where}: {key} must be a date (YYYY-MM-DD), got {v!r}")
        return None

    def int_(self, where: str, line: int | None, key: str, v: Any, lo: int, hi: int) -> int | None:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            self.add(line, f"{where}: {key} must be an integer between {lo} and {hi}, got {v!r}")
            return None
        return v

    def reports(self, where: str, line: int | None, v: Any) -> list[str] | None:
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.add(line, f"{where}: reports must be a list of report names, got {v!r}")
            return None
        bad = [x for x in v if not catalog.valid_name(x)]
        if bad:
            self.add(
                line,
                f"{where}: unknown report{'s' if len(bad) > 1 else ''} "
                f"{', '.join(map(repr, bad))}; valid: "
                f"{', '.join(sorted(catalog.REPORTS))} (or provider.*)",
            )
            return None
        return list(v)


def load_config(path: str | os.PathLike[str], *, allow_literal_secrets: bool = False) -> SyncConfig:
    """Read and validate a sync config file (every problem reported at once).

    Examples:
        >>> import appstats.sync as s, pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.toml"
        >>> _ = p.write_text('[[mta]]\\nname = "a"\\napp_id = "1"\\nsecret_key = "k"\\n[[qq]]\\n')
        >>> try:
        ...     s.load_config(p)
        ... except s.ConfigError as e:
        ...     print(len(e.issues), "problems; first on line", e.issues[0].line)
        2 problems; first on line 4
    """
    p = pathlib.Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidArgument(f"cannot read the sync config {str(p)!r}: {e.strerror}") from None
    return parse_config(
        text, file=str(p), base=p.resolve().parent, allow_literal_secrets=allow_literal_secrets
    )


def parse_config(
    text: str,
    *,
    file: str = "<config>",
    base: pathlib.Path | None = None,
    allow_literal_secrets: bool = False,
) -> SyncConfig:
    """Validate config text (see :func:`load_config`)."""
    base = base or pathlib.Path.cwd()
    try:
        raw = _toml().loads(text)
    except Exception as e:  # tomllib.TOMLDecodeError: message names line and column
        raise ConfigError([ConfigIssue(file, _line_of(str(e)), f"not valid TOML: {e}")]) from None
    lines = _Lines(text)
    c = _Checker(file, lines, base, allow_literal_secrets)

    for k, v in raw.items():
        if k in catalog.PROVIDERS:
            if not isinstance(v, list):
                c.add(lines.table(k), f"{k} entries are written [[{k}]] (a list of apps)")
        elif k not in TABLES:
            valid = ", ".join([*TABLES, *(f"[[{p}]]" for p in catalog.PROVIDERS)])
            c.add(
                lines.table(k) or lines.key("", 0, k),
                f"unknown section or provider {k!r}; valid: {valid}",
            )
        elif not isinstance(v, dict):
            c.add(lines.key("", 0, k), f"{k} must be a table [{k}]")
    for t, keys in TABLES.items():
        sec = raw.get(t)
        if isinstance(sec, dict):
            for k in sec:
                if k not in keys:
                    c.add(
                        lines.key(t, 0, k),
                        f"[{t}]: unknown key {k!r}; valid: {', '.join(sorted(keys))}",
                    )

    target = raw.get("target") if isinstance(raw.get("target"), dict) else {}
    uri = target.get("uri", DEFAULT_URI)
    if not isinstance(uri, str) or not uri:
        c.add(lines.key("target", 0, "uri"), f"[target]: uri must be a folder or URI, got {uri!r}")
        uri = DEFAULT_URI
    if "://" not in uri:
        uri = str((base / pathlib.Path(uri).expanduser()).resolve())
    storage: dict[str, str] = {}
    so = target.get("storage_options", {})
    if not isinstance(so, dict):
        c.add(
            lines.key("target", 0, "storage_options"),
            "[target]: storage_options must be a table of strings",
        )
    else:
        for k, v in so.items():
            line = lines.key("target.storage_options", 0, k) or lines.key(
                "target", 0, "storage_options"
            )
            got = c.value("[target.storage_options]", line, k, v, bool(SECRETISH.search(k)))
            if got is not None and not isinstance(got, str):
                c.add(line, f"[target.storage_options]: {k} must be a string")
            elif got is not None:
                storage[k] = got

    d = raw.get("defaults") if isinstance(raw.get("defaults"), dict) else {}

    def dl(k: str) -> int | None:
        return lines.key("defaults", 0, k)

    start = c.date("[defaults]", dl("start"), "start", d["start"]) if "start" in d else None
    start = start or DEFAULT_START
    lag = d.get("lag_days", DEFAULT_LAG_DAYS)
    lag = c.int_("[defaults]", dl("lag_days"), "lag_days", lag, 0, 366)
    lag = DEFAULT_LAG_DAYS if lag is None else lag
    reports = c.reports("[defaults]", dl("reports"), d["reports"]) if "reports" in d else None
    conc = c.int_(
        "[defaults]",
        dl("concurrency"),
        "concurrency",
        d.get("concurrency", DEFAULT_CONCURRENCY),
        1,
        10_000,
    )
    active = c.int_(
        "[defaults]",
        dl("active_apps"),
        "active_apps",
        d.get("active_apps", DEFAULT_ACTIVE_APPS),
        1,
        100_000,
    )
    rate = c.int_(
        "[defaults]",
        dl("rate_limit"),
        "rate_limit",
        d.get("rate_limit", DEFAULT_RATE_LIMIT),
        1,
        10_000,
    )

    tokens = raw.get("tokens") if isinstance(raw.get("tokens"), dict) else {}
    tpath = tokens.get("path")
    if tpath is not None and not isinstance(tpath, str):
        c.add(lines.key("tokens", 0, "path"), "[tokens]: path must be a file path")
        tpath = None
    stem = pathlib.Path(file).stem if file != "<config>" else "appstats"
    token_store = pathlib.Path(tpath).expanduser() if tpath else pathlib.Path(f"{stem}.tokens.json")
    token_store = token_store if token_store.is_absolute() else base / token_store

    tp_raw = raw.get("baidu_tp") if isinstance(raw.get("baidu_tp"), dict) else None
    tp: dict[str, Any] | None = None
    if tp_raw is not None:
        tp = {}
        for k in TP_KEYS:
            if k not in tp_raw:
                c.add(lines.table("baidu_tp"), f"[baidu_tp]: {k} is required")
            else:
                tp[k] = c.value("[baidu_tp]", lines.key("baidu_tp", 0, k), k, tp_raw[k], TP_KEYS[k])

    apps: list[AppConfig] = []
    seen: dict[str, str] = {}
    for provider in catalog.PROVIDERS:
        entries = raw.get(provider, [])
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            line = lines.table(provider, i)
            where = f"[[{provider}]] #{i + 1}"
            if not isinstance(entry, dict):
                c.add(line, f"{where}: must be a table")
                continue
            name = entry.get("name")
            if isinstance(name, str):
                where = f"[[{provider}]] {name!r}"
            app = _app(c, provider, i, where, line, entry, tp, start, lag, reports, rate)
            if not isinstance(name, str) or not NAME_RE.match(name):
                c.add(
                    lines.key(provider, i, "name"),
                    f"{where}: name must be 1-100 letters, digits, '_', '.' or '-' "
                    f"(it labels the app in the tables), got {name!r}",
                )
            elif name in seen:
                c.add(
                    lines.key(provider, i, "name"),
                    f"{where}: duplicate name {name!r} (also {seen[name]})",
                )
            else:
                seen[name] = where
            if app is not None:
                apps.append(app)
    if c.issues:
        raise ConfigError(c.issues)
    for what in c.literal:
        log.warning(
            "%s: %s holds a literal secret (allowed explicitly); prefer env:VAR", file, what
        )
    return SyncConfig(
        uri=uri,
        apps=tuple(apps),
        storage_options=storage,
        token_store=token_store,
        concurrency=conc or DEFAULT_CONCURRENCY,
        active_apps=active or DEFAULT_ACTIVE_APPS,
        path=pathlib.Path(file) if file != "<config>" else None,
    )


def _line_of(msg: str) -> int | None:
    m = re.search(r"line (\d+)", msg)
    return int(m.group(1)) if m else None


def _app(
    c: _Checker,
    provider: str,
    i: int,
    where: str,
    line: int | None,
    e: dict[str, Any],
    tp: dict[str, Any] | None,
    start: _dt.date,
    lag: int,
    reports: list[str] | None,
    rate: int | None,
) -> AppConfig | None:
    """Validate one entry; ``None`` when it has problems (recorded in ``c``)."""
    n0 = len(c.issues)
    keys = {**COMMON_KEYS, **PROVIDER_KEYS[provider]}

    def kl(k: str) -> int | None:
        return c.lines.key(provider, i, k)

    for k in e:
        if k not in keys:
            c.add(kl(k), f"{where}: unknown key {k!r}; valid: {', '.join(sorted(keys))}")
    vals = {k: c.value(where, kl(k), k, e[k], keys[k]) for k in e if k in keys}
    s = c.date(where, kl("start"), "start", vals["start"]) if "start" in vals else start
    lg = (
        c.int_(where, kl("lag_days"), "lag_days", vals["lag_days"], 0, 366)
        if "lag_days" in vals
        else lag
    )
    names = c.reports(where, kl("reports"), vals["reports"]) if "reports" in vals else reports
    http: dict[str, Any] = {}
    r = (
        c.int_(where, kl("rate_limit"), "rate_limit", vals["rate_limit"], 1, 10_000)
        if "rate_limit" in vals
        else rate
    )
    if r is not None:
        http["rate_limit"] = r
    if "concurrency" in vals:
        conc = c.int_(where, kl("concurrency"), "concurrency", vals["concurrency"], 1, 100)
        if conc is not None:
            http["concurrency"] = conc
    creds: dict[str, Any] = {}
    for k in PROVIDER_KEYS[provider]:
        if k in vals and vals[k] is not None:
            creds[k] = vals[k]

    def need(*ks: str) -> None:
        for k in ks:
            if k not in e:
                c.add(line, f"{where}: {k} is required")

    app_id = ""
    if provider == "baidu":
        own = "access_token" in e or "client_id" in e or "client_secret" in e
        program = "refresh_token" in e or "auth_code" in e
        if program and own:
            c.add(
                line,
                f"{where}: give either the program's refresh_token/auth_code "
                "(with [baidu_tp]) or its own access_token / client_id + client_secret",
            )
        elif program:
            if tp is None:
                c.add(
                    line,
                    f"{where}: refresh_token/auth_code need the platform's "
                    "[baidu_tp] client_id and ticket",
                )
            else:
                creds.update(tp_client_id=tp.get("client_id"), tp_ticket=tp.get("ticket"))
        elif "client_id" in e or "client_secret" in e:
            need("client_id", "client_secret")
        elif "access_token" not in e:
            c.add(
                line,
                f"{where}: credentials missing: refresh_token or auth_code "
                "(a program of [baidu_tp]), or client_id + client_secret, "
                "or access_token",
            )
        app_id = str(e.get("app_id", e.get("name", "")))
        if "page_size" in vals:
            ps = c.int_(where, kl("page_size"), "page_size", vals["page_size"], 1, 1000)
            creds["page_size"] = ps
    elif provider == "mta":
        need("app_id", "secret_key")
        app_id = str(vals.get("app_id", ""))
    else:
        need("sdkappid", "secret_key")
        sid = vals.get("sdkappid")
        if sid is not None and (isinstance(sid, bool) or not isinstance(sid, int) or sid <= 0):
            c.add(kl("sdkappid"), f"{where}: sdkappid must be a positive integer, got {sid!r}")
        app_id = str(sid)
        if "region" in vals and not isinstance(vals["region"], str):
            c.add(kl("region"), f"{where}: region must be a string")
    for k in ("base_url", "app_id", "identifier", "resolve_to", "client_id"):
        if k in vals and vals[k] is not None and k != "app_id" and not isinstance(vals[k], str):
            c.add(kl(k), f"{where}: {k} must be a string")
    if len(c.issues) > n0 or s is None or lg is None:
        return None
    chosen = catalog.select(provider, names)
    if "reports" in vals and not chosen:
        c.add(kl("reports") or line, f"{where}: reports {names} select no {provider} report")
        return None
    return AppConfig(
        name=str(e.get("name")),
        provider=provider,
        app_id=app_id,
        start=s,
        lag_days=lg,
        reports=tuple(chosen),
        credentials=creds,
        http=http,
        line=line,
    )
