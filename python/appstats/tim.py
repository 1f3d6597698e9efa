"""Tencent Cloud IM ``getappinfo``: 30 days of app operations data.

Examples:
    >>> import appstats as aps
    >>> with aps.Sandbox() as sb:
    ...     df = sb.tim().app_info(fields=["ActiveUserNum", "max_online_num"])
    >>> df.columns, df.height
    (['date', 'active_user_num', 'max_online_num'], 30)
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from . import _native
from ._args import check_str, date_str, env, names
from ._http import HttpOptions, http_options
from ._output import CallOptions, Frame, NativeProgress, Output, ProgressArg, call, call_async

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "TencentIm",
    "gen_usersig",
    "verify_usersig",
    "parse",
    "FIELDS",
    "REGIONS",
    "HTTP_DEFAULTS",
]

#: Defaults of the HTTP settings of one app's client (see
#: :class:`appstats.HttpOptions`); :meth:`TencentIm.app_info_many` applies
#: them to each app.
HTTP_DEFAULTS: dict[str, float] = dict(_native.http_defaults("tim"))

#: Original field name → (snake_case column, dtype). ``Date`` is always fetched.
FIELDS: dict[str, tuple[str, str]] = {o: (s, k) for o, s, k in _native.tim_fields()}

#: Region name → (short code, domain).
REGIONS: dict[str, tuple[str, str]] = {n: (c, d) for n, c, d in _native.tim_regions()}


def gen_usersig(
    sdkappid: int, secret_key: str, identifier: str, expire: int = 86_400, now: int | None = None
) -> str:
    """Generate a UserSig (TLSSigAPIv2: HMAC-SHA256, zlib, URL-safe base64).

    Examples:
        >>> from appstats import tim
        >>> sig = tim.gen_usersig(1400000000, "key", "admin", now=1_700_000_000)
        >>> tim.verify_usersig(sig, 1400000000, "key", now=1_700_000_100)[0]
        'admin'
    """
    return _native.gen_usersig(sdkappid, secret_key, identifier, expire, now)


def verify_usersig(
    usersig: str, sdkappid: int, secret_key: str, now: int | None = None
) -> tuple[str, int, int, int]:
    """Decode and check a UserSig; returns ``(identifier, sdkappid, time, expire)``.

    Raises :class:`~appstats.AuthError` when it is malformed, for another
    app, signed with another key, or expired.

    Examples:
        >>> from appstats import tim
        >>> sig = tim.gen_usersig(1400000000, "key", "admin", expire=60, now=1_700_000_000)
        >>> tim.verify_usersig(sig, 1400000000, "key", now=1_700_000_030)
        ('admin', 1400000000, 1700000000, 60)
    """
    return _native.verify_usersig(usersig, sdkappid, secret_key, now)


class TencentIm:
    """Client of Tencent Cloud IM's ``getappinfo`` (operations data, last 30 days).

    Credentials from arguments or ``TIM_SDKAPPID``, ``TIM_SECRET_KEY``,
    ``TIM_IDENTIFIER`` (default ``admin``) and ``TIM_REGION`` (default
    ``china``). ``region`` is a name or code from :data:`REGIONS`
    (``"singapore"``/``"sgp"``, ...) or a base URL. The client signs its own
    UserSig, caches it, renews it before expiry and once more when the
    service says it expired (``70001``/``70052``). ``usersig_expire``: the
    UserSig's validity in seconds (at least 60; default one day).

    ``getappinfo`` answers the last 30 days ending yesterday (China time),
    and every one of them must come back. ``today`` (``"YYYY-MM-DD"``) is
    the service's today when that is not the real date — a simulator such
    as :class:`~appstats.Sandbox` with a fixed ``today``, or replayed
    replies.

    The HTTP settings ``timeout``, ``max_attempts``, ``backoff``,
    ``max_backoff``, ``max_retry_wait``, ``rate_limit`` and ``concurrency``
    are described in :class:`~appstats.HttpOptions`; those not given keep
    :data:`HTTP_DEFAULTS`.

    Examples:
        >>> import appstats as aps
        >>> with aps.Sandbox() as sb:
        ...     df = sb.tim().app_info()
        >>> df.schema["date"], df.schema["active_user_num"]
        (Date, Int64)
    """

    def __init__(
        self,
        sdkappid: int | str | None = None,
        secret_key: str | None = None,
        *,
        identifier: str | None = None,
        region: str | None = None,
        resolve_to: str | None = None,
        usersig_expire: int | None = None,
        today: str | _dt.date | None = None,
        **http: Unpack[HttpOptions],
    ) -> None:
        from .errors import InvalidArgument

        for name, value in (
            ("secret_key", secret_key),
            ("identifier", identifier),
            ("region", region),
            ("resolve_to", resolve_to),
        ):
            check_str(value, name)
        if isinstance(sdkappid, bool) or not isinstance(sdkappid, (int, str, type(None))):
            raise InvalidArgument(f"sdkappid must be an integer, got {type(sdkappid).__name__}")
        app = env("TIM_SDKAPPID", None if sdkappid is None else str(sdkappid))
        key = env("TIM_SECRET_KEY", secret_key)
        if not app or not key:
            raise InvalidArgument(
                "missing Tencent IM credentials: pass sdkappid and secret_key "
                "(or set TIM_SDKAPPID and TIM_SECRET_KEY)"
            )
        try:
            app_id = int(app)
        except ValueError:
            raise InvalidArgument(f"sdkappid must be an integer, got {app!r}") from None
        self._native = _native.TimClient(
            app_id,
            key,
            identifier=env("TIM_IDENTIFIER", identifier),
            region=env("TIM_REGION", region),
            resolve_to=resolve_to,
            usersig_expire=usersig_expire,
            today=None if today is None else date_str(today, "today"),
            http=http_options("TencentIm()", **http),
        )

    def __repr__(self) -> str:
        return (
            f"TencentIm(sdkappid={self._native.sdkappid}, "
            f"identifier={self._native.identifier!r}, base_url={self._native.base_url!r})"
        )

    def stats(self) -> dict[str, int]:
        """Counters of this client: requests, retries, failures, backoff_ms, slowdowns.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     im = sb.tim()
            ...     _ = im.app_info(progress=False)
            ...     im.stats()["requests"]
            1
        """
        return dict(self._native.stats())

    def app_info(
        self,
        fields: Sequence[str] | str | None = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Operations data of the last 30 days, one row per day (``date`` ascending).

        ``fields`` takes original (``"ActiveUserNum"``) or snake_case
        (``"active_user_num"``) names; ``None`` fetches all 36 (an empty
        list is an error, as for every provider's selection).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.tim().app_info(["UpMsgNum", "down_msg_num"], progress=False)
            >>> df.columns, df["date"].is_sorted()
            (['date', 'up_msg_num', 'down_msg_num'], True)
        """
        f = names(fields, "fields")
        return call(
            lambda cb: self._native.app_info(f, cb),
            desc="tim getappinfo",
            **kw,
        )

    async def app_info_async(
        self,
        fields: Sequence[str] | str | None = None,
        **kw: Unpack[CallOptions],
    ) -> Frame:
        """Awaitable twin of :meth:`app_info`."""
        f = names(fields, "fields")
        return await call_async(
            lambda cb: self._native.app_info_async(f, cb),
            desc="tim getappinfo",
            **kw,
        )

    @staticmethod
    def app_info_many(
        apps: Sequence[tuple[int, str]],
        *,
        identifier: str | None = None,
        region: str | None = None,
        fields: Sequence[str] | str | None = None,
        resolve_to: str | None = None,
        output: Output = "polars",
        progress: ProgressArg = None,
        **http: Unpack[HttpOptions],
    ) -> Frame:
        """``getappinfo`` of many apps ``[(sdkappid, secret_key), ...]`` concurrently.

        Returns one frame with an ``sdkappid`` column first. ``rate_limit``
        applies to each app on its own, as Tencent limits each SDKAppID;
        ``concurrency`` bounds the apps in flight. One app's failure does
        not stop the others (by design: apps are independent); if any
        failed, the call raises the first failure's exception class with a
        message naming every app that failed (no partial frame).
        ``identifier`` and ``region`` default as for :class:`TencentIm`; the
        HTTP settings (:class:`~appstats.HttpOptions`) apply to each app's
        client.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     apps = [(a, k) for a, k, region in sb.tim_apps() if region == "cn"]
            ...     df = aps.TencentIm.app_info_many(apps, region="cn", resolve_to=sb.addr,
            ...                                      fields=["ActiveUserNum"], progress=False)
            >>> df.columns, df["sdkappid"].n_unique()
            (['sdkappid', 'date', 'active_user_num'], 2)
        """
        kw = _many_kwargs(apps, identifier, region, fields, resolve_to, dict(http))

        def fetch(cb: NativeProgress) -> pl.DataFrame:
            return _native.tim_app_info_many(progress_cb=cb, **kw)

        return call(fetch, desc="tim apps", output=output, progress=progress)

    @staticmethod
    async def app_info_many_async(
        apps: Sequence[tuple[int, str]],
        *,
        identifier: str | None = None,
        region: str | None = None,
        fields: Sequence[str] | str | None = None,
        resolve_to: str | None = None,
        output: Output = "polars",
        progress: ProgressArg = None,
        **http: Unpack[HttpOptions],
    ) -> Frame:
        """Awaitable twin of :meth:`app_info_many`."""
        kw = _many_kwargs(apps, identifier, region, fields, resolve_to, dict(http))

        def fetch(cb: NativeProgress) -> Awaitable[pl.DataFrame]:
            return _native.tim_app_info_many_async(progress_cb=cb, **kw)

        return await call_async(fetch, desc="tim apps", output=output, progress=progress)


def _many_kwargs(
    apps: Sequence[tuple[int, str]],
    identifier: str | None,
    region: str | None,
    fields: Sequence[str] | str | None,
    resolve_to: str | None,
    http: dict[str, Any],
) -> dict[str, Any]:
    """The native arguments of :meth:`TencentIm.app_info_many` and its twin."""
    for name, value in (("identifier", identifier), ("region", region), ("resolve_to", resolve_to)):
        check_str(value, name)
    return {
        "apps": apps,
        "identifier": identifier,
        "region": region,
        "fields": names(fields, "fields"),
        "resolve_to": resolve_to,
        "http": http,
    }


def parse(text: str | bytes) -> pl.DataFrame:
    """Parse a saved ``getappinfo`` reply (all 37 columns, date ascending).

    Examples:
        >>> import appstats as aps
        >>> raw = '{"ErrorCode":0,"Result":[{"Date":"20160605","ChainIncrease":"8"}]}'
        >>> aps.tim.parse(raw).select("date", "chain_increase").row(0)
        (datetime.date(2016, 6, 5), 8)
    """
    return _native.tim_parse(text)
