"""A :class:`~appstats.sync.SyncConfig` written back as a TOML file whose
secrets are ``env:`` or ``file:`` references (never literal).

Spark executors and other processes read the sync config themselves, so
that no secret travels in job options or plans; the sandbox's configs (with
their fake credentials inline) are turned into such files here. Re-exported
as :func:`appstats.spark.write_config`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib
import re
from typing import Any

from .errors import InvalidArgument
from .sync.config import PROVIDER_KEYS, SyncConfig

__all__ = ["write_config", "toml_value"]

_SAFE = re.compile(r"[^A-Za-z0-9]+")


def toml_value(v: Any, where: str = "config") -> str:
    """``v`` as a TOML value: the one TOML writer of appstats (configs
    written back here, Spark's ``apps`` option).

    Examples:
        >>> toml_value({"start": __import__("datetime").date(2024, 3, 1), "tags": ["a", 1]})
        '{ "start" = 2024-03-01, "tags" = ["a", 1] }'
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and v == v and v not in (float("inf"), float("-inf")):
        return repr(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x, where) for x in v) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{json.dumps(str(k))} = {toml_value(x, where)}" for k, x in v.items())
        return "{ " + items + " }"
    raise InvalidArgument(f"{where}: {type(v).__name__} values cannot be written to TOML: {v!r}")


def write_config(
    cfg: SyncConfig,
    path: str | os.PathLike[str],
    *,
    secrets: str = "file",
    env_prefix: str = "APPSTATS_",
) -> pathlib.Path:
    """Write ``cfg`` as a sync TOML file with its secrets moved out of it.

    Args:
        cfg: the config (e.g. :func:`appstats.sync.sandbox_config`).
        path: the TOML file to write.
        secrets: ``"file"``: each secret in its own file (mode 0600) in a
            ``secrets`` folder next to the config, referenced as
            ``"file:secrets/<app>.<key>"``; ``"env"``: each secret set in
            this process's environment as ``<env_prefix><APP>_<KEY>`` and
            referenced as ``"env:..."`` (processes started afterwards, such
            as Spark's workers, inherit it).
        env_prefix: prefix of the variables (``secrets="env"``).

    Returns:
        The config's path.

    Examples:
        >>> import appstats as aps, pathlib, tempfile
        >>> from appstats.spark import write_config
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with aps.Sandbox(apps=2) as sb:
        ...     cfg = aps.sync.sandbox_config(sb, d / "lake", providers=["mta"])
        ...     p = write_config(cfg, d / "appstats.toml")
        ...     again = aps.sync.load_config(p)
        >>> [a.name for a in again.apps], 'secret_key = "file:' in p.read_text()
        (['mta1', 'mta2'], True)
        >>> again.apps[0].credentials == cfg.apps[0].credentials
        True
    """
    if secrets not in ("file", "env"):
        raise InvalidArgument(f'secrets must be "file" or "env", got {secrets!r}')
    p = pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    folder = p.parent / "secrets"

    def ref(owner: str, key: str, value: Any) -> str:
        if secrets == "env":
            var = _SAFE.sub("_", f"{env_prefix}{owner}_{key}").upper()
            os.environ[var] = str(value)
            return f"env:{var}"
        folder.mkdir(mode=0o700, exist_ok=True)
        f = folder / f"{owner}.{key}"
        fd = os.open(str(f), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(str(value))
        return f"file:secrets/{f.name}"

    out = [
        "# written by appstats.spark.write_config: secrets are references",
        "",
        "[target]",
        f"uri = {toml_value(cfg.uri)}",
        "",
        "[defaults]",
        f"concurrency = {cfg.concurrency}",
        f"active_apps = {cfg.active_apps}",
        "",
    ]
    if cfg.token_store is not None:
        out += ["[tokens]", f"path = {toml_value(str(cfg.token_store))}", ""]
    tp = next((a.credentials for a in cfg.apps if "tp_client_id" in a.credentials), None)
    if tp is not None:
        out += [
            "[baidu_tp]",
            f"client_id = {toml_value(tp['tp_client_id'])}",
            f"ticket = {toml_value(ref('baidu_tp', 'ticket', tp['tp_ticket']))}",
            "",
        ]
    for a in cfg.apps:
        out += [
            f"[[{a.provider}]]",
            f"name = {toml_value(a.name)}",
            f"start = {toml_value(a.start)}",
            f"lag_days = {a.lag_days}",
            f"reports = {toml_value([r.key for r in a.reports])}",
        ]
        for k in ("rate_limit", "concurrency"):
            if k in a.http:
                out.append(f"{k} = {toml_value(a.http[k])}")
        if a.provider == "baidu":
            out.append(f"app_id = {toml_value(a.app_id)}")
        for k, v in a.credentials.items():
            if k in ("tp_client_id", "tp_ticket") or v is None:
                continue
            if k == "app_id" and a.provider == "baidu":
                continue
            secret = PROVIDER_KEYS[a.provider].get(k, False)
            out.append(f"{k} = {toml_value(ref(a.name, k, v)) if secret else toml_value(v)}")
        out.append("")
    p.write_text("\n".join(out), encoding="utf-8")
    return p
