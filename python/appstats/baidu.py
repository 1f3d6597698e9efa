"""Baidu smart program (智能小程序) data API.

Examples:
    >>> import appstats as aps
    >>> with aps.Sandbox(seed=7) as sb:
    ...     bd = sb.baidu()
    ...     df = bd.user_trend("2024-03-01", "2024-03-31", gran="day")
    >>> df.columns[:3]
    ['date', 'new_user_count', 'new_user_ratio']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from . import _native
from ._args import DateLike, check_str, date_str, env, names
from ._client import ReportClient, Request, call_options, twin
from ._http import HttpOptions, http_options
from ._output import CallOptions, Frame, Output, ProgressArg, Report

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._native import BaiduClient, _ReportTuple


__all__ = ["BaiduSmartApp", "parse", "REPORTS", "COLUMNS", "HTTP_DEFAULTS"]

#: Defaults of the HTTP settings (see :class:`appstats.HttpOptions`).
HTTP_DEFAULTS: dict[str, float] = dict(_native.http_defaults("baidu"))

#: Report name → Baidu endpoint.
REPORTS: dict[str, str] = dict(_native.baidu_reports())

#: Output column → Baidu's original field name, where they differ. Every
#: other metric column keeps Baidu's own (already snake_case) name.
COLUMNS: dict[str, str] = {
    "date": "name (day label 2019/04/10) / data (getdata)",
    "datetime": "name (hour label 13:00 - 13:59) + the requested day",
    "period_start": "name (week 2019/04/01 - 2019/04/07, month 2019/04), first day",
    "period_end": "name, last day",
    "cohort_date": "name (cohort label), first day",
    "cohort_end": "name (cohort label), last day",
    "cohort_size": "active_user_count",
    "period": "N of the 第N天 / 第N周 / 第N月 key",
    "users": "value of 第N天 with report_type=count (retained_user_count)",
    "ratio": "value of 第N天 with report_type=ratio (retained_ratio)",
    "region": "name",
    "terminal": "name",
    "bucket": "name",
    "page_id": "pageId",
    "page_name": "pageName",
    "page_alias": "pageAlias",
    "attribute": "age / sex / interest list key",
    "group_rank": "position of the source group in the reply (1-based)",
    "source_id": "source (of the group's scenes)",
    "scene_id": "sceneId",
    "scene_name": "name (of a scene object)",
    "group_<metric>": "<metric> of the source group beside its scenes",
    "scene_count": "number of scenes in the group's name array",
}


class BaiduSmartApp(ReportClient):
    """Client of the Baidu smart program data API.

    Credentials come from the arguments or, when an argument is omitted,
    from environment variables: ``BAIDU_ACCESS_TOKEN``; or
    ``BAIDU_CLIENT_ID`` + ``BAIDU_CLIENT_SECRET`` (token fetched, cached and
    renewed before expiry or when rejected); or a third-party platform's
    ``BAIDU_TP_CLIENT_ID`` + ``BAIDU_TP_TICKET`` (for :meth:`tp_data`), plus
    ``BAIDU_AUTH_CODE`` or ``BAIDU_REFRESH_TOKEN`` for a program authorised
    to that platform (read the newest single-use refresh token back with
    :meth:`refresh_token`). ``base_url`` (or ``APPSTATS_BAIDU_BASE_URL``)
    overrides the host: scheme, host and an optional path prefix, no query
    or fragment.

    ``page_size`` is the rows asked per page of the third-party totals
    (:meth:`tp_data`; 1 – 1000, default 20): the analysis reports take no
    page size, Baidu returns them 20 rows a page. The
    HTTP settings ``timeout``, ``max_attempts``, ``backoff``,
    ``max_backoff``, ``max_retry_wait``, ``rate_limit`` and ``concurrency``
    are described in :class:`~appstats.HttpOptions`; those not given keep
    :data:`HTTP_DEFAULTS`.

    Every fetching method fetches all pages (concurrently once the first
    page reveals ``total``), checks the rows against ``total``, retries
    retryable errors with backoff, and returns a Polars DataFrame (or pandas
    / Arrow with ``output=``). Each has an ``_async`` twin. ``progress``:
    ``None`` (default) shows a tqdm bar when tqdm is installed and the call
    takes over half a second, ``True`` requires it, ``False`` shows
    nothing, a callable gets ``(done, total)``. A range ending today or
    later (China time) gives a :class:`~appstats.PartialDataWarning`.

    Examples:
        >>> import appstats as aps
        >>> with aps.Sandbox() as sb:
        ...     bd = sb.baidu()
        ...     src = bd.source("2024-03-01", "2024-03-31")
        >>> src.columns[:4]
        ['group_rank', 'source_id', 'scene_id', 'scene_name']
    """

    _PROVIDER = "baidu"
    _native: BaiduClient

    def __init__(
        self,
        access_token: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        tp_client_id: str | None = None,
        tp_ticket: str | None = None,
        auth_code: str | None = None,
        refresh_token: str | None = None,
        base_url: str | None = None,
        page_size: int | None = None,
        **http: Unpack[HttpOptions],
    ) -> None:
        given = {
            "access_token": access_token,
            "client_id": client_id,
            "client_secret": client_secret,
            "tp_client_id": tp_client_id,
            "tp_ticket": tp_ticket,
            "auth_code": auth_code,
            "refresh_token": refresh_token,
            "base_url": base_url,
        }
        for name, value in given.items():
            check_str(value, name)
        explicit = any(
            v is not None for v in (access_token, client_id, client_secret, tp_client_id, tp_ticket)
        )
        e = (lambda n, v: v) if explicit else env
        self._native = _native.BaiduClient(
            access_token=e("BAIDU_ACCESS_TOKEN", access_token),
            client_id=e("BAIDU_CLIENT_ID", client_id),
            client_secret=e("BAIDU_CLIENT_SECRET", client_secret),
            tp_client_id=e("BAIDU_TP_CLIENT_ID", tp_client_id),
            tp_ticket=e("BAIDU_TP_TICKET", tp_ticket),
            auth_code=env("BAIDU_AUTH_CODE", auth_code),
            refresh_token=env("BAIDU_REFRESH_TOKEN", refresh_token),
            base_url=env("APPSTATS_BAIDU_BASE_URL", base_url),
            page_size=page_size,
            http=http_options("BaiduSmartApp()", **http),
        )

    def __repr__(self) -> str:
        return f"BaiduSmartApp(auth={self._native.auth_kind!r}, base_url={self._native.base_url!r})"

    # ------------------------------------------------------------ plumbing

    def _request(
        self, report: str, start: DateLike, end: DateLike, options: dict[str, Any]
    ) -> Request:
        opts = {k: str(v) for k, v in options.items() if v is not None}
        return report, date_str(start, "start"), date_str(end, "end"), opts

    def _result(self, raw: _ReportTuple, full: bool) -> Any:
        return Report(*raw) if full else raw[0]

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
        """Fetch any report by name (see :data:`REPORTS`), with its summary and metadata.

        The same name and return type as :meth:`appstats.Mta.report`: the
        rows are ``.data`` (what the report's own method returns), Baidu's
        ``sum`` block per request window is ``.summary``; ``options`` are the
        report method's keyword arguments (``gran="week"``, ...).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     r = sb.baidu().report("user_trend", "2024-03-01", "2024-03-07", gran="day")
            >>> r.data.height, r.total, r.summary.height, r.time_span
            (7, 7, 1, '2024/03/01 - 2024/03/07')
        """
        kw = call_options(output, progress)
        return cast(Report, self._fetch(report, start, end, options, kw, True))

    report_async = twin(report)
    """Awaitable twin of :meth:`report`."""

    def refresh_token(self) -> str | None:
        """The newest refresh token of an authorised program (store it: it is single-use)."""
        return self._native.refresh_token()

    def stats(self) -> dict[str, int]:
        """Counters of this client: requests, retries, failures, backoff_ms, slowdowns.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     bd = sb.baidu()
            ...     _ = bd.region("2024-03-01", "2024-03-02")
            ...     bd.stats()["requests"] >= 2
            True
        """
        return dict(self._native.stats())

    # ------------------------------------------------------------ reports

    def user_trend(
        self,
        start: DateLike,
        end: DateLike,
        gran: str = "day",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """User trend (``getanalysisusertrend``): new/old users, sessions, durations.

        ``gran`` is ``"hour"`` (fetched one day at a time: a day's 24 rows
        are two pages of 20, requested together; column ``datetime``),
        ``"day"`` (``date``), ``"week"`` or ``"month"``
        (``period_start``, ``period_end``). Ratios are percent; durations
        seconds.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.baidu().user_trend("2024-03-01", "2024-03-31", gran="week")
            >>> df.columns[:2], df.height
            (['period_start', 'period_end'], 5)
        """
        return self._get("user_trend", start, end, kw, gran=gran)

    user_trend_async = twin(user_trend)
    """Awaitable twin of :meth:`user_trend`."""

    def activity_user(
        self,
        start: DateLike,
        end: DateLike,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Active users (``getanalysisactivityuser``): DAU/WAU/MAU, activity degrees, lost users.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.baidu().activity_user("2024-03-01", "2024-03-07")
            >>> df.height
            7
        """
        return self._get("activity_user", start, end, kw)

    activity_user_async = twin(activity_user)
    """Awaitable twin of :meth:`activity_user`."""

    def retention(
        self,
        start: DateLike,
        end: DateLike,
        gran: str = "day",
        report_type: str = "count",
        shape: str = "long",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Retention (``getanalysisretaineduser``), long or wide.

        Long (default): one row per cohort × period: ``cohort_date,
        cohort_end, cohort_size, period, users`` (``ratio`` with
        ``report_type="ratio"``). ``period`` is N of Baidu's ``第N天/周/月``
        key (Baidu starts at 2: ``第2天`` is the day after the cohort day,
        which MTA calls period 1). ``--`` (not known yet) is null.
        Wide: ``cohort_date, cohort_end, cohort_size, d2 … dN`` (``w``/``m``
        for weeks/months).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     wide = sb.baidu().retention("2024-03-01", "2024-03-31", shape="wide")
            >>> wide.columns[:4]
            ['cohort_date', 'cohort_end', 'cohort_size', 'd2']
        """
        return self._get(
            "retention",
            start,
            end,
            kw,
            gran=gran,
            report_type=report_type,
            shape=shape,
        )

    retention_async = twin(retention)
    """Awaitable twin of :meth:`retention`."""

    def visit_attribute(
        self,
        start: DateLike,
        end: DateLike,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Visitor attributes (``getanalysisvisitattribute``): age, sex and interest shares.

        One row per attribute value: ``attribute`` (age/sex/interest),
        ``attribute_id``, ``name``, ``count_ratio`` (percent).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.baidu().visit_attribute("2024-03-01", "2024-03-31")
            >>> sorted(set(df["attribute"]))
            ['age', 'interest', 'sex']
        """
        return self._get("visit_attribute", start, end, kw)

    visit_attribute_async = twin(visit_attribute)
    """Awaitable twin of :meth:`visit_attribute`."""

    def region(
        self,
        start: DateLike,
        end: DateLike,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Regions (``getanalysisregion``): one row per province/region.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.baidu().region("2024-03-01", "2024-03-31")
            >>> df.columns[0]
            'region'
        """
        return self._get("region", start, end, kw)

    region_async = twin(region)
    """Awaitable twin of :meth:`region`."""

    def terminal(
        self,
        start: DateLike,
        end: DateLike,
        terminal_type: str = "os",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Terminals (``getanalysisterminal``): brand, device, os, screen or network.

        ``terminal_type`` accepts ``"brand"`` or ``"terminal_brand"`` etc.
        With ``network`` Baidu sends fewer metrics: the others are null.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.baidu().terminal("2024-03-01", "2024-03-31", "network")
            >>> df["accumulative_new_user_count_ratio"].null_count() == df.height
            True
        """
        return self._get("terminal", start, end, kw, terminal_type=terminal_type)

    terminal_async = twin(terminal)
    """Awaitable twin of :meth:`terminal`."""

    def visit_page(
        self,
        start: DateLike,
        end: DateLike,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Pages (``getanalysisvisitpage``): page views, stay time, bounce, entries/exits.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox(pages=45) as sb:
            ...     df = sb.baidu().visit_page("2024-03-01", "2024-03-31")
            >>> df.height
            45
        """
        return self._get("visit_page", start, end, kw)

    visit_page_async = twin(visit_page)
    """Awaitable twin of :meth:`visit_page`."""

    def visit_character(
        self,
        start: DateLike,
        end: DateLike,
        character_type: str = "depth",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Visit habits (``getanalysisvisitcharacter``): depth, time, interval or frequency.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.baidu().visit_character("2024-03-01", "2024-03-31", "frequency")
            >>> df["bucket"][0]
            '1-2次'
        """
        return self._get("visit_character", start, end, kw, character_type=character_type)

    visit_character_async = twin(visit_character)
    """Awaitable twin of :meth:`visit_character`."""

    def source(
        self,
        start: DateLike,
        end: DateLike,
        level: str = "scene",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Sources (``getanalysissource``), flattened.

        ``level="scene"``: one row per (group, scene) with the group's totals
        beside each scene (``group_*`` columns); groups without scenes keep
        one row with null scene columns. ``level="group"``: one row per
        group with ``scene_count``.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox(sources=5) as sb:
            ...     g = sb.baidu().source("2024-03-01", "2024-03-31", level="group")
            >>> g.height
            5
        """
        return self._get("source", start, end, kw, level=level)

    source_async = twin(source)
    """Awaitable twin of :meth:`source`."""

    def tp_data(
        self,
        start: DateLike,
        end: DateLike,
        scene: int | None = None,
        metrics: list[str] | None = None,
        *,
        tp_endpoint: str = "gettpdata",
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Third-party platform totals, one row per day.

        Needs a TP token (``tp_client_id`` + ``tp_ticket``). ``scene`` (a
        source/scene id) narrows the totals to one scene; without it
        (``None``, the default) no ``scene`` is sent and the rows are the
        platform's totals over all scenes, as Baidu's SDKs ask for them
        ("不传则查询所有场景"). ``metrics`` defaults to every known metric.
        ``tp_endpoint="gettpdata"`` (default) calls the endpoint as Baidu's
        SDKs do (``gettpdata``, ``max_results``); ``"getdata"`` as the data
        API document shows it (``getdata``, ``max_result``), which requires
        ``scene`` (``InvalidArgument`` without one, before any request).
        Rows dated under ``date`` or ``data`` are read alike.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     tp = sb.baidu_tp()
            ...     total = tp.tp_data("2024-03-01", "2024-03-05", metrics=["tp_day_user_count"])
            ...     one = tp.tp_data("2024-03-01", "2024-03-05", scene=1,
            ...                      metrics=["tp_day_user_count"])
            >>> total.columns, total.height
            (['date', 'tp_day_user_count'], 5)
            >>> (total["tp_day_user_count"] >= one["tp_day_user_count"]).all()
            True
        """
        m = _metric_list(metrics)
        return self._get("tp_data", start, end, kw, scene=scene, metrics=m, tp_endpoint=tp_endpoint)

    tp_data_async = twin(tp_data)
    """Awaitable twin of :meth:`tp_data`."""


def _metric_list(metrics: Sequence[str] | str | None) -> str | None:
    m = names(metrics, "metrics")
    return None if m is None else ",".join(m)


def parse(endpoint: str, text: str | bytes, **options: Any) -> pl.DataFrame:
    """Parse a saved reply of ``endpoint`` into the frame the client returns.

    ``endpoint`` is Baidu's name (``getanalysissource``) or the report name
    (``source``); options as for the report (e.g. ``gran="week"``,
    ``shape="wide"``, ``level="group"``).

    Examples:
        >>> import appstats as aps
        >>> raw = '{"errno":0,"msg":"ok","data":{"offset":0,"total":1,"data_list":' \\
        ...       '[{"name":"北京","session_count_district":"1,204"}]}}'
        >>> aps.baidu.parse("getanalysisregion", raw)["session_count_district"].to_list()
        [1204]
    """
    opts = {k: str(v) for k, v in options.items() if v is not None}
    data, _summary, _groups, _span, _total = _native.baidu_parse(endpoint, text, opts)
    return data
