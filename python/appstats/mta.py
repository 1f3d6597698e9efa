"""Tencent MTA (移动分析) app open API.

Examples:
    >>> import appstats as aps
    >>> with aps.Sandbox() as sb:
    ...     df = sb.mta().user_basic("2024-03-01", "2024-03-31")
    >>> df.columns[:3]
    ['date', 'new_users', 'active_users']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import polars as pl

from . import _native
from ._args import DateLike, check_str, date_str, env, names
from ._client import ReportClient, Request, call_options, twin
from ._http import HttpOptions, http_options
from ._output import CallOptions, Frame, Output, ProgressArg, Report

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._native import MtaClient

__all__ = ["Mta", "parse", "REPORTS", "METRICS", "HTTP_DEFAULTS"]

#: Defaults of the HTTP settings (see :class:`appstats.HttpOptions`).
HTTP_DEFAULTS: dict[str, float] = dict(_native.http_defaults("mta"))

#: Report name → API path.
REPORTS: dict[str, str] = {name: path for name, path, _ in _native.mta_reports()}

#: Report name → ``[(column, MTA field name, metric id)]``: the documented
#: mapping of snake_case columns to MTA's original names and ``idx`` ids.
METRICS: dict[str, list[tuple[str, str, int]]] = {
    name: list(metrics) for name, _, metrics in _native.mta_reports()
}

Metrics = Sequence[str | int] | str | int | None
#: A day MTA leaves out of a reply even when fetched again (it omits days
#: without activity): kept as a row of nulls (``None``/``"null"``, the
#: default) or zeros (``"zero"``), each logged as a warning; or raised as
#: :class:`~appstats.IncompleteData` (``"raise"``).
MissingDays = Literal["null", "zero", "raise"] | None


def _options(options: dict[str, Any]) -> dict[str, str]:
    """Report options as the native layer takes them (``None`` dropped)."""
    opts = {k: v for k, v in options.items() if v is not None}
    for k, v in opts.items():
        if isinstance(v, bool):
            opts[k] = "true" if v else "false"
    if "metrics" in opts:
        opts["metrics"] = ",".join(names(opts["metrics"], "metrics") or [])
    return {k: str(v) for k, v in opts.items()}


class Mta(ReportClient):
    """Client of the Tencent MTA app open API (HMAC-signed GET requests).

    Credentials come from the arguments or the ``MTA_APP_ID`` and
    ``MTA_SECRET_KEY`` environment variables; ``APPSTATS_MTA_BASE_URL``
    overrides the host. Every request is signed (sorted parameters,
    PHP-style URL encoding, HMAC-SHA1 keyed with ``secret + "&"``, MD5 of the
    hex digest). Date-keyed reports longer than 90 days are split into
    windows fetched concurrently within the rate limit, and every requested
    date must come back: a reply that skips dates is fetched again; a day
    left out of two replies in a row is a day without activity (MTA omits
    those), kept as a row with null values (``missing_days="zero"``: zeros;
    ``"raise"``: :class:`~appstats.IncompleteData`) and logged as a warning.

    ``metrics`` selects metrics by snake_case name (``"new_users"``), MTA
    name (``"NewUser"``) or id (``10101``); see :data:`METRICS`. ``None``
    selects all; an empty list is an error (as for every provider's
    selection). ``version`` and ``channel`` filter where the API supports it.

    ``base_url`` (or ``APPSTATS_MTA_BASE_URL``): scheme, host and an
    optional path prefix, no query or fragment. The HTTP settings
    ``timeout``, ``max_attempts``, ``backoff``, ``max_backoff``,
    ``max_retry_wait``, ``rate_limit`` and ``concurrency`` are described in
    :class:`~appstats.HttpOptions`; those not given keep
    :data:`HTTP_DEFAULTS`. Every fetching method has an ``_async`` twin and
    takes ``output`` and ``progress`` as :class:`~appstats.BaiduSmartApp`'s.

    Examples:
        >>> import appstats as aps
        >>> with aps.Sandbox() as sb:
        ...     m = sb.mta()
        ...     dau = m.active_users("2024-03-01", "2024-03-31", metrics=["daily_active_users"])
        >>> dau.columns
        ['date', 'daily_active_users']
    """

    _PROVIDER = "mta"
    _native: MtaClient

    def __init__(
        self,
        app_id: str | int | None = None,
        secret_key: str | None = None,
        *,
        base_url: str | None = None,
        **http: Unpack[HttpOptions],
    ) -> None:
        from .errors import InvalidArgument

        if isinstance(app_id, bool) or not isinstance(app_id, (str, int, type(None))):
            raise InvalidArgument(
                f"app_id must be a string or an integer, got {type(app_id).__name__}"
            )
        check_str(secret_key, "secret_key")
        check_str(base_url, "base_url")
        app = env("MTA_APP_ID", None if app_id is None else str(app_id))
        key = env("MTA_SECRET_KEY", secret_key)
        if not app or not key:
            raise InvalidArgument(
                "missing MTA credentials: pass app_id and secret_key "
                "(or set MTA_APP_ID and MTA_SECRET_KEY)"
            )
        self._native = _native.MtaClient(
            app,
            key,
            base_url=env("APPSTATS_MTA_BASE_URL", base_url),
            http=http_options("Mta()", **http),
        )

    def __repr__(self) -> str:
        return f"Mta(app_id={self._native.app_id!r}, base_url={self._native.base_url!r})"

    def stats(self) -> dict[str, int]:
        """Counters of this client: requests, retries, failures, backoff_ms, slowdowns.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     m = sb.mta()
            ...     _ = m.crash("2024-03-01", "2024-03-02", progress=False)
            ...     m.stats()["requests"]
            1
        """
        return dict(self._native.stats())

    # ------------------------------------------------------------ plumbing

    def _request(
        self, report: str, start: DateLike, end: DateLike, options: dict[str, Any]
    ) -> Request:
        """Native arguments (the Rust client validates them all)."""
        from .errors import InvalidArgument

        sizes = options.get("cohort_size")
        if sizes is not None and not isinstance(sizes, bool):
            raise InvalidArgument(f"cohort_size must be True or False, got {sizes!r}")
        s = "" if report == "realtime" else date_str(start, "start")
        e = "" if report == "realtime" else date_str(end, "end")
        return (report, s, e, _options(options))

    def _result(self, raw: tuple[pl.DataFrame, list[tuple[str, str]]], full: bool) -> Any:
        df, windows = raw
        return _report(df, windows) if full else df

    def report(
        self,
        /,
        report: str,
        start: DateLike,
        end: DateLike,
        *,
        output: Output = "polars",
        progress: ProgressArg = None,
        **options: Any,
    ) -> Report:
        """Fetch any report by name (see :data:`REPORTS`) as a :class:`~appstats.Report`.

        The same name and return type as :meth:`appstats.BaiduSmartApp.report`:
        ``.data`` holds exactly what the report's own method returns (for
        ``retention`` the ``cohort_size`` is filled in as there, unless
        ``cohort_size=False``), ``.summary`` one row per request window
        (``start_date``, ``end_date``; 90-day windows for long ranges).
        ``options`` are the report method's keyword arguments. For
        ``realtime`` pass empty dates.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     r = sb.mta().report("crash", "2024-01-01", "2024-06-30", progress=False)
            >>> r.data.height, r.summary.height
            (182, 3)
        """
        kw = call_options(output, progress)
        return cast(Report, self._fetch(report, start, end, options, kw, True))

    report_async = twin(report)
    """Awaitable twin of :meth:`report`."""

    def fetch(
        self,
        /,
        report: str,
        start: DateLike,
        end: DateLike,
        *,
        output: Output = "polars",
        progress: ProgressArg = None,
        **options: Any,
    ) -> Frame:
        """Alias of :meth:`report` that returns only the rows: ``report(...).data``.

        Kept for code written before :meth:`report`; both take the same
        arguments and run the same code.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().fetch("crash", "2024-03-01", "2024-03-07")
            >>> df.height
            7
        """
        return self._fetch(report, start, end, options, call_options(output, progress))

    fetch_async = twin(fetch)
    """Awaitable twin of :meth:`fetch`."""

    # ------------------------------------------------------------ reports

    def user_basic(
        self,
        start: DateLike,
        end: DateLike,
        metrics: Metrics = None,
        *,
        version: str | None = None,
        channel: str | None = None,
        missing_days: MissingDays = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """User basics, offline (``10101``–``10106``): one row per day.

        Columns: ``date, new_users, active_users, sessions, total_users,
        active_accounts, unique_users`` (Int64).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     sb.mta().user_basic("2024-03-01", "2024-03-03").height
            3
        """
        return self._get(
            "user_basic",
            start,
            end,
            kw,
            metrics=metrics,
            version=version,
            channel=channel,
            missing_days=missing_days,
        )

    user_basic_async = twin(user_basic)
    """Awaitable twin of :meth:`user_basic`."""

    def realtime(self, metrics: Metrics = None, **kw: Unpack[CallOptions]) -> Frame:
        """Today's user basics, realtime (``10101``–``10105``): one row.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     sb.mta().realtime().height
            1
        """
        return self._get("realtime", "", "", kw, metrics=metrics)

    realtime_async = twin(realtime)
    """Awaitable twin of :meth:`realtime`."""

    def active_users(
        self,
        start: DateLike,
        end: DateLike,
        metrics: Metrics = None,
        *,
        version: str | None = None,
        channel: str | None = None,
        missing_days: MissingDays = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """DAU / WAU / MAU (``10201``–``10203``): one row per day.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().active_users("2024-03-01", "2024-03-31", progress=False)
            >>> df.columns
            ['date', 'daily_active_users', 'weekly_active_users', 'monthly_active_users']
        """
        return self._get(
            "active_users",
            start,
            end,
            kw,
            metrics=metrics,
            version=version,
            channel=channel,
            missing_days=missing_days,
        )

    active_users_async = twin(active_users)
    """Awaitable twin of :meth:`active_users`."""

    def terminal(
        self,
        start: DateLike,
        end: DateLike,
        terminal_type: str | int = "os",
        metrics: Metrics = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Terminals (``ty`` 1–5: os, resolution, network, carrier, device): top 100.

        One row per terminal value: ``terminal_type, rank, terminal,
        new_users, active_users, sessions``.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().terminal("2024-03-01", "2024-03-31", "network", progress=False)
            >>> df["terminal_type"].unique().to_list(), df.height > 0
            (['network'], True)
        """
        return self._get(
            "terminal",
            start,
            end,
            kw,
            terminal_type=terminal_type,
            metrics=metrics,
        )

    terminal_async = twin(terminal)
    """Awaitable twin of :meth:`terminal`."""

    def usage(
        self,
        start: DateLike,
        end: DateLike,
        metrics: Metrics = None,
        *,
        version: str | None = None,
        channel: str | None = None,
        missing_days: MissingDays = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Usage (``10401``–``10404``): time and pages per user / session, per day.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().usage("2024-03-01", "2024-03-07", progress=False)
            >>> str(df.schema["time_per_user"]), df.height
            ('Float64', 7)
        """
        return self._get(
            "usage",
            start,
            end,
            kw,
            metrics=metrics,
            version=version,
            channel=channel,
            missing_days=missing_days,
        )

    usage_async = twin(usage)
    """Awaitable twin of :meth:`usage`."""

    def frequency(
        self,
        start: DateLike,
        end: DateLike,
        metrics: Metrics = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Use-frequency distribution (``10405`` new, ``10406`` active users).

        One row per bucket: ``bucket, section`` (its label), ``new_users``,
        ``active_users``.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().frequency("2024-03-01", "2024-03-31", progress=False)
            >>> df.columns
            ['bucket', 'section', 'new_users', 'active_users']
        """
        return self._get("frequency", start, end, kw, metrics=metrics)

    frequency_async = twin(frequency)
    """Awaitable twin of :meth:`frequency`."""

    def crash(
        self,
        start: DateLike,
        end: DateLike,
        metrics: Metrics = None,
        *,
        version: str | None = None,
        channel: str | None = None,
        missing_days: MissingDays = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Crashes (``10501`` errors, ``10502`` affected users), per day.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().crash("2024-03-01", "2024-03-07", progress=False)
            >>> df.columns, df.height
            (['date', 'error_count', 'error_users'], 7)
        """
        return self._get(
            "crash",
            start,
            end,
            kw,
            metrics=metrics,
            version=version,
            channel=channel,
            missing_days=missing_days,
        )

    crash_async = twin(crash)
    """Awaitable twin of :meth:`crash`."""

    def crash_env(
        self,
        start: DateLike,
        end: DateLike,
        dimension: str | int = "app_version",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Crash environments (``ty`` 1–3: app_version, os, device).

        One row per value: ``dimension, value, error_count, error_users``.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().crash_env("2024-03-01", "2024-03-31", "os", progress=False)
            >>> df["dimension"].unique().to_list()
            ['os']
        """
        return self._get("crash_env", start, end, kw, dimension=dimension)

    crash_env_async = twin(crash_env)
    """Awaitable twin of :meth:`crash_env`."""

    def error_list(
        self,
        start: DateLike,
        end: DateLike,
        err_ty: int | None = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Top-100 error list: ``rank, key, error_count, error_users, crash_id, error_msg,
        app_version, first_time`` (a fixed schema; other fields of the reply are not read).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.mta().error_list("2024-03-01", "2024-03-31", progress=False)
            >>> df.columns[:4]
            ['rank', 'key', 'error_count', 'error_users']
        """
        return self._get("error_list", start, end, kw, err_ty=err_ty)

    error_list_async = twin(error_list)
    """Awaitable twin of :meth:`error_list`."""

    def retention(
        self,
        start: DateLike,
        end: DateLike,
        shape: str = "long",
        metrics: Metrics = None,
        *,
        cohort_size: bool = True,
        missing_days: MissingDays = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Retention (``11001``–``11009``: day 1–7, 14, 30 returning users).

        Long: ``cohort_date, cohort_end, cohort_size, period, users`` (the
        same schema as Baidu's long retention, so frames concatenate); wide:
        ``cohort_date, cohort_end, cohort_size, d1 … d30``. MTA's ``period``
        N is "N days later" (``D{N}RepeatUser``), which Baidu calls
        ``第{N+1}天``: subtract 1 from Baidu's period to align the two.

        MTA documents counts, but a reply may carry percentages of the
        cohort (``"35.2"``, ``"35.2%"``): a reply with any value written with
        ``%`` or a fraction is read as percentages, and the long frame then
        has a Float64 ``ratio`` column instead of ``users`` (the layout of
        Baidu's ``report_type="ratio"``; wide columns are Float64).

        The retention endpoint sends no cohort size; with ``cohort_size=True``
        (default) the day's new users (``10101``, with the same ``version``
        and ``channel`` filters) are fetched for the same range and filled
        in (one more request per 90-day window). The Rust client does this,
        so :func:`~appstats.fetch_many`, sync, Spark and dlt fill it too.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     r = sb.mta().retention("2024-03-01", "2024-03-10")
            >>> r.columns, r["cohort_size"].null_count()
            (['cohort_date', 'cohort_end', 'cohort_size', 'period', 'users'], 0)
        """
        return self._get(
            "retention",
            start,
            end,
            kw,
            shape=shape,
            metrics=metrics,
            cohort_size=cohort_size,
            missing_days=missing_days,
        )

    retention_async = twin(retention)
    """Awaitable twin of :meth:`retention`."""


def _report(df: pl.DataFrame, windows: list[tuple[str, str]]) -> Report:
    """The rows and the request windows as a :class:`~appstats.Report`."""
    summary = pl.DataFrame(
        {"start_date": [w[0] for w in windows], "end_date": [w[1] for w in windows]},
        schema={"start_date": pl.String, "end_date": pl.String},
    ).with_columns(pl.all().str.to_date("%Y-%m-%d"))
    return Report(df, summary, None, None, None)


def parse(endpoint: str, text: str | bytes, **options: Any) -> pl.DataFrame:
    """Parse a saved MTA reply (report name or API path) into the client's frame.

    Examples:
        >>> import appstats as aps
        >>> raw = '{"ret_code":60000,"ret_msg":"ok","ret_data":' \\
        ...       '{"2024-03-01":{"DayUv":"1,204","WeekUv":"-","MonthUv":"9000"}}}'
        >>> aps.mta.parse("active_users", raw).row(0)[1:]
        (1204, None, 9000)
    """
    return _native.mta_parse(endpoint, text, _options(options))
