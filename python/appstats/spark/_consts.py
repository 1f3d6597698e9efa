"""Defaults and names of the data source, written once."""

from __future__ import annotations

#: Defaults, written once.
DEFAULT_APPS_PER_PARTITION = 64
DEFAULT_TOKEN_MIN_LIFE_S = 1800.0
#: Rows per Arrow batch handed to Spark (its own default batch size).
BATCH_ROWS = 10_000
#: Days one task covers: per-day reports, hourly Baidu trends, the rest.
PER_DAY_SPAN = 31
HOURLY_SPAN = 31
MAX_SPAN = 366
MODES = ("FAILFAST", "PERMISSIVE", "DROPMALFORMED")
ERROR_COLUMN = "_error"
EXTRAS_COLUMN = "extras"
#: Reports whose rows carry free-form fields (→ the ``extras`` map).
OPEN_REPORTS = {("mta", "error_list")}

#: Our options (lower case, as Spark passes them); every other is a report option.
_OWN = {
    "provider",
    "report",
    "start",
    "end",
    "config",
    "path",
    "apps",
    "appsperpartition",
    "perday",
    "concurrency",
    "mode",
    "tokenminlife",
}
