"""Deterministic synthetic provider replies for the benchmarks.

Every generator returns ``(text, expected_rows)``: the JSON text in the exact
wire shape of the provider (``json.dumps(..., ensure_ascii=False)``) and the
number of rows of the flat table it should become.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import tempfile
from pathlib import Path

GEN_VERSION = 1

SOURCE_METRICS = (
    "new_user_count",
    "new_user_scale",
    "user_count",
    "user_scale",
    "session_scale",
    "session_count_per_user",
    "average_session_time",
)
SOURCE_INT = ("new_user_count", "user_count")
SCENE_NAMES = (
    "原生",
    "闪投",
    "搜索词推荐直达",
    "小程序单卡",
    "自然结果",
    "小程序tab",
    "推荐",
    "历史",
    "顶部横滑模块",
    "智能小程序",
    "其他",
    "分享",
    "百家号文章挂载",
    "多任务",
    "桌面快捷",
)

MTA_FIELDS = ("NewUser", "ActiveUser", "SessionCount", "TotalUser", "ActiveAccount", "NoRepeatUser")


def _count(rng: random.Random, lo: int, hi: int) -> int | str:
    """A count as Baidu sends it: mostly a JSON number, sometimes "1,234" or "--"."""
    v = rng.randint(lo, hi)
    r = rng.random()
    if r < 0.01:
        return "--"
    if r < 0.06:
        return f"{v:,}"
    return v


def _ratio(rng: random.Random, hi: float) -> float | str:
    if rng.random() < 0.01:
        return "--"
    return round(rng.uniform(0, hi), 2)


def _metrics(rng: random.Random) -> dict[str, object]:
    return {
        "new_user_count": _count(rng, 0, 50_000),
        "new_user_scale": _ratio(rng, 100),
        "user_count": _count(rng, 0, 80_000),
        "user_scale": _ratio(rng, 100),
        "session_scale": _ratio(rng, 100),
        "session_count_per_user": _ratio(rng, 4),
        "average_session_time": rng.randint(1, 1200),
    }


def baidu_source(min_scenes: int, seed: int = 1) -> tuple[str, int]:
    """``getanalysissource``: groups with a ``name`` array of scene objects.

    About 5 % of the groups have an empty ``name`` array (they become one
    row with null scene columns). Returns at least ``min_scenes`` scene rows.
    """
    rng = random.Random(seed)
    groups = []
    scenes = 0
    rows = 0
    g = 0
    while scenes < min_scenes:
        source = str(10 + g)
        k = 0 if rng.random() < 0.05 else rng.randint(1, 40)
        names = []
        for j in range(k):
            scene = {
                "sceneId": str(11_000_000 + g * 100 + j),
                "source": source,
                "name": SCENE_NAMES[(g + j) % len(SCENE_NAMES)],
            }
            scene.update(_metrics(rng))
            names.append(scene)
        group: dict[str, object] = {"name": names}
        group.update(_metrics(rng))
        groups.append(group)
        scenes += k
        rows += max(k, 1)
        g += 1
    reply = {
        "errno": 0,
        "msg": "success",
        "data": {
            "time_span": "2019/04/10 - 2019/04/15",
            "offset": 0,
            "total": len(groups),
            "data_list": groups,
        },
    }
    return json.dumps(reply, ensure_ascii=False), rows


def baidu_retention(min_cells: int, periods: int = 30, seed: int = 2) -> tuple[str, int]:
    """``getanalysisretaineduser`` (gran=day): cohorts × ``第N天`` keys (N = 2…periods+1).

    The last cohorts have ``--`` for days not reached yet; about 1 % of the
    other cells are ``--`` too.
    """
    rng = random.Random(seed)
    cohorts = -(-min_cells // periods)
    day0 = dt.date(1950, 1, 1)
    rows = []
    for c in range(cohorts):
        size = rng.randint(100, 100_000)
        row: dict[str, object] = {
            "name": (day0 + dt.timedelta(days=c)).strftime("%Y/%m/%d"),
            "active_user_count": size,
        }
        left = cohorts - c  # days of data after this cohort
        for n in range(2, periods + 2):
            if n > left or rng.random() < 0.01:
                row[f"第{n}天"] = "--"
            else:
                row[f"第{n}天"] = rng.randint(0, size)
        rows.append(row)
    reply = {
        "errno": 0,
        "msg": "success",
        "data": {
            "time_span": f"{rows[0]['name']} - {rows[-1]['name']}",
            "offset": 0,
            "total": cohorts,
            "sum": {"active_user_count": "--"},
            "data_list": rows,
        },
    }
    return json.dumps(reply, ensure_ascii=False), cohorts * periods


def _mta_value(rng: random.Random) -> int | str:
    r = rng.random()
    if r < 0.01:
        return "-"
    if r < 0.015:
        return ""
    v = rng.randint(0, 5_000_000)
    if r < 0.10:
        return v  # a bare JSON number
    return f"{v:,}"


def mta_user_basic(min_cells: int, seed: int = 3) -> tuple[str, int]:
    """MTA ``user_basic`` (date-keyed ``ret_data``), newest date first like the service.

    MTA's client splits requests into ≤90-day windows, but the offline
    parser takes any span; consecutive real dates from 1700-01-01 give
    ``min_cells / 6`` rows.
    """
    rng = random.Random(seed)
    days = -(-min_cells // len(MTA_FIELDS))
    day0 = dt.date(1700, 1, 1)
    data = {}
    for i in reversed(range(days)):
        data[(day0 + dt.timedelta(days=i)).isoformat()] = {f: _mta_value(rng) for f in MTA_FIELDS}
    reply = {"ret_code": 60000, "ret_msg": "ok", "ret_data": data}
    return json.dumps(reply, ensure_ascii=False), days


def cached(name: str, size: int) -> tuple[Path, int]:
    """Generate once and keep in the temp dir: ``(path, expected_rows)``."""
    gen = {"source": baidu_source, "retention": baidu_retention, "mta": mta_user_basic}[name]
    d = Path(os.environ.get("APPSTATS_BENCH_DIR", Path(tempfile.gettempdir()) / "appstats-bench"))
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}-{size}-v{GEN_VERSION}.json"
    meta = path.with_suffix(".rows")
    if not (path.exists() and meta.exists()):
        text, rows = gen(size)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        meta.write_text(str(rows))
    return path, int(meta.read_text())
