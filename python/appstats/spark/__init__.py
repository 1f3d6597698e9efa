"""``spark.read.format("appstats")``: a Spark 4 Python Data Source over the
Rust fan-out engine.

Register it once per session, then read any report of many apps::

    import appstats.spark
    spark.dataSource.register(appstats.spark.AppStats)
    df = (spark.read.format("appstats")
          .option("config", "appstats.toml")          # the sync config: which apps
          .option("provider", "mta").option("report", "user_basic")
          .option("start", "2024-03-01").option("end", "2024-03-31")
          .load())

Options (names are case-insensitive, values strings):

* ``provider`` — ``baidu``, ``mta`` or ``tim``; ``report`` — the provider's
  report name, as the clients name it (``user_trend``, ``region``,
  ``retention``, ``app_info``, ...).
* ``start``, ``end`` — the window (``YYYY-MM-DD``, inclusive; ``end``
  defaults to yesterday in China time).
* report options, passed on as they are: ``gran``, ``shape``,
  ``terminal_type``, ``level``, ``report_type``, ``metrics``, ``fields``, ...
* ``config`` (or ``.load(path)``) — the sync TOML (see
  ``appstats.example.toml``): every app of ``provider`` in it is read.
  ``apps`` — with ``config``: only these apps (names, comma-separated);
  without: the apps themselves as JSON in the config's form
  (``[{"provider": "mta", "name": "game", "app_id": "500000001",
  "secret_key": "env:MTA_GAME_KEY"}]``).
* ``appsPerPartition`` — apps per Spark partition (default 64); every app
  lives in exactly one partition, so its own rate limit (the config's
  ``rate_limit``) holds however many executors run.
* ``perDay`` — ``true``: fetch one day per request and add a leading
  ``date`` column (reports whose numbers are distributions over the range,
  such as ``region``; the default reads the whole range as the clients do).
* ``concurrency`` — requests in flight per partition (default: the config's).
* ``mode`` — what a failing app does to the read:

  - ``FAILFAST`` (default): the job fails with the app's typed error
    (``AuthError``, ``RateLimited``, ...), its message naming the app and
    the window. Spark wraps it in a ``PythonException`` whose text carries
    the class name and that message.
  - ``PERMISSIVE``: the app's rows are left out and the frame gets an
    ``_error`` column: every failed app contributes one row holding only
    ``app``, ``app_id`` and ``_error`` (``"<ErrorClass>: <message>"``),
    every good row has ``_error`` null — as Spark's own CSV/JSON readers
    keep malformed records. ``errors(df)`` selects those rows; the failure
    is also logged (``WARNING``, logger ``appstats.spark``, in the
    executor's log).
  - ``DROPMALFORMED``: the app's rows are left out. Each dropped app is
    logged as a ``WARNING`` naming it and its error class (logger
    ``appstats.spark``, to the executor's stderr when the worker configured
    no logging), and each partition that dropped any logs the count by
    class: ``partition 3: 2 of 50 apps left out or incomplete (AuthError:
    2)``. Use ``PERMISSIVE`` and ``errors(df)`` to get them as rows.

  Days a provider no longer serves (Tencent IM: the last 30 days) are not a
  failure, as in the sync and dlt: the servable days are read, and the
  earlier ones are a ``HistoryLimit`` gap — logged in every mode, an
  ``_error`` row in ``PERMISSIVE``.

* ``tokenMinLife`` — seconds a Baidu program's access token must still be
  valid when shipped to executors (default 1800; see below).

**Schema.** The report's fixed schema, from the Polars dtypes (``Date`` →
``date``, naive ``Datetime`` → ``timestamp_ntz`` (the providers' local wall
clock, kept as it is), ``Int64`` → ``bigint``, ``Float64`` → ``double``,
``String`` → ``string``), after ``app`` (the config name) and ``app_id``.
MTA's ``error_list`` rows carry free-form extra fields: they go into an
``extras`` ``map<string,string>`` column. Baidu's wide retention has one
column per period present in the reply, which Spark cannot know before
reading: read the long shape (the default) and pivot.

**Secrets.** No secret is ever an option (Spark shows options in plans and
its UI; secret-looking options are refused). Executors read the same config
and resolve its ``env:``/``file:`` references themselves, so the config and
its variables or files must exist on every node (``spark.executorEnv.*``, a
shared mount, or ``--files``: a config that is not at its path is looked up
with ``SparkFiles``). Baidu programs authorised to a third-party platform
spend a single-use refresh token per exchange: only the driver exchanges it
(through the sync's token store, locked while it does), and ships the
resulting access token inside the partitions, whose ``repr`` is redacted.
A program whose cached token has less than ``tokenMinLife`` left is
refreshed first; a read must finish within that time. The driver proves
every token before shipping it, with one small request per program (a day
of its trend): a token Baidu rejects (110/111 — expired early, or spent by
another client's refresh) is renewed there, through the store, so a read
that failed on a rejected token is healed by the next one (a retried Spark
task reuses its partition's token: the next read renews it).
"""

from __future__ import annotations

from .._configfile import write_config
from ._consts import (
    BATCH_ROWS,
    DEFAULT_APPS_PER_PARTITION,
    DEFAULT_TOKEN_MIN_LIFE_S,
    ERROR_COLUMN,
    EXTRAS_COLUMN,
    MODES,
)
from ._schema import errors, report_schema, spark_type
from ._source import AppStats, AppStatsReader
from ._tokens import AppsPartition

__all__ = [
    "AppStats",
    "AppStatsReader",
    "BATCH_ROWS",
    "DEFAULT_APPS_PER_PARTITION",
    "DEFAULT_TOKEN_MIN_LIFE_S",
    "AppsPartition",
    "report_schema",
    "spark_type",
    "errors",
    "write_config",
    "MODES",
    "ERROR_COLUMN",
    "EXTRAS_COLUMN",
]
