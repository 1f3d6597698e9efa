"""What a Polars predicate and projection tell the scan: the days and apps
to fetch, and the MTA metrics / IM fields to request.

The predicate is read from its serialized form (``Expr.meta.serialize``):
conjunctions (``&``, ``all_horizontal``) intersect, disjunctions (``|``)
unite what both sides say about a column, and anything else — a computed
column, a negation, a comparison of two columns — says nothing, so it only
widens what is fetched. Literals are evaluated by Polars itself (a date, a
datetime, a list for ``is_in``). Pushdown is a hint: the source always
applies the whole predicate to what it yields.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from .. import _native

__all__ = ["Allowed", "constraints", "day_bounds", "names", "metric_option"]

ONE = _dt.timedelta(days=1)

#: Node kinds that read data: a subtree holding none of them is a constant.
_DATA_NODES = frozenset(
    {"Column", "Columns", "Nth", "Len", "Wildcard", "Selector", "IndexColumn", "DtypeColumn"}
)
_FLIP = {"Gt": "Lt", "GtEq": "LtEq", "Lt": "Gt", "LtEq": "GtEq", "Eq": "Eq"}


@dataclass(frozen=True)
class Allowed:
    """The values a column may take: an inclusive range (``None``: open) and,
    when known, the exact set. ``Allowed()`` allows everything.

    Examples:
        >>> a = Allowed(lo=1, hi=9).and_(Allowed(values=frozenset({3, 12})))
        >>> a.values, a.empty
        (frozenset({3}), False)
        >>> Allowed(lo=5).or_(Allowed(hi=2)) == Allowed()
        True
    """

    lo: Any = None
    hi: Any = None
    values: frozenset[Any] | None = None

    @property
    def empty(self) -> bool:
        """Whether no value is allowed."""
        if self.values is not None and not self.values:
            return True
        return self.lo is not None and self.hi is not None and self.lo > self.hi

    def and_(self, o: Allowed) -> Allowed:
        lo = o.lo if self.lo is None else self.lo if o.lo is None else max(self.lo, o.lo)
        hi = o.hi if self.hi is None else self.hi if o.hi is None else min(self.hi, o.hi)
        values = self.values if o.values is None else o.values
        if self.values is not None and o.values is not None:
            values = self.values & o.values
        if values is not None:
            values = frozenset(
                v for v in values if (lo is None or v >= lo) and (hi is None or v <= hi)
            )
        return Allowed(lo, hi, values)

    def or_(self, o: Allowed) -> Allowed:
        if self.empty:
            return o
        if o.empty:
            return self
        if self.values is not None and o.values is not None:
            return Allowed(values=self.values | o.values)
        a, b = self._as_range(), o._as_range()
        lo = None if a.lo is None or b.lo is None else min(a.lo, b.lo)
        hi = None if a.hi is None or b.hi is None else max(a.hi, b.hi)
        return Allowed(lo, hi)

    def _as_range(self) -> Allowed:
        if self.values is None:
            return self
        return Allowed(min(self.values), max(self.values))


Constraints = dict[str, Allowed]


def _node(expr: pl.Expr) -> Any:
    return json.loads(expr.meta.serialize(format="json"))


def _is_const(node: Any) -> bool:
    if isinstance(node, dict):
        return not (_DATA_NODES & node.keys()) and all(_is_const(v) for v in node.values())
    if isinstance(node, list):
        return all(_is_const(v) for v in node)
    return True


def _values(node: Any) -> list[Any] | None:
    """A constant subtree's values (a list literal or Series gives all of
    them), evaluated by Polars; ``None`` when it is not a constant."""
    if not _is_const(node):
        return None
    try:
        expr = pl.Expr.deserialize(io.StringIO(json.dumps(node)), format="json")
        s = pl.select(expr.alias("v")).to_series()
    except Exception:  # noqa: BLE001 - anything unreadable says nothing
        return None
    if isinstance(s.dtype, pl.List) and s.len() == 1:
        s = s.explode()
    return s.to_list()


def _column(node: Any) -> str | None:
    """The column a node reads as it is (or cast: a date compared with a
    datetime is cast by Polars)."""
    if isinstance(node, dict):
        if isinstance(node.get("Column"), str):
            return str(node["Column"])
        cast = node.get("Cast")
        if isinstance(cast, dict):
            return _column(cast.get("expr"))
    return None


def _compare(op: str, v: Any) -> Allowed | None:
    if v is None:
        return None
    if op == "Eq":
        return Allowed(values=frozenset({v}))
    if op in ("Gt", "GtEq"):
        return Allowed(lo=(v, op == "Gt"))
    if op in ("Lt", "LtEq"):
        return Allowed(hi=(v, op == "Lt"))
    return None


def constraints(predicate: pl.Expr | None) -> Constraints:
    """Per column, what ``predicate`` allows (columns it says nothing
    about are absent). Range ends are ``(value, strict)`` pairs; sets are
    plain values.

    Examples:
        >>> import datetime as dt, polars as pl
        >>> c = constraints((pl.col("date") >= dt.date(2024, 3, 1)) & (pl.col("app") == "a"))
        >>> c["date"].lo, sorted(c["app"].values)
        ((datetime.date(2024, 3, 1), False), ['a'])
        >>> constraints(pl.col("x") * 2 > 1)
        {}
    """
    if predicate is None:
        return {}
    try:
        return _walk(_node(predicate))
    except Exception:  # noqa: BLE001 - an unreadable predicate is no hint
        return {}


def _and(a: Constraints, b: Constraints) -> Constraints:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k].and_(v) if k in out else v
    return out


def _or(a: Constraints, b: Constraints) -> Constraints:
    return {k: a[k].or_(b[k]) for k in a.keys() & b.keys()}


def _walk(node: Any) -> Constraints:
    if not isinstance(node, dict):
        return {}
    if "BinaryExpr" in node:
        b = node["BinaryExpr"]
        op = b.get("op")
        if op in ("And", "LogicalAnd"):
            return _and(_walk(b["left"]), _walk(b["right"]))
        if op in ("Or", "LogicalOr"):
            return _or(_walk(b["left"]), _walk(b["right"]))
        if op in _FLIP:
            col, other = _column(b["left"]), b["right"]
            if col is None:
                col, other, op = _column(b["right"]), b["left"], _FLIP[op]
            vals = _values(other) if col is not None else None
            if col is None or vals is None or len(vals) != 1:
                return {}
            got = _compare(op, vals[0])
            return {col: got} if got is not None else {}
        return {}
    f = node.get("Function")
    if isinstance(f, dict):
        fn = f.get("function")
        inputs = f.get("input", [])
        boolean = fn.get("Boolean") if isinstance(fn, dict) else None
        if boolean == "AllHorizontal":
            out: Constraints = {}
            for i in inputs:
                out = _and(out, _walk(i))
            return out
        if boolean == "AnyHorizontal" and inputs:
            acc = _walk(inputs[0])
            for i in inputs[1:]:
                acc = _or(acc, _walk(i))
            return acc
        if isinstance(boolean, dict) and "IsIn" in boolean and len(inputs) == 2:
            col, vals = _column(inputs[0]), _values(inputs[1])
            if col is None or vals is None:
                return {}
            return {col: Allowed(values=frozenset(v for v in vals if v is not None))}
        if isinstance(boolean, dict) and "IsBetween" in boolean and len(inputs) == 3:
            col = _column(inputs[0])
            lo, hi = _values(inputs[1]), _values(inputs[2])
            if col is None or not lo or not hi or len(lo) != 1 or len(hi) != 1:
                return {}
            closed = boolean["IsBetween"].get("closed", "Both")
            return {
                col: Allowed(
                    lo=(lo[0], closed in ("Right", "None")),
                    hi=(hi[0], closed in ("Left", "None")),
                )
            }
    return {}


def _as_day(v: Any) -> _dt.date | None:
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    if isinstance(v, str):
        try:
            return _dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def day_bounds(
    allowed: Allowed | None,
) -> tuple[_dt.date | None, _dt.date | None, frozenset[_dt.date] | None]:
    """A date column's constraint as inclusive days ``(first, last, days)``
    (``None``: unbounded / any day). A datetime bound is widened to its
    whole day: fetching a day too many is harmless, the predicate still
    applies.

    Examples:
        >>> import datetime as dt
        >>> day_bounds(Allowed(lo=(dt.date(2024, 3, 1), True), hi=(dt.date(2024, 3, 9), True)))
        (datetime.date(2024, 3, 2), datetime.date(2024, 3, 8), None)
    """
    if allowed is None:
        return None, None, None
    lo = hi = None
    if allowed.lo is not None:
        v, strict = allowed.lo
        d = _as_day(v)
        if d is not None:
            exact_date = not isinstance(v, _dt.datetime)
            lo = d + ONE if strict and exact_date else d
    if allowed.hi is not None:
        v, strict = allowed.hi
        d = _as_day(v)
        if d is not None:
            exact_date = not isinstance(v, _dt.datetime)
            hi = d - ONE if strict and exact_date else d
    days = None
    if allowed.values is not None:
        parsed = [_as_day(v) for v in allowed.values]
        if all(p is not None for p in parsed):
            days = frozenset(p for p in parsed if p is not None)
            if lo is not None:
                days = frozenset(d for d in days if d >= lo)
            if hi is not None:
                days = frozenset(d for d in days if d <= hi)
            if days:
                lo = max(lo, min(days)) if lo is not None else min(days)
                hi = min(hi, max(days)) if hi is not None else max(days)
    return lo, hi, days


def names(allowed: Allowed | None) -> frozenset[str] | None:
    """The exact strings a column may equal (``None``: any)."""
    if allowed is None or allowed.values is None:
        return None
    return frozenset(str(v) for v in allowed.values)


#: MTA reports whose value columns are metrics a request may select (``idx``).
_MTA_SELECTABLE = ("user_basic", "active_users", "usage", "crash", "frequency", "terminal")


def metric_option(provider: str, method: str, needed: Iterable[str]) -> dict[str, str]:
    """The report option that requests only the ``needed`` columns'
    metrics (MTA ``metrics``) or fields (Tencent IM ``fields``); empty when
    every metric is needed or the report cannot select.

    Examples:
        >>> metric_option("mta", "user_basic", ["app", "date", "new_users", "sessions"])
        {'metrics': 'new_users,sessions'}
        >>> metric_option("tim", "app_info", ["date", "max_online_num"])
        {'fields': 'max_online_num'}
        >>> metric_option("baidu", "user_trend", ["date"])
        {}
    """
    want = set(needed)
    if provider == "mta" and method in _MTA_SELECTABLE:
        metrics = next((list(m) for n, _, m in _native.mta_reports() if n == method), [])
        cols = [c for c, _, _ in metrics]
        chosen = [c for c in cols if c in want] or cols[:1]
        return {} if len(chosen) == len(cols) else {"metrics": ",".join(chosen)}
    if provider == "tim" and method == "app_info":
        fields = [snake for _, snake, _ in _native.tim_fields() if snake not in ("date",)]
        chosen = [f for f in fields if f in want and f != "app_id"]
        if "app_id" in want and not chosen:
            chosen = ["active_user_num"]
        chosen = chosen or ["active_user_num"]
        return {} if len(chosen) >= len(fields) - 1 else {"fields": ",".join(chosen)}
    return {}
