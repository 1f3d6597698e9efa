"""Helpers shared by the sync tests."""

from __future__ import annotations

import os
import pathlib

import appstats as aps
from appstats.sync import SyncConfig


def write_toml(sb: aps.Sandbox, cfg: SyncConfig, path: pathlib.Path) -> None:
    """The sandbox config as a TOML file with env: secrets (set in os.environ)."""
    target = f'[target]\nuri = "{cfg.uri}"\n'
    if cfg.storage_options:
        opts = []
        for k, v in cfg.storage_options.items():
            if "SECRET" in k.upper() or "KEY" in k.upper():
                os.environ[f"SB_STORE_{k.upper()}"] = v
                v = f"env:SB_STORE_{k.upper()}"
            opts.append(f'{k} = "{v}"')
        target += "storage_options = { " + ", ".join(opts) + " }\n"
    lines = [
        target,
        f'[tokens]\npath = "{cfg.token_store}"\n',
        f'[defaults]\nstart = "{cfg.apps[0].start}"\nrate_limit = 50\n',
    ]
    c = sb.credentials
    os.environ["SB_TP_TICKET"] = c["baidu_tp_ticket"]
    lines.append(
        f'[baidu_tp]\nclient_id = "{c["baidu_tp_client_id"]}"\nticket = "env:SB_TP_TICKET"\n'
    )
    for a in cfg.apps:
        rep = ", ".join(f'"{r.key}"' for r in a.reports)
        var = f"SB_{a.name.upper()}"
        body = [f"[[{a.provider}]]", f'name = "{a.name}"', f"reports = [{rep}]"]
        for k, v in a.credentials.items():
            if k in ("tp_client_id", "tp_ticket"):
                continue
            if k in ("secret_key", "refresh_token"):
                os.environ[var] = str(v)
                body.append(f'{k} = "env:{var}"')
            elif isinstance(v, int):
                body.append(f"{k} = {v}")
            else:
                body.append(f'{k} = "{v}"')
        if a.provider == "baidu":
            body.append(f'app_id = "{a.app_id}"')
        lines.append("\n".join(body) + "\n")
    path.write_text("\n".join(lines), encoding="utf-8")
