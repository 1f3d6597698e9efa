"""Type stubs of the Rust extension module (use the wrappers in appstats.*).

`make lint` checks them against the built extension (`mypy.stubtest`).
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypedDict, final

import polars as pl

from ._common import HttpOptions

__all__ = [
    "_close",
    "_after_fork_in_child",
    "__version__",
    "BaiduClient",
    "Sandbox",
    "baidu_parse",
    "baidu_reports",
    "MtaClient",
    "mta_parse",
    "mta_reports",
    "TimClient",
    "tim_app_info_many",
    "tim_app_info_many_async",
    "gen_usersig",
    "verify_usersig",
    "tim_parse",
    "tim_fields",
    "tim_regions",
    "_raise_panic",
    "_serde_parse",
    "http_defaults",
    "today_cn",
    "report_catalog",
    "report_schema",
    "FanoutRun",
    "fetch_many",
    "validate_tasks",
]

__version__: str

_ProgressCb = Callable[[int, int], Any] | None
_ReportTuple = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, str | None, int | None]

@final
class BaiduClient:
    def __new__(
        cls,
        *,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        tp_client_id: str | None = None,
        tp_ticket: str | None = None,
        auth_code: str | None = None,
        refresh_token: str | None = None,
        base_url: str | None = None,
        page_size: int | None = None,
        http: HttpOptions | None = None,
    ) -> BaiduClient: ...
    def fetch(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: _ProgressCb = None,
    ) -> _ReportTuple: ...
    def fetch_async(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: _ProgressCb = None,
    ) -> Awaitable[_ReportTuple]: ...
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
) -> _ReportTuple: ...
def baidu_reports() -> list[tuple[str, str]]: ...

_MtaFetched = tuple[pl.DataFrame, list[tuple[str, str]]]

@final
class MtaClient:
    def __new__(
        cls,
        app_id: str,
        secret_key: str,
        *,
        base_url: str | None = None,
        http: HttpOptions | None = None,
    ) -> MtaClient: ...
    def fetch(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: _ProgressCb = None,
    ) -> _MtaFetched: ...
    def fetch_async(
        self,
        report: str,
        start: str,
        end: str,
        options: dict[str, str] | None = None,
        progress_cb: _ProgressCb = None,
    ) -> Awaitable[_MtaFetched]: ...
    def validate(
        self, report: str, start: str, end: str, options: dict[str, str] | None = None
    ) -> None: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def app_id(self) -> str: ...

def mta_parse(
    endpoint: str, text: str | bytes, options: dict[str, str] | None = None
) -> pl.DataFrame: ...
def mta_reports() -> list[tuple[str, str, list[tuple[str, str, int]]]]: ...

@final
class TimClient:
    def __new__(
        cls,
        sdkappid: int,
        secret_key: str,
        *,
        identifier: str | None = None,
        region: str | None = None,
        resolve_to: str | None = None,
        usersig_expire: int | None = None,
        http: HttpOptions | None = None,
        today: str | None = None,
    ) -> TimClient: ...
    def app_info(
        self, fields: list[str] | None = None, progress_cb: _ProgressCb = None
    ) -> pl.DataFrame: ...
    def app_info_async(
        self, fields: list[str] | None = None, progress_cb: _ProgressCb = None
    ) -> Awaitable[pl.DataFrame]: ...
    def stats(self) -> dict[str, int]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def sdkappid(self) -> int: ...
    @property
    def identifier(self) -> str: ...

def tim_app_info_many(
    apps: Iterable[tuple[int, str]],
    *,
    identifier: str | None = None,
    region: str | None = None,
    fields: list[str] | None = None,
    resolve_to: str | None = None,
    progress_cb: _ProgressCb = None,
    http: HttpOptions | None = None,
) -> pl.DataFrame: ...
def tim_app_info_many_async(
    apps: Iterable[tuple[int, str]],
    *,
    identifier: str | None = None,
    region: str | None = None,
    fields: list[str] | None = None,
    resolve_to: str | None = None,
    progress_cb: _ProgressCb = None,
    http: HttpOptions | None = None,
) -> Awaitable[pl.DataFrame]: ...
def gen_usersig(
    sdkappid: int,
    secret_key: str,
    identifier: str,
    expire: int | None = None,
    now: int | None = None,
) -> str: ...
def verify_usersig(
    usersig: str, sdkappid: int, secret_key: str, now: int | None = None
) -> tuple[str, int, int, int]: ...
def tim_parse(text: str | bytes) -> pl.DataFrame: ...
def tim_fields() -> list[tuple[str, str, str]]: ...
def tim_regions() -> list[tuple[str, str, str]]: ...

@final
class Sandbox:
    def __new__(
        cls,
        seed: int | None = None,
        latency: float | None = None,
        rate_limit: int | None = None,
        sources: int | None = None,
        scenes_per_source: int | None = None,
        pages: int | None = None,
        token_ttl: int | None = None,
        apps: int | None = None,
        today: str | None = None,
        restate_days: int | None = None,
    ) -> Sandbox: ...
    @property
    def seed(self) -> int: ...
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
        value: float | None,
        provider: str | None,
        endpoint: str | None,
        skip: int,
        times: int | None,
        offset: int | None,
    ) -> None: ...
    def clear_faults(self) -> None: ...
    def request_count(self, provider: str | None = None) -> int: ...
    def max_per_second(self, provider: str | None = None, app: str | None = None) -> int: ...
    def close(self) -> None: ...

def http_defaults(provider: str) -> dict[str, float]: ...
def today_cn() -> str: ...

class _ReportOption(TypedDict):
    name: str
    values: list[str]
    default: str | None
    doc: str
    column: str | None

class _Cohort(TypedDict):
    options: dict[str, str]
    period: Literal["day", "week", "month"]
    horizon_days: int

class _ReportInfo(TypedDict):
    provider: Literal["baidu", "mta", "tim"]
    name: str
    endpoint: str
    description: str
    dated: bool
    options: list[_ReportOption]
    kind: Literal["daily", "distribution", "retention"]
    day_column: str
    cohorts: list[_Cohort]
    history_days: int | None
    pages_per_day: int
    row_key: list[str] | None

def report_catalog() -> list[_ReportInfo]: ...
def report_schema(
    provider: str, report: str, options: dict[str, str] | None = None
) -> pl.DataFrame: ...
def _raise_panic() -> None: ...
def _serde_parse(text: str) -> int: ...
def _close() -> None: ...
def _after_fork_in_child() -> None: ...

_FanoutItem = tuple[int, pl.DataFrame | None, Exception | None, int, int, float, float]

@final
class FanoutRun:
    def __iter__(self) -> FanoutRun: ...
    def __next__(self) -> _FanoutItem: ...
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
def validate_tasks(
    provider: str,
    tasks: Sequence[tuple[str, str, str, Mapping[str, str] | None, bool]],
) -> None: ...
