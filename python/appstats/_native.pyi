"""Type stubs of the Rust extension module (use the wrappers in appstats.*)."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import polars as pl

from ._common import HttpKwargs

__version__: str

ProgressCb = Callable[[int, int], Any] | None
ReportTuple = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, str | None, int | None]

class BaiduClient:
    def __init__(
        self,
        *,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        tp_client_id: str | None = None,
        tp_ticket: str | None = None,
        auth_code: str | None = None,
        refresh_token: str | None = None,
        base_url: str | None = None,
        page_size: int = 20,
        http: HttpKwargs,
    ) -> None: ...
    def fetch(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: ProgressCb = None,
    ) -> ReportTuple: ...
    def fetch_async(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: ProgressCb = None,
    ) -> Awaitable[ReportTuple]: ...
    def validate(
        self, report: str, start: str, end: str, options: dict[str, str] | None = None
    ) -> None: ...
    def refresh_token(self) -> str | None: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def auth_kind(self) -> str: ...

def baidu_parse(
    endpoint: str, text: str | bytes, options: dict[str, str] | None = None
) -> ReportTuple: ...
def baidu_reports() -> list[tuple[str, str]]: ...

class MtaClient:
    def __init__(
        self,
        app_id: str,
        secret_key: str,
        *,
        base_url: str | None = None,
        http: HttpKwargs,
    ) -> None: ...
    def fetch(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: ProgressCb = None,
    ) -> pl.DataFrame: ...
    def fetch_async(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: ProgressCb = None,
    ) -> Awaitable[pl.DataFrame]: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def app_id(self) -> str: ...

def mta_parse(
    endpoint: str, text: str | bytes, options: dict[str, str] | None = None
) -> pl.DataFrame: ...
def mta_reports() -> list[tuple[str, str, list[tuple[str, str, int]]]]: ...

class TimClient:
    def __init__(
        self,
        sdkappid: int,
        secret_key: str,
        *,
        identifier: str = "admin",
        region: str = "china",
        resolve_to: str | None = None,
        usersig_expire: int = 86400,
        http: HttpKwargs,
    ) -> None: ...
    def app_info(
        self, fields: list[str] | None = None, progress_cb: ProgressCb = None
    ) -> pl.DataFrame: ...
    def app_info_async(
        self, fields: list[str] | None = None, progress_cb: ProgressCb = None
    ) -> Awaitable[pl.DataFrame]: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def sdkappid(self) -> int: ...
    @property
    def identifier(self) -> str: ...

def tim_app_info_many(
    apps: list[tuple[int, str]],
    *,
    identifier: str = "admin",
    region: str = "china",
    fields: list[str] | None = None,
    resolve_to: str | None = None,
    progress_cb: ProgressCb = None,
    http: HttpKwargs,
    is_async: bool = False,
) -> Any: ...
def gen_usersig(
    sdkappid: int, secret_key: str, identifier: str, expire: int = 86400, now: int | None = None
) -> str: ...
def verify_usersig(
    usersig: str, sdkappid: int, secret_key: str, now: int | None = None
) -> tuple[str, int, int, int]: ...
def tim_parse(text: str | bytes) -> pl.DataFrame: ...
def tim_fields() -> list[tuple[str, str, str]]: ...
def tim_regions() -> list[tuple[str, str, str]]: ...

class Sandbox:
    def __init__(
        self,
        seed: int = 7,
        latency: float = 0.0,
        rate_limit: int | None = None,
        sources: int = 12,
        scenes_per_source: int = 4,
        pages: int = 30,
        token_ttl: int = 2592000,
        apps: int | None = None,
        today: str | None = None,
        restate_days: int = 0,
    ) -> None: ...
    @property
    def url(self) -> str: ...
    @property
    def today(self) -> str: ...
    def apps(self, provider: str) -> list[dict[str, str]]: ...
    def baidu_refreshes(self) -> dict[str, int]: ...
    def requests_per_app(self, provider: str) -> dict[str, int]: ...
    @property
    def addr(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def credentials(self) -> list[tuple[str, str]]: ...
    def inject(
        self,
        kind: str,
        value: float | None = None,
        provider: str | None = None,
        endpoint: str | None = None,
        skip: int = 0,
        times: int | None = 1,
        offset: int | None = None,
    ) -> None: ...
    def clear_faults(self) -> None: ...
    def request_count(self, provider: str | None = None) -> int: ...
    def max_per_second(self, provider: str | None = None, app: str | None = None) -> int: ...
    def close(self) -> None: ...

def _raise_panic() -> None: ...
def _serde_parse(text: str) -> int: ...

FanoutItem = tuple[int, pl.DataFrame | None, Exception | None, int, int, float, float]

class FanoutRun:
    def __iter__(self) -> FanoutRun: ...
    def __next__(self) -> FanoutItem: ...
    def cancel(self) -> None: ...
    @property
    def total(self) -> int: ...

def fetch_many(
    apps: Sequence[Mapping[str, Any]],
    tasks: Sequence[tuple[int, str, str, str, Mapping[str, str] | None, bool]],
    concurrency: int = 32,
    active_apps: int = 64,
    buffer: int = 64,
) -> FanoutRun: ...
