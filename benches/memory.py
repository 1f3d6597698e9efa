"""Memory benchmark: peak RSS while flattening the 1M-row Baidu source reply,
and while fetching a source report page by page from the sandbox.

Each method runs in its own subprocess. The child imports everything, reads
the reply text (kept alive: the input is counted separately), resets the
kernel's high-water mark (``/proc/self/clear_refs``), records its RSS as the
baseline, flattens, and reports ``VmHWM`` − baseline against the resulting
frame's size (``polars.DataFrame.estimated_size()``, or pandas'
``memory_usage(deep=True)``). Target: ≤ 2× for appstats.

The appstats delta includes the UTF-8 copy of the text CPython makes (and
caches on the str) when a str is handed to Rust; it is printed too.

``fetch``: the client fetches the source report (``--fetch-rows`` scene
rows, about 17 per group, pages of 20 groups) from a sandbox running in
another process (so its generated report does not count), warmed up by the
parent; the child first fetches a one-page report (the runtime, connection
pool and token exist once per process, not per fetch), then measures the
fetch. Target: ≤ 2× the frame.

Run: ``python benches/memory.py`` (~1 min) or ``--quick``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402

TARGET = 2.0
METHODS = ("appstats", "appstats_bytes", "from_dicts", "pandas", "fetch")
PARSE_METHODS = METHODS[:4]
SERVER = """
import sys, appstats as aps
sb = aps.Sandbox(seed=7, sources=int(sys.argv[1]), scenes_per_source=40)
c = sb.credentials
print(sb.url, c["baidu_client_id"], c["baidu_client_secret"], flush=True)
sys.stdin.read()
sb.close()
"""
S, E = "2024-03-01", "2024-03-31"
MB = 1e6


def status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (e.g. VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def fetch_child(server: str) -> None:
    import polars as pl  # noqa: F401  (imported before the baseline)

    import appstats

    url, cid, secret = server.split()
    bd = appstats.BaiduSmartApp(
        client_id=cid, client_secret=secret, base_url=url, rate_limit=100_000, concurrency=4
    )
    # the runtime, connection pool and token exist once per process, not per fetch
    bd.region(S, S, progress=False)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    base = status("VmRSS")
    df = bd.source(S, E, progress=False)
    peak = status("VmHWM")
    after = status("VmRSS")
    print(
        json.dumps(
            {
                "method": "fetch",
                "rows": len(df),
                "base": base,
                "peak": peak,
                "after": after,
                "frame": df.estimated_size(),
                "reset": True,
                "requests": bd.stats()["requests"],
            }
        )
    )


def run_fetch(rows: int) -> dict[str, int]:
    """Start a sandbox process, warm its report cache, measure a child's fetch."""
    import urllib.parse
    import urllib.request

    sources = max(1, round(rows / 17))
    srv = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(sources)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert srv.stdout is not None
        server = srv.stdout.readline().strip()
        url, cid, secret = server.split()
        q = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": cid,
                "client_secret": secret,
                "scope": "smartapp_snsapi_base",
            }
        )
        with urllib.request.urlopen(f"{url}/oauth/2.0/token?{q}") as r:
            token = json.loads(r.read())["access_token"]
        body = urllib.parse.urlencode(
            {
                "start_date": S.replace("-", ""),
                "end_date": E.replace("-", ""),
                "start_index": 0,
                "max_results": 20,
            }
        ).encode()
        with urllib.request.urlopen(
            f"{url}/rest/2.0/smartapp/data/getanalysissource?"
            + urllib.parse.urlencode({"access_token": token}),
            body,
        ) as r:
            total = json.loads(r.read())["data"]["total"]
        out = subprocess.run(
            [sys.executable, __file__, "--child", "fetch", "--path", server],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["groups"] = total
        return r
    finally:
        if srv.stdin:
            srv.stdin.close()
        srv.wait(timeout=30)


def child(method: str, path: str) -> None:
    if method == "fetch":
        fetch_child(path)
        return
    import pandas as pd  # noqa: F401  (imported before the baseline)
    import polars as pl  # noqa: F401

    import appstats
    import flatten

    fn = {
        "appstats": lambda t: appstats.baidu.parse("getanalysissource", t),
        "appstats_bytes": lambda t: appstats.baidu.parse("getanalysissource", t),
        "from_dicts": flatten.source_dicts,
        "pandas": flatten.source_pandas,
    }[method]
    # appstats_bytes: the reply as bytes (e.g. response.content), parsed without a copy
    text: str | bytes = (
        Path(path).read_bytes()
        if method == "appstats_bytes"
        else Path(path).read_text(encoding="utf-8")
    )
    text_obj = sys.getsizeof(text)
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False  # peak then includes reading the file: an upper bound
    base = status("VmRSS")
    df = fn(text)
    peak = status("VmHWM")
    after = status("VmRSS")
    if hasattr(df, "estimated_size"):
        size = df.estimated_size()
    else:
        size = int(df.memory_usage(deep=True).sum())
    print(
        json.dumps(
            {
                "method": method,
                "rows": len(df),
                "base": base,
                "peak": peak,
                "after": after,
                "frame": size,
                "text_chars": len(text),
                "text_obj": text_obj,
                "utf8": len(text if isinstance(text, bytes) else text.encode("utf-8")),
                "reset": reset,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20k rows (smoke test)")
    ap.add_argument("--rows", type=int, help="scene rows (default 1,000,000)")
    ap.add_argument("--only", choices=METHODS, action="append")
    ap.add_argument(
        "--fetch-rows",
        type=int,
        nargs="+",
        help="scene rows of the fetched report (default 83,000 and 331,000)",
    )
    ap.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.path)
        return
    methods = args.only or METHODS
    parse = [m for m in methods if m in PARSE_METHODS]
    if parse:
        measure_parse(args, parse)
    if "fetch" in methods:
        measure_fetch(args.fetch_rows or ([20_000] if args.quick else [83_000, 331_000]))


def measure_fetch(sizes: list[int]) -> None:
    print("\nfetching the source report from a sandbox in another process (pages of 20 groups):")
    print(
        f"{'rows':>9} {'groups':>7} {'requests':>9} {'peak − base':>12} {'frame':>10} "
        f"{'ratio':>7} {'kept after':>11}"
    )
    for size in sizes:
        r = run_fetch(size)
        delta = r["peak"] - r["base"]
        ratio = delta / r["frame"]
        print(
            f"{r['rows']:>9,} {r['groups']:>7,} {r['requests']:>9,} {delta / MB:>9,.1f} MB "
            f"{r['frame'] / MB:>7,.1f} MB {ratio:>6.2f}× "
            f"{(r['after'] - r['base']) / MB:>8,.1f} MB   "
            f"(target ≤ {TARGET:g}×: {'met' if ratio <= TARGET else 'NOT met'})",
            flush=True,
        )


def measure_parse(args: argparse.Namespace, methods: list[str]) -> None:
    size = args.rows or (20_000 if args.quick else 1_000_000)
    path, rows = _data.cached("source", size)
    print(
        f"Baidu getanalysissource: {rows:,} output rows, "
        f"{path.stat().st_size / MB:,.1f} MB of JSON ({path})"
    )
    results = []
    for m in methods:
        out = subprocess.run(
            [sys.executable, __file__, "--child", m, "--path", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        assert r["rows"] == rows, (m, r["rows"], rows)
        results.append(r)
    r0 = results[0]
    print(
        f"input str: {r0['text_obj'] / MB:,.1f} MB as a Python str "
        f"({r0['text_chars']:,} chars; its UTF-8 form is {r0['utf8'] / MB:,.1f} MB) — "
        "not counted below"
    )
    if not all(r["reset"] for r in results):
        print("WARNING: /proc/self/clear_refs not writable: peaks include reading the input")
    print(f"\n{'method':<12} {'peak − base':>12} {'frame':>10} {'ratio':>7} {'kept after':>11}")
    for r in results:
        delta = r["peak"] - r["base"]
        print(
            f"{r['method']:<12} {delta / MB:>9,.0f} MB {r['frame'] / MB:>7,.0f} MB "
            f"{delta / r['frame']:>6.2f}× {(r['after'] - r['base']) / MB:>8,.0f} MB"
        )
    for r in results:
        if r["method"] == "appstats_bytes":
            ratio = (r["peak"] - r["base"]) / r["frame"]
            print(
                f"appstats with bytes input: peak − base = {ratio:.2f}× the frame "
                f"(target ≤ {TARGET:g}×: {'met' if ratio <= TARGET else 'NOT met'})"
            )
        if r["method"] == "appstats":
            delta = r["peak"] - r["base"]
            ratio = delta / r["frame"]
            print(
                f"\nappstats: peak − base = {ratio:.2f}× the frame "
                f"(target ≤ {TARGET:g}×: {'met' if ratio <= TARGET else 'NOT met'}); "
                f"without the {r['utf8'] / MB:,.0f} MB UTF-8 copy of the input: "
                f"{(delta - r['utf8']) / r['frame']:.2f}×"
            )


if __name__ == "__main__":
    main()
