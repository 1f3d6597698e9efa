"""Tencent Cloud IM ``getappinfo``: 30 days of app operations data.

Example:
    >>> import appstats as aps
    >>> with aps.Sandbox() as sb:
    ...     df = sb.tim().app_info(fields=["ActiveUserNum", "max_online_num"])
    >>> df.columns, df.height
    (['date', 'active_user_num', 'max_online_num'], 30)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from . import _native
from ._common import HttpKwargs, env, http_kwargs
from ._output import Output, ProgressArg, check_output, convert, progress_callback

__all__ = ["TencentIm", "gen_usersig", "verify_usersig", "parse", "FIELDS", "REGIONS"]

#: Original field name → (snake_case column, dtype). ``Date`` is always fetched.
FIELDS: dict[str, tuple[str, str]] = {o: (s, k) for o, s, k in _native.tim_fields()}

#: Region name → (short code, domain).
REGIONS: dict[str, tuple[str, str]] = {n: (c, d) for n, c, d in _native.tim_regions()}


def gen_usersig(sdkappid: int, secret_key: str, identifier: str, expire: int = 86_400,
                now: int | None = None) -> str:
    """Generate a UserSig (TLSSigAPIv2: HMAC-SHA256, zlib, URL-safe base64).

    Example:
        >>> from appstats import tim
        >>> sig = tim.gen_usersig(1400000000, "key", "admin", now=1_700_000_000)
        >>> tim.verify_usersig(sig, 1400000000, "key", now=1_700_000_100)[0]
        'admin'
    """
    return _native.gen_usersig(sdkappid, secret_key, identifier, expire, now)


def verify_usersig(usersig: str, sdkappid: int, secret_key: str,
                   now: int | None = None) -> tuple[str, int, int, int]:
    """Decode and check a UserSig; returns ``(identifier, sdkappid, time, expire)``.

    Raises :class:`~appstats.AuthError` when it is malformed, for another
    app, signed with another key, or expired.

    Example:
        >>> from appstats import tim
        >>> sig = tim.gen_usersig(1400000000, "key", "admin", expire=60, now=1_700_000_000)
        >>> tim.verify_usersig(sig, 1400000000, "key", now=1_700_000_030)
        ('admin', 1400000000, 1700000000, 60)
    """
    return _native.verify_usersig(usersig, sdkappid, secret_key, now)


def _fields(fields: Sequence[str] | str | None) -> list[str] | None:
    if fields is None:
        return None
    if isinstance(fields, str):
        return [fields]
    return list(fields)


class TencentIm:
    """Client of Tencent Cloud IM's ``getappinfo`` (operations data, last 30 days).

    Credentials from arguments or ``TIM_SDKAPPID``, ``TIM_SECRET_KEY``,
    ``TIM_IDENTIFIER`` (default ``admin``) and ``TIM_REGION`` (default
    ``china``). ``region`` is a name or code from :data:`REGIONS`
    (``"singapore"``/``"sgp"``, ...) or a base URL. The client signs its own
    UserSig, caches it, renews it before expiry and once more when the
    service says it expired (``70001``/``70052``).

    Example:
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
        usersig_expire: int = 86_400,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_retry_wait: float = 120.0,
        rate_limit: int = 100,
        concurrency: int = 8,
    ) -> None:
        from .errors import InvalidArgument

        app = env("TIM_SDKAPPID", None if sdkappid is None else str(sdkappid))
        key = env("TIM_SECRET_KEY", secret_key)
        if not app or not key:
            raise InvalidArgument(
                "missing Tencent IM credentials: pass sdkappid= and secret_key= "
                "(or set TIM_SDKAPPID and TIM_SECRET_KEY)"
            )
        try:
            app_id = int(app)
        except ValueError:
            raise InvalidArgument(f"sdkappid must be an integer, got {app!r}") from None
        self._http = http_kwargs(timeout, max_attempts, backoff, max_backoff, max_retry_wait,
                                 rate_limit, concurrency)
        self._native = _native.TimClient(
            app_id,
            key,
            identifier=env("TIM_IDENTIFIER", identifier) or "admin",
            region=env("TIM_REGION", region) or "china",
            resolve_to=resolve_to,
            usersig_expire=usersig_expire,
            http=self._http,
        )

    def __repr__(self) -> str:
        return (f"TencentIm(sdkappid={self._native.sdkappid}, "
                f"identifier={self._native.identifier!r}, base_url={self._native.base_url!r})")

    def stats(self) -> dict[str, int]:
        """Counters of this client: requests, retries, failures, backoff_ms, slowdowns.

        Example:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     im = sb.tim()
            ...     _ = im.app_info(progress=False)
            ...     im.stats()["requests"]
            1
        """
        return dict(self._native.stats())

    def app_info(self, fields: Sequence[str] | str | None = None, *, output: Output = "polars",
                 progress: ProgressArg = None) -> Any:
        """Operations data of the last 30 days, one row per day (``date`` ascending).

        ``fields`` takes original (``"ActiveUserNum"``) or snake_case
        (``"active_user_num"``) names; ``None`` fetches all 36.

        Example:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     df = sb.tim().app_info(["UpMsgNum", "down_msg_num"], progress=False)
            >>> df.columns, df["date"].is_sorted()
            (['date', 'up_msg_num', 'down_msg_num'], True)
        """
        check_output(output)
        cb, close = progress_callback(progress, "tim getappinfo")
        try:
            df = self._native.app_info(_fields(fields), cb)
        finally:
            close()
        return convert(df, output)

    async def app_info_async(self, fields: Sequence[str] | str | None = None, *,
                             output: Output = "polars", progress: ProgressArg = None) -> Any:
        """Awaitable twin of :meth:`app_info`."""
        check_output(output)
        cb, close = progress_callback(progress, "tim getappinfo")
        try:
            df = await self._native.app_info_async(_fields(fields), cb)
        finally:
            close()
        return convert(df, output)

    @staticmethod
    def app_info_many(apps: Sequence[tuple[int, str]], *, identifier: str = "admin",
                      region: str = "china", fields: Sequence[str] | str | None = None,
                      resolve_to: str | None = None, output: Output = "polars",
                      progress: ProgressArg = None, **http: Any) -> Any:
        """``getappinfo`` of many apps ``[(sdkappid, secret_key), ...]`` concurrently.

        Returns one frame with an ``sdkappid`` column first. ``rate_limit``
        applies to each app on its own, as Tencent limits each SDKAppID;
        ``concurrency`` bounds the apps in flight. One app's failure does
        not stop the others (by design: apps are independent); if any
        failed, the call raises the first failure's exception class with a
        message naming every app that failed (no partial frame).

        Example:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     apps = [(a, k) for a, k, region in sb.tim_apps() if region == "cn"]
            ...     df = aps.TencentIm.app_info_many(apps, region="cn", resolve_to=sb.addr,
            ...                                      fields=["ActiveUserNum"], progress=False)
            >>> df.columns, df["sdkappid"].n_unique()
            (['sdkappid', 'date', 'active_user_num'], 2)
        """
        check_output(output)
        cb, close = progress_callback(progress, "tim apps")
        try:
            df = _native.tim_app_info_many(list(apps), identifier=identifier, region=region,
                                           fields=_fields(fields), resolve_to=resolve_to,
                                           progress_cb=cb, http=_many_http(http))
        finally:
            close()
        return convert(df, output)

    @staticmethod
    async def app_info_many_async(apps: Sequence[tuple[int, str]], *, identifier: str = "admin",
                                  region: str = "china", fields: Sequence[str] | str | None = None,
                                  resolve_to: str | None = None, output: Output = "polars",
                                  progress: ProgressArg = None, **http: Any) -> Any:
        """Awaitable twin of :meth:`app_info_many`."""
        check_output(output)
        cb, close = progress_callback(progress, "tim apps")
        try:
            df = await _native.tim_app_info_many(list(apps), identifier=identifier, region=region,
                                                 fields=_fields(fields), resolve_to=resolve_to,
                                                 progress_cb=cb, http=_many_http(http),
                                                 is_async=True)
        finally:
            close()
        return convert(df, output)


def _many_http(http: dict[str, Any]) -> HttpKwargs:
    from .errors import InvalidArgument

    known = set(HttpKwargs.__annotations__)
    if unknown := set(http) - known:
        raise InvalidArgument(
            f"unknown option {sorted(unknown)[0]!r}; valid: {', '.join(sorted(known))}"
        )
    return http_kwargs(**{"rate_limit": 100, "concurrency": 8, **http})


def parse(text: str | bytes) -> pl.DataFrame:
    """Parse a saved ``getappinfo`` reply (all 37 columns, date ascending).

    Example:
        >>> import appstats as aps
        >>> raw = '{"ErrorCode":0,"Result":[{"Date":"20160605","ChainIncrease":"8"}]}'
        >>> aps.tim.parse(raw).select("date", "chain_increase").row(0)
        (datetime.date(2016, 6, 5), 8)
    """
    return _native.tim_parse(text)
