"""The embedded sandbox: every provider simulated over real HTTP on 127.0.0.1."""

from __future__ import annotations

import datetime as _dt
from types import TracebackType
from typing import Any

from . import _native
from ._common import date_str
from .baidu import BaiduSmartApp
from .mta import Mta
from .tim import TencentIm

__all__ = ["Sandbox", "FAULT_KINDS"]

#: Fault kinds accepted by :meth:`Sandbox.inject`.
FAULT_KINDS = (
    "http_status",  # value: the status, e.g. 502
    "code",  # value: the provider's error code, e.g. 1000, 18, 111
    "delay",  # value: seconds
    "truncate",  # cut the JSON body in half
    "reset",  # reset the connection mid-body
    "wrong_total",  # value: how far `total` is off (default 1)
    "duplicate_page",  # serve the previous page instead
    "drop_rows",  # value: rows left out of the page (default 1)
    "expire_token",  # expire the credential this request used
)


class Sandbox:
    """A simulator of all providers on 127.0.0.1 and a free port.

    It speaks each provider's wire format (envelopes, error codes, paging,
    ``--`` markers, Chinese retention keys, nested source rows), validates
    tokens and parameters like the real services, and serves deterministic
    data for a ``seed``. Use it as a context manager; ``sb.baidu()`` returns
    a client wired to it.

    Args:
        seed: seed of the generated data (0 – 2**64-1; default 7).
        latency: seconds added to every reply (0 – 3600; default 0).
        rate_limit: answer the provider's rate-limit error above this many
            requests per second (1 – 100000; default: no limit).
        sources: Baidu source groups (0 – 1000; default 12);
            ``scenes_per_source``: scenes per group (0 – 100; default 4).
        pages: pages in the Baidu page report (0 – 100000; default 30).
        token_ttl: lifetime (seconds) of issued tokens (default 30 days).
        apps: simulate this many apps per provider (default: one Baidu
            program, one MTA app and three IM apps): Baidu programs
            authorised to the sandbox's third-party platform, each with its
            own auth code and chain of single-use refresh tokens; MTA app ids
            with their own keys; IM SDKAppIDs. Each app has its own data and
            its own rate limit. :meth:`apps` lists their credentials.
        today: the sandbox's today (``"YYYY-MM-DD"``, China time; default:
            the real date). As on the real services nothing is served from
            today on, and a day's numbers depend on the app, the day and the
            seed only.
        restate_days: the last ``restate_days`` days before ``today`` are
            provisional: their numbers are lower than the final ones and
            change from one ``today`` to the next (as the providers restate
            recent days), so that re-fetching a lag window can be tested
            (0 – 60; default 0).

    Out-of-range or mistyped values raise :class:`~appstats.InvalidArgument`.

    Examples:
        >>> import appstats as aps
        >>> with aps.Sandbox(seed=1) as sb:
        ...     sb.inject("code", 1000, endpoint="getanalysisregion")  # one internal error
        ...     df = sb.baidu().region("2024-03-01", "2024-03-31")     # retried, complete
        >>> df.height
        34
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        latency: float | None = None,
        rate_limit: int | None = None,
        sources: int | None = None,
        scenes_per_source: int | None = None,
        pages: int | None = None,
        token_ttl: int | None = None,
        apps: int | None = None,
        today: str | _dt.date | None = None,
        restate_days: int | None = None,
    ) -> None:
        self._native = _native.Sandbox(
            seed=seed,
            latency=latency,
            rate_limit=rate_limit,
            sources=sources,
            scenes_per_source=scenes_per_source,
            pages=pages,
            token_ttl=token_ttl,
            apps=apps,
            today=None if today is None else date_str(today, "today"),
            restate_days=restate_days,
        )
        self.seed: int = self._native.seed
        self._creds = dict(self._native.credentials())

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:40123``."""
        return self._native.url

    @property
    def addr(self) -> str:
        """``host:port`` of the server (for ``TencentIm(resolve_to=...)``)."""
        return self._native.addr

    @property
    def credentials(self) -> dict[str, str]:
        """The (fake) credentials the sandbox accepts."""
        return dict(self._creds)

    @property
    def today(self) -> _dt.date:
        """The sandbox's today (China time); data ends the day before.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox(today="2024-04-01") as sb:
            ...     sb.today, sb.baidu().user_trend("2024-03-30", "2024-04-05").height
            (datetime.date(2024, 4, 1), 2)
        """
        return _dt.date.fromisoformat(self._native.today)

    def apps(self, provider: str) -> list[dict[str, str]]:
        """The simulated apps of ``provider`` with their credentials.

        Baidu: ``name``, ``app_id``, ``auth_code``, ``refresh_token`` (the
        first of the program's single-use chain); MTA: ``app_id``,
        ``secret_key``; Tencent IM: ``sdkappid``, ``secret_key``, ``region``.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox(apps=3) as sb:
            ...     [a["app_id"] for a in sb.apps("mta")]
            ['500000001', '500000002', '500000003']
        """
        return [dict(a) for a in self._native.apps(provider)]

    def baidu_refreshes(self) -> dict[str, int]:
        """Refresh-token exchanges so far per Baidu program (by app id)."""
        return dict(self._native.baidu_refreshes())

    def requests_per_app(self, provider: str) -> dict[str, int]:
        """Requests served so far per app of ``provider``."""
        return dict(self._native.requests_per_app(provider))

    def __repr__(self) -> str:
        state = "closed" if self._native.closed else self.url
        return f"Sandbox(seed={self.seed}, {state})"

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (also done on ``with`` exit)."""
        self._native.close()

    @staticmethod
    def _fast(kwargs: dict[str, Any]) -> dict[str, Any]:
        # Local replies are fast: retry quickly unless told otherwise.
        kwargs.setdefault("backoff", 0.02)
        kwargs.setdefault("max_backoff", 0.5)
        kwargs.setdefault("rate_limit", 1000)
        return kwargs

    def baidu(self, **kwargs: Any) -> BaiduSmartApp:
        """A :class:`BaiduSmartApp` using the sandbox's client credentials.

        Keyword arguments are passed on (e.g. ``page_size=5``).
        """
        return BaiduSmartApp(
            client_id=self._creds["baidu_client_id"],
            client_secret=self._creds["baidu_client_secret"],
            base_url=self.url,
            **self._fast(kwargs),
        )

    def baidu_tp(self, auth_code: str | None = None, **kwargs: Any) -> BaiduSmartApp:
        """A client with third-party platform credentials.

        Without ``auth_code`` it holds the TP token (for ``tp_data``); with
        ``auth_code="sandbox-code-…"`` it acts for an authorised program.
        """
        return BaiduSmartApp(
            tp_client_id=self._creds["baidu_tp_client_id"],
            tp_ticket=self._creds["baidu_tp_ticket"],
            auth_code=auth_code,
            base_url=self.url,
            **self._fast(kwargs),
        )

    def mta(self, **kwargs: Any) -> Mta:
        """An :class:`~appstats.Mta` client signed with the sandbox's key.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     sb.mta().user_basic("2024-03-01", "2024-03-02", progress=False).height
            2
        """
        return Mta(
            app_id=self._creds["mta_app_id"],
            secret_key=self._creds["mta_secret_key"],
            base_url=self.url,
            **self._fast(kwargs),
        )

    def tim_apps(self) -> list[tuple[int, str, str]]:
        """The simulated Tencent IM apps: ``(sdkappid, secret_key, region)``.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     [(app, region) for app, _key, region in sb.tim_apps()]
            [(1400000001, 'cn'), (1400000002, 'cn'), (20000001, 'sgp')]
        """
        out = []
        i = 0
        while f"tim_{i}_sdkappid" in self._creds:
            out.append(
                (
                    int(self._creds[f"tim_{i}_sdkappid"]),
                    self._creds[f"tim_{i}_secret_key"],
                    self._creds[f"tim_{i}_region"],
                )
            )
            i += 1
        return out

    def tim(self, app: int = 0, **kwargs: Any) -> TencentIm:
        """A :class:`~appstats.TencentIm` client for simulated app ``app``.

        Requests go to the app region's real host name (e.g.
        ``console.tim.qq.com``), resolved to the sandbox over plain HTTP.
        """
        sdkappid, key, region = self.tim_apps()[app]
        kwargs.setdefault("region", region)
        kwargs.setdefault("identifier", self._creds["tim_admin"])
        kwargs.setdefault("today", self.today)
        return TencentIm(sdkappid, key, resolve_to=self.addr, **self._fast(kwargs))

    def inject(
        self,
        kind: str,
        value: float | None = None,
        *,
        provider: str | None = None,
        endpoint: str | None = None,
        skip: int = 0,
        times: int | None = 1,
        offset: int | None = None,
    ) -> None:
        """Make matching requests fail.

        Args:
            kind: one of :data:`FAULT_KINDS`.
            value: what the kind needs: an HTTP status (100 – 599), a
                provider error code, seconds of delay (0 – 3600), how far
                ``total`` is off (default 1) or rows to drop (at least 1,
                default 1). Kinds without a value refuse one.
            provider: ``"baidu"``, ``"mta"`` or ``"tim"`` (default: any).
            endpoint: last path segment, e.g. ``"getanalysissource"``.
            skip: matching requests to let through first (0 – 1000000).
            times: how often it fires (1 – 1000000; ``None``: always).
            offset: only for the page at this ``start_index``.

        Every argument is checked: a bad one raises
        :class:`~appstats.InvalidArgument` instead of a fault that silently
        never fires.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     sb.inject("http_status", 502, times=2)
            ...     sb.baidu().region("2024-03-01", "2024-03-02").height
            34
        """
        self._native.inject(kind, value, provider, endpoint, skip, times, offset)

    def clear_faults(self) -> None:
        """Remove every injected fault.

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     sb.inject("code", 17, times=None)
            ...     sb.clear_faults()
            ...     sb.baidu().region("2024-03-01", "2024-03-02", progress=False).height
            34
        """
        self._native.clear_faults()

    def request_count(self, provider: str | None = None) -> int:
        """Requests served so far (for one provider or all).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox() as sb:
            ...     _ = sb.mta().crash("2024-03-01", "2024-03-02", progress=False)
            ...     sb.request_count("mta"), sb.request_count("baidu")
            (1, 0)
        """
        return self._native.request_count(provider)

    def max_per_second(self, provider: str | None = None, app: str | None = None) -> int:
        """Most requests seen within any one-second window (of one provider,
        and of one ``app``: MTA app id, Baidu program id or IM SDKAppID).

        Examples:
            >>> import appstats as aps
            >>> with aps.Sandbox(pages=8) as sb:
            ...     bd = sb.baidu(page_size=2, rate_limit=5)
            ...     _ = bd.visit_page("2024-03-01", "2024-03-02", progress=False)
            ...     sb.max_per_second("baidu") <= 6
            True
        """
        return self._native.max_per_second(provider, app)
