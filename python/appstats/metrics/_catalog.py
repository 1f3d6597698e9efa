"""The catalog: one row per canonical metric, and where each provider's
number comes from (the report table and column, the vendor's field name,
MTA's metric id), with the semantics that differ between providers.

Everything the model computes is driven by these definitions: a daily
column is read through :data:`DAILY`; retention through :data:`RETENTION`;
the rules for weeks and months through each metric's ``additivity`` and
``grains``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

__all__ = [
    "Metric",
    "Column",
    "METRICS",
    "DAILY",
    "RETENTION",
    "UNITS",
    "ADDITIVITY",
    "GRAINS",
    "catalog_frame",
]

UNITS = ("users", "sessions", "seconds", "fraction", "messages", "count")
#: ``additive``: summed over the days of a week or month; ``semi``: a
#: stock, its value on the period's last day; ``non_additive``: never
#: summed — a week or month value only where the provider publishes one.
ADDITIVITY = ("additive", "semi", "non_additive")
GRAINS = ("day", "week", "month")
PROVIDERS = ("baidu", "mta", "tim")


@dataclass(frozen=True)
class Metric:
    """A canonical metric: its meaning, unit, additivity, the grains it
    exists at, and per provider its source (``None``: the provider has no
    such number) and a note where the provider's meaning differs."""

    name: str
    description: str
    unit: str
    additivity: str
    grains: tuple[str, ...]
    sources: dict[str, str | None] = field(default_factory=dict)
    mta_id: str | None = None
    tim_field: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Column:
    """A daily report column read as a metric (``percent``: divided by 100,
    a fraction)."""

    column: str
    metric: str
    percent: bool = False


#: Daily report tables (sync catalog names) → the columns read as metrics.
DAILY: dict[str, tuple[Column, ...]] = {
    "baidu_user_trend": (
        Column("user_count", "active_users"),
        Column("new_user_count", "new_users"),
        Column("new_user_ratio", "new_user_share", percent=True),
        Column("session_count", "sessions"),
        Column("average_session_time", "session_duration_avg_s"),
        Column("session_time_per_person", "duration_per_user_s"),
    ),
    "baidu_activity_user": (
        Column("weekly_user_count", "active_users_7d"),
        Column("monthly_user_count", "active_users_30d"),
        Column("accumulative_user_count", "total_users"),
        Column("lost_user_count", "lost_users"),
        Column("lost_ratio", "lost_rate", percent=True),
    ),
    "mta_user_basic": (
        Column("active_users", "active_users"),
        Column("new_users", "new_users"),
        Column("sessions", "sessions"),
        Column("total_users", "total_users"),
    ),
    "mta_active_users": (
        Column("weekly_active_users", "active_users_7d"),
        Column("monthly_active_users", "active_users_30d"),
    ),
    "mta_usage": (
        Column("time_per_session", "session_duration_avg_s"),
        Column("time_per_user", "duration_per_user_s"),
        Column("pages_per_session", "pages_per_session"),
        Column("pages_per_user", "pages_per_user"),
    ),
    "mta_crash": (
        Column("error_count", "crashes"),
        Column("error_users", "crash_users"),
    ),
    "tim_app_info": (
        Column("active_user_num", "active_users"),
        Column("regist_user_num_one_day", "new_users"),
        Column("regist_user_num_total", "total_users"),
        Column("login_times", "logins"),
        Column("login_user_num", "login_users"),
        Column("up_msg_num", "messages_sent"),
        Column("down_msg_num", "messages_delivered"),
        Column("send_msg_user_num", "message_senders"),
        Column("max_online_num", "peak_online_users"),
    ),
}

#: Retention tables → (grain, cohort, first period): Baidu's ``第N天/周/月``
#: starts at 2 (the period after the cohort's), MTA's ``D{N}`` at 1.
RETENTION: dict[str, tuple[str, str, int]] = {
    "baidu_retention_day": ("day", "active", 2),
    "baidu_retention_week": ("week", "active", 2),
    "baidu_retention_month": ("month", "active", 2),
    "mta_retention": ("day", "new", 1),
}

_D = ("day",)
_ALL = GRAINS

#: Every canonical metric.
METRICS: tuple[Metric, ...] = (
    Metric(
        "active_users",
        "Distinct users active in the period (day: that day; week: Monday to "
        "Sunday; month: the calendar month). Never a sum of daily actives.",
        "users",
        "non_additive",
        _ALL,
        {
            "baidu": "user_trend.user_count (启动用户); week: "
            "activity_user.weekly_user_count on the Sunday; month: "
            "retention_month.cohort_size (the month's active users)",
            "mta": "user_basic.active_users (ActiveUser); week: "
            "active_users.weekly_active_users (WeekUv) on the Sunday",
            "tim": "app_info.active_user_num (ActiveUserNum)",
        },
        mta_id="10102",
        tim_field="ActiveUserNum",
        note="Baidu: users who launched the program; MTA: users as its SDK "
        "counts them (devices; its accounts are 10105 active_accounts, not "
        "mapped); IM: accounts, definition not documented. IM has no weekly "
        "or monthly number (absent there); MTA has no calendar-month one.",
    ),
    Metric(
        "active_users_7d",
        "Distinct users active in the 7 days ending on the date (the date included).",
        "users",
        "non_additive",
        _D,
        {
            "baidu": "activity_user.weekly_user_count (周活跃用户)",
            "mta": "active_users.weekly_active_users (WeekUv)",
            "tim": None,
        },
        mta_id="10202",
        note="Baidu documents 'the last 7 days, the day included'; MTA's "
        "document says only WAU: read as the same window (unverified).",
    ),
    Metric(
        "active_users_30d",
        "Distinct users active in the 30 days ending on the date (the date "
        "included; not a calendar month).",
        "users",
        "non_additive",
        _D,
        {
            "baidu": "activity_user.monthly_user_count (月活跃用户)",
            "mta": "active_users.monthly_active_users (MonthUv)",
            "tim": None,
        },
        mta_id="10203",
        note="Baidu documents 'the last 30 days, the day included'; MTA's "
        "document says only MAU: read as the same window (unverified).",
    ),
    Metric(
        "new_users",
        "Users seen for the first time in the period.",
        "users",
        "additive",
        _ALL,
        {
            "baidu": "user_trend.new_user_count (当日首次启动)",
            "mta": "user_basic.new_users (NewUser)",
            "tim": "app_info.regist_user_num_one_day (RegistUserNumOneDay)",
        },
        mta_id="10101",
        tim_field="RegistUserNumOneDay",
        note="Baidu and MTA: first launch; IM: new registrations (accounts). "
        "Baidu's source.new_user_count is NOT this metric: there it means "
        "first launch within 90 days, and it is not mapped.",
    ),
    Metric(
        "new_user_share",
        "New users as a fraction of the day's active users.",
        "fraction",
        "non_additive",
        _D,
        {"baidu": "user_trend.new_user_ratio (percent ÷ 100)", "mta": None, "tim": None},
    ),
    Metric(
        "total_users",
        "Users accumulated since the app began, as of the period's last day.",
        "users",
        "semi",
        _ALL,
        {
            "baidu": "activity_user.accumulative_user_count (累计启动用户)",
            "mta": "user_basic.total_users (TotalUser)",
            "tim": "app_info.regist_user_num_total (RegistUserNumTotal)",
        },
        mta_id="10104",
        tim_field="RegistUserNumTotal",
        note="IM: registered accounts. MTA's document labels 10104 累计次数 "
        "('cumulative count') while its field is TotalUser: read as "
        "cumulative users (unverified).",
    ),
    Metric(
        "sessions",
        "Launches (sessions) in the period.",
        "sessions",
        "additive",
        _ALL,
        {
            "baidu": "user_trend.session_count (启动次数)",
            "mta": "user_basic.sessions (SessionCount, 启动次数)",
            "tim": None,
        },
        mta_id="10103",
        note="IM logins are not sessions: see logins.",
    ),
    Metric(
        "session_duration_avg_s",
        "Average time per session (launch), in seconds.",
        "seconds",
        "non_additive",
        _D,
        {
            "baidu": "user_trend.average_session_time (次均使用时长)",
            "mta": "usage.time_per_session (OnlineTimePerSession)",
            "tim": None,
        },
        mta_id="10402",
    ),
    Metric(
        "duration_per_user_s",
        "Total usage time of the day divided by the day's active users, in seconds.",
        "seconds",
        "non_additive",
        _D,
        {
            "baidu": "user_trend.session_time_per_person (人均使用时长)",
            "mta": "usage.time_per_user (OnlineTimePerUv)",
            "tim": None,
        },
        mta_id="10401",
    ),
    Metric(
        "pages_per_session",
        "Pages viewed per session.",
        "count",
        "non_additive",
        _D,
        {"baidu": None, "mta": "usage.pages_per_session (PageCountPerSession)", "tim": None},
        mta_id="10404",
        note="Baidu publishes page views per page (visit_page), not per session.",
    ),
    Metric(
        "pages_per_user",
        "Pages viewed per active user.",
        "count",
        "non_additive",
        _D,
        {"baidu": None, "mta": "usage.pages_per_user (PageCountPerUv)", "tim": None},
        mta_id="10403",
    ),
    Metric(
        "cohort_users",
        "The size of a retention cohort (see `cohort`: active or new users of "
        "the cohort's day, week or month).",
        "users",
        "non_additive",
        _ALL,
        {
            "baidu": "retention_day/_week/_month.cohort_size (active_user_count)",
            "mta": "retention.cohort_size (the day's new users, 10101)",
            "tim": None,
        },
        note="Baidu's cohort is the period's active users, MTA's the day's new users.",
    ),
    Metric(
        "retained_users",
        "Users of the cohort active again `day_offset` days after the "
        "cohort's start (weeks and months: the start of the returning period).",
        "users",
        "non_additive",
        _ALL,
        {
            "baidu": "retention_day/_week/_month.users (第N天/周/月, day_offset "
            "N−1 days, 7·(N−1), or the days to the (N−1)th next month)",
            "mta": "retention.users (D{N}RepeatUser, day_offset N)",
            "tim": None,
        },
        mta_id="11001–11009",
        note="Baidu's 第2天 is the day after the cohort day (day_offset 1), the "
        "same day as MTA's D1. MTA has daily cohorts only.",
    ),
    Metric(
        "retention_rate",
        "retained_users / cohort_users, a fraction.",
        "fraction",
        "non_additive",
        _ALL,
        {
            "baidu": "retention.users / cohort_size (ratio ÷ 100 for report_type=ratio)",
            "mta": "retention.users / cohort_size (ratio ÷ 100 when MTA sends percentages)",
            "tim": None,
        },
        note="Comparable only with the same `cohort`: Baidu's active users "
        "return far more often than MTA's new users.",
    ),
    Metric(
        "lost_users",
        "Users not active in the 60 days ending on the period's last day.",
        "users",
        "semi",
        _ALL,
        {"baidu": "activity_user.lost_user_count (流失用户)", "mta": None, "tim": None},
    ),
    Metric(
        "lost_rate",
        "lost_users / total_users, as of the period's last day (a fraction).",
        "fraction",
        "semi",
        _ALL,
        {"baidu": "activity_user.lost_ratio (percent ÷ 100)", "mta": None, "tim": None},
    ),
    Metric(
        "crashes",
        "Errors reported by the app's SDK (crashes included).",
        "count",
        "additive",
        _ALL,
        {"baidu": None, "mta": "crash.error_count (ErrorNum, 错误次数)", "tim": None},
        mta_id="10501",
        note="MTA counts errors (错误次数), of which crashes are a part.",
    ),
    Metric(
        "crash_users",
        "Distinct users who met an error that day.",
        "users",
        "non_additive",
        _D,
        {"baidu": None, "mta": "crash.error_users (ErrorUser, 错误覆盖人数)", "tim": None},
        mta_id="10502",
    ),
    Metric(
        "messages_sent",
        "Messages sent by users (upstream), one-to-one and group together.",
        "messages",
        "additive",
        _ALL,
        {"baidu": None, "mta": None, "tim": "app_info.up_msg_num (UpMsgNum)"},
        tim_field="UpMsgNum",
    ),
    Metric(
        "messages_delivered",
        "Messages delivered to users (downstream), one-to-one and group together.",
        "messages",
        "additive",
        _ALL,
        {"baidu": None, "mta": None, "tim": "app_info.down_msg_num (DownMsgNum)"},
        tim_field="DownMsgNum",
    ),
    Metric(
        "message_senders",
        "Distinct users who sent a message that day.",
        "users",
        "non_additive",
        _D,
        {"baidu": None, "mta": None, "tim": "app_info.send_msg_user_num (SendMsgUserNum)"},
        tim_field="SendMsgUserNum",
        note="A distinct count: the document's sample has 19 senders, 9 in "
        "one-to-one chats and 12 in groups. Never summed over days or C2C + group.",
    ),
    Metric(
        "peak_online_users",
        "The day's highest number of users online at once.",
        "users",
        "non_additive",
        _D,
        {"baidu": None, "mta": None, "tim": "app_info.max_online_num (MaxOnlineNum)"},
        tim_field="MaxOnlineNum",
        note="A week's peak is the maximum of its days' peaks, never their sum.",
    ),
    Metric(
        "logins",
        "Logins in the period.",
        "count",
        "additive",
        _ALL,
        {"baidu": None, "mta": None, "tim": "app_info.login_times (LoginTimes)"},
        tim_field="LoginTimes",
    ),
    Metric(
        "login_users",
        "Distinct users who logged in that day.",
        "users",
        "non_additive",
        _D,
        {"baidu": None, "mta": None, "tim": "app_info.login_user_num (LoginUserNum)"},
        tim_field="LoginUserNum",
    ),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}

CATALOG_SCHEMA: dict[str, pl.DataType] = {
    "metric": pl.String(),
    "description": pl.String(),
    "unit": pl.String(),
    "additivity": pl.String(),
    "grain": pl.List(pl.String()),
    "baidu": pl.String(),
    "mta": pl.String(),
    "mta_id": pl.String(),
    "tim": pl.String(),
    "tim_field": pl.String(),
    "note": pl.String(),
}


def catalog_frame() -> pl.DataFrame:
    """The catalog as a frame, one row per metric."""
    rows = [
        {
            "metric": m.name,
            "description": m.description,
            "unit": m.unit,
            "additivity": m.additivity,
            "grain": list(m.grains),
            "baidu": m.sources.get("baidu"),
            "mta": m.sources.get("mta"),
            "mta_id": m.mta_id,
            "tim": m.sources.get("tim"),
            "tim_field": m.tim_field,
            "note": m.note or None,
        }
        for m in METRICS
    ]
    return pl.DataFrame(rows, schema=CATALOG_SCHEMA, orient="row")
