"""Scale benchmark: many sandbox apps, one process vs Spark ``local[2]``.

10,000 MTA apps (``--apps``) × one report (``user_basic``, ``--report``)
× 7 days, read twice over the same sandbox, each run in a fresh process:

* **local** — ``appstats.fetch_many`` over every app in one process
  (``--concurrency`` requests in flight);
* **spark** — ``spark.read.format("appstats")`` on ``local[2]``: two tasks
  at a time, each running the fan-out for its partition's apps with half
  the concurrency, so both runs keep the same number of requests in
  flight; the rows are counted on the executors (nothing is collected).

The sandbox runs in a process of its own, with ``--latency`` seconds per
reply and every app limited to ``--rate`` requests per second. Its
*capacity* — what this machine serves when latency is no limit (a
second sandbox without latency, read by one process with 4× the
concurrency) — is measured first. For each run the script prints the
requests, the wall time, requests/s, and the ratio to the **ideal bound**
``max(requests × latency ÷ concurrency, requests ÷ capacity, apps × t_app ÷
concurrency)`` — ``t_app = (requests per app − 1) ÷ rate + latency`` is the
least time an app's task holds a slot while its rate limit paces it (the
fan-out's concurrency counts tasks) —, the per-app rate seen by the sandbox (the most
requests any sampled app got within one second), and peak RSS: of the
local process; of Spark's Python driver and of its JVM (``VmHWM``). Spark's
session start is timed apart (it is paid once per application, not per
read).

``--per-day`` reads a distribution report one day per request (7 requests
per app: e.g. ``--report frequency --per-day``), which makes the per-app
rate limit count.

Run: ``python benches/scale.py`` (about 3 minutes here; ``--apps 1000``
for a quick look; ``--skip-spark`` without Java).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

TODAY = "2024-04-01"
START, END = "2024-03-25", "2024-03-31"  # 7 days
HERE = pathlib.Path(__file__).resolve()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(a: argparse.Namespace) -> None:
    """The sandbox process: two sandboxes (with and without latency), their
    configs, then answers ``count`` / ``rates`` / ``quit`` on stdin."""
    import appstats as aps
    from appstats.spark import write_config

    d = pathlib.Path(a.dir)
    out: dict[str, Any] = {}
    boxes = {}
    for name, latency in (("capacity", 0.0), ("main", a.latency)):
        sb = aps.Sandbox(seed=11, apps=a.apps, latency=latency, today=TODAY)
        cfg = aps.sync.sandbox_config(
            sb,
            d / name / "lake",
            providers=["mta"],
            reports=[f"mta.{a.report}"],
            rate_limit=a.rate,
            concurrency=a.concurrency,
        )
        out[name] = str(write_config(cfg, d / name / "appstats.toml"))
        boxes[name] = sb
    ids = [x["app_id"] for x in boxes["main"].apps("mta")]
    print(json.dumps(out), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        sb = boxes[cmd[1]] if len(cmd) > 1 else boxes["main"]
        if cmd[0] == "count":
            print(json.dumps(sb.request_count("mta")), flush=True)
        elif cmd[0] == "rates":
            step = max(1, len(ids) // 50)
            per_app = max(sb.max_per_second("mta", app=i) for i in ids[::step])
            print(json.dumps({"per_app": per_app, "all": sb.max_per_second("mta")}), flush=True)
        else:
            break


def local(a: argparse.Namespace) -> None:
    """One process: fetch_many over every app of the config."""
    from appstats.sync import Task, fetch_many, load_config
    from appstats.sync.runner import _spec

    cfg = load_config(a.config)
    specs = {x.name: _spec(x, None) for x in cfg.apps}
    tasks = [Task(n, a.report, START, END, {}, a.per_day) for n in specs]
    t0 = time.perf_counter()
    rows = 0
    with fetch_many(
        specs, tasks, concurrency=a.concurrency, active_apps=4 * a.concurrency, progress=False
    ) as run:
        for o in run:
            rows += o.frame.height
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0, "rss": rss_mb()}))


def jvm_hwm_mb(spark: Any) -> float:
    pid = spark.sparkContext._gateway.proc.pid
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spark_run(a: argparse.Namespace) -> None:
    """Spark local[2]: the data source, rows counted on the executors."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession

    import appstats.spark

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("appstats-scale")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.dataSource.register(appstats.spark.AppStats)
    session = time.perf_counter() - t0
    t1 = time.perf_counter()
    df = (
        spark.read.format("appstats")
        .option("config", a.config)
        .option("provider", "mta")
        .option("report", a.report)
        .option("start", START)
        .option("end", END)
        .option("perDay", str(a.per_day).lower())
        .option("appsPerPartition", str(a.apps_per_partition))
        .option("concurrency", str(max(1, a.concurrency // 2)))
        .load()
    )
    rows = df.count()
    seconds = time.perf_counter() - t1
    parts = df.rdd.getNumPartitions()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "session": session,
                "rss": rss_mb(),
                "jvm": jvm_hwm_mb(spark),
                "partitions": parts,
            }
        )
    )
    spark.stop()


def child(mode: str, a: argparse.Namespace, config: str, concurrency: int) -> dict[str, Any]:
    args = [
        sys.executable,
        str(HERE),
        mode,
        "--config",
        config,
        "--report",
        a.report,
        "--concurrency",
        str(concurrency),
        "--apps-per-partition",
        str(a.apps_per_partition),
    ] + (["--per-day"] if a.per_day else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return dict(json.loads(line))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "mode", nargs="?", default="bench", choices=["bench", "_serve", "_local", "_spark"]
    )
    p.add_argument("--apps", type=int, default=10_000)
    p.add_argument("--report", default="user_basic")
    p.add_argument("--per-day", action="store_true")
    p.add_argument("--latency", type=float, default=0.05)
    p.add_argument("--rate", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--apps-per-partition", type=int, default=64)
    p.add_argument("--skip-spark", action="store_true")
    p.add_argument("--config")
    p.add_argument("--dir")
    a = p.parse_args()
    if a.mode == "_serve":
        return serve(a)
    if a.mode == "_local":
        return local(a)
    if a.mode == "_spark":
        return spark_run(a)

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                str(HERE),
                "_serve",
                "--apps",
                str(a.apps),
                "--latency",
                str(a.latency),
                "--rate",
                str(a.rate),
                "--report",
                a.report,
                "--concurrency",
                str(a.concurrency),
                "--dir",
                d,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdin is not None and server.stdout is not None

        def ask(cmd: str) -> Any:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(cmd + "\n")
            server.stdin.flush()
            return json.loads(server.stdout.readline())

        configs = json.loads(server.stdout.readline())
        print(
            f"{a.apps:,} sandbox MTA apps × {a.report} × 7 days"
            f"{' (one request per day)' if a.per_day else ''}; latency "
            f"{a.latency * 1000:.0f} ms, {a.rate} requests/s per app, {a.concurrency} "
            f"requests in flight (set up in {time.perf_counter() - t0:.1f} s)"
        )

        cap = child("_local", a, configs["capacity"], 4 * a.concurrency)
        cap_n = ask("count capacity")
        capacity = cap_n / cap["seconds"]
        print(
            f"sandbox capacity (no latency, {4 * a.concurrency} in flight, one process): "
            f"{cap_n:,} requests in {cap['seconds']:.1f} s = {capacity:,.0f} requests/s"
        )

        runs: dict[str, dict[str, Any]] = {}
        before = 0
        for mode in ("local", "spark"):
            if mode == "spark" and a.skip_spark:
                continue
            r = child(f"_{mode}", a, configs["main"], a.concurrency)
            n = ask("count") - before
            before += n
            t_app = (n / a.apps - 1) / a.rate + a.latency
            bounds = {
                "latency × concurrency": n * a.latency / a.concurrency,
                "the sandbox's capacity (this machine's CPU)": n / capacity,
                "the per-app rate limit": a.apps * t_app / a.concurrency,
            }
            bound = max(bounds, key=lambda k: bounds[k])
            r.update(requests=n, ideal=bounds[bound], bound=bound, rates=ask("rates"))
            runs[mode] = r

        print()
        print(
            f"{'run':<7}{'requests':>10}{'rows':>11}{'wall s':>9}{'req/s':>9}"
            f"{'ideal s':>9}{'÷ ideal':>9}{'max/s/app':>11}  peak RSS"
        )
        for mode, r in runs.items():
            rss = f"{r['rss']:.0f} MB"
            if mode == "spark":
                rss = f"driver {r['rss']:.0f} MB (Python) + {r['jvm']:.0f} MB (JVM)"
            print(
                f"{mode:<7}{r['requests']:>10,}{r['rows']:>11,}{r['seconds']:>9.1f}"
                f"{r['requests'] / r['seconds']:>9,.0f}{r['ideal']:>9.1f}"
                f"{r['seconds'] / r['ideal']:>9.2f}{r['rates']['per_app']:>11}  {rss}"
            )
        if "spark" in runs:
            s, loc = runs["spark"], runs["local"]
            print(
                f"\nspark: {s['partitions']} partitions of {a.apps_per_partition} apps; "
                f"session start {s['session']:.1f} s (once per application, not counted)"
            )
            print(
                f"spark ÷ local wall time: {s['seconds'] / loc['seconds']:.2f}; "
                f"rows equal: {s['rows'] == loc['rows']}"
            )
        bound = next(iter(runs.values()))["bound"]
        print(
            f"the ideal bound here is {bound}; every sampled app stayed within its "
            f"{a.rate}/s limit (+1 at a bucket edge): "
            f"{all(r['rates']['per_app'] <= a.rate + 1 for r in runs.values())}"
        )
        server.stdin.write("quit\n")
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
