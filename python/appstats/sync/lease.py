"""The lake's lease: one sync writes a lake at a time.

Two syncs of the same lake at once — cron overlapping a slow run, an
orchestrator retrying while the first attempt still runs — would both fetch
and commit the same slices. The lease is held *in the lake*, so it works for
every process and machine that can reach it (a local folder or an object
store): a one-row Delta table ``_lease`` naming the run that holds it and
when the lease expires.

* Taking or renewing the lease is a compare-and-swap through Delta's own
  commit protocol: the run reads the table's version, and overwrites the row
  *as of that version*. Of two runs that read the same version, one commit
  wins and the other fails Delta's conflict check (both remove the same
  file), so at most one run holds the lease. On object stores this needs
  delta-rs' safe commits (S3: conditional put, ``aws_conditional_put =
  "etag"``, or a DynamoDB lock), as every Delta writer does.
* The lease expires (``lease_ttl``, 15 minutes by default) unless its holder
  renews it; the holder renews it in the background every third of that, so
  a run that crashed or was killed blocks the lake for at most the TTL — and
  not at all for a run on the same machine, whose process is seen to be
  gone (a zombie of a killed child still counts as alive until reaped).
* A run that finds the lease held waits up to ``lease_wait`` seconds
  (default 0) for it, then stops with :class:`~appstats.LakeBusy` naming the
  holder — before any request is sent and before any token is spent.
* A holder that could not renew in time (its lease was taken over after it
  expired) stops committing: every commit first checks that the lease is
  still its own.

The slices a run writes are also conflict-checked replacements (see
:mod:`appstats.sync.store`), so even two runs that bypass the lease cannot
double a row.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import LakeBusy, LakeError

if TYPE_CHECKING:
    from .store import DeltaStore

__all__ = ["LakeLease", "LEASE_TABLE", "DEFAULT_LEASE_TTL_S"]

log = logging.getLogger("appstats.sync")

LEASE_TABLE = "_lease"
#: A lease not renewed for this long is free for another run.
DEFAULT_LEASE_TTL_S = 15 * 60.0
#: How often a waiting run looks at the lease again.
POLL_S = 1.0

_SCHEMA: dict[str, Any] = {
    "run_id": pl.String,
    "host": pl.String,
    "pid": pl.Int64,
    "acquired_at": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
    "released": pl.Boolean,
}


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class LakeLease:
    """The lease of ``store``'s lake for the run ``store.run_id``.

    Examples:
        >>> import appstats.sync as s, tempfile
        >>> lake = tempfile.mkdtemp()
        >>> with s.LakeLease(s.DeltaStore(lake)) as first:
        ...     try:
        ...         s.LakeLease(s.DeltaStore(lake)).acquire()
        ...     except s.LakeBusy as e:
        ...         print("busy:", "held by run" in str(e))
        busy: True
        >>> with s.LakeLease(s.DeltaStore(lake)):  # released: free again
        ...     pass
    """

    def __init__(
        self, store: DeltaStore, *, ttl: float = DEFAULT_LEASE_TTL_S, wait: float = 0.0
    ) -> None:
        if not ttl > 0:
            raise LakeError(f"lease_ttl must be positive, got {ttl!r}")
        if not wait >= 0:
            raise LakeError(f"lease_wait must be zero or more, got {wait!r}")
        self.store = store
        self.ttl = float(ttl)
        self.wait = float(wait)
        self.uri = store.table_uri(LEASE_TABLE)
        self._version: int | None = None  # the table version of our row
        self._held = False
        self._lost: BaseException | None = None
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LakeLease({self.store.uri!r}, held={self._held})"

    # -- reading -----------------------------------------------------------------

    def _table(self) -> Any | None:
        dl = self.store.dl
        try:
            if not dl.DeltaTable.is_deltatable(self.uri, self.store.options):
                return None
            return dl.DeltaTable(self.uri, storage_options=self.store.options)
        except Exception as e:
            raise LakeError(self.store.describe(e, "reading the lease")) from None

    def _holder(self, table: Any) -> dict[str, Any] | None:
        # Polars' own Delta reader (Rust), as of the table's version: no
        # pyarrow dataset, whose C++ thread pool could still be starting
        # when a busy run exits at once
        rows = pl.read_delta(
            self.uri, version=int(table.version()), storage_options=self.store.options
        )
        if rows.is_empty():
            return None
        return rows.sort("acquired_at").row(-1, named=True)

    # -- writing -----------------------------------------------------------------

    def _row(self, acquired_at: _dt.datetime) -> Any:
        now = _now()
        return pl.DataFrame(
            [
                {
                    "run_id": self.store.run_id,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "acquired_at": acquired_at,
                    "expires_at": now + _dt.timedelta(seconds=self.ttl),
                    "released": False,
                }
            ],
            schema=_SCHEMA,
            orient="row",
        ).to_arrow()

    def _swap(self, table: Any | None, row: Any) -> bool:
        """Overwrite the lease as of ``table``'s version (create it when
        ``table`` is None); False when another run committed first."""
        dl = self.store.dl
        try:
            # never retried: a retried create would append a second holder
            once = self.store.once()
            if table is None:
                dl.write_deltalake(
                    self.uri,
                    row,
                    mode="error",
                    storage_options=self.store.options,
                    commit_properties=once,
                )
            else:
                dl.write_deltalake(table, row, mode="overwrite", commit_properties=once)
        except Exception as e:
            if _is_conflict(e):
                return False
            raise LakeError(self.store.describe(e, "taking the lease")) from None
        after = self._table()
        if after is None:  # pragma: no cover - the table was just written
            return False
        holder = self._holder(after)
        if holder is None or holder["run_id"] != self.store.run_id:
            return False
        self._version = int(after.version())
        return True

    def _try(self) -> dict[str, Any] | None:
        """Take the lease if it is free: None, else who holds it."""
        table = self._table()
        holder = None if table is None else self._holder(table)
        if holder is not None and not holder["released"]:
            dead = _dead_here(holder)
            if holder["expires_at"] > _now() and not dead:
                return holder
            log.warning(
                "the lake's lease of run %s (%s, pid %s) %s: taking it over",
                holder["run_id"],
                holder["host"],
                holder["pid"],
                "is held by a process that no longer exists"
                if dead
                else f"expired at {holder['expires_at']}",
            )
        if self._swap(table, self._row(_now())):
            return None
        table = self._table()
        return (None if table is None else self._holder(table)) or {
            "run_id": "?",
            "host": "?",
            "pid": 0,
            "expires_at": _now(),
        }

    def acquire(self) -> None:
        """Take the lease (waiting up to ``wait`` seconds), or raise
        :class:`~appstats.LakeBusy` naming the run that holds it."""
        deadline = time.monotonic() + self.wait
        while True:
            holder = self._try()
            if holder is None:
                break
            if time.monotonic() >= deadline:
                raise LakeBusy(
                    f"lake {self.store.uri!r} is held by run {holder['run_id']} "
                    f"({holder['host']}, pid {holder['pid']}) until "
                    f"{holder['expires_at']:%Y-%m-%d %H:%M:%S} UTC unless renewed; "
                    "another sync is writing it (wait for it, or pass lease_wait / "
                    "--lease-wait SECONDS)"
                )
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        self._held = True
        self._lost = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._keep, name="appstats-lease", daemon=True)
        self._thread.start()
        log.info("took the lease of %s (run %s)", self.store.uri, self.store.run_id)

    def _keep(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.renew()
            except BaseException as e:  # recorded: the next commit stops
                self._lost = e
                log.error("the lake's lease was lost: %s", e)
                return

    def renew(self) -> None:
        """Extend the lease by ``ttl`` from now (compare-and-swap)."""
        with self._mutex:
            if not self._held:
                raise LakeBusy(f"lake {self.store.uri!r}: this run holds no lease")
            table = self._table()
            holder = None if table is None else self._holder(table)
            if (
                table is None
                or holder is None
                or holder["run_id"] != self.store.run_id
                or int(table.version()) != self._version
                or not self._swap(table, self._row(holder["acquired_at"]))
            ):
                self._held = False
                raise LakeBusy(
                    f"lake {self.store.uri!r}: this run's lease expired and was taken "
                    "over by another run; stopping before it writes anything more"
                )

    def check(self) -> None:
        """Raise unless this run still holds the lease (before each commit)."""
        if self._lost is not None:
            raise LakeBusy(str(self._lost)) from None
        if not self._held:
            raise LakeBusy(f"lake {self.store.uri!r}: this run holds no lease")

    def release(self) -> None:
        """Give the lease up (the next run needs not wait for it to expire)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._mutex:
            if not self._held:
                return
            self._held = False
            table = self._table()
            holder = None if table is None else self._holder(table)
            if table is None or holder is None or holder["run_id"] != self.store.run_id:
                return
            row = pl.from_arrow(self._row(holder["acquired_at"]))
            assert isinstance(row, pl.DataFrame)
            done = row.with_columns(
                pl.lit(True).alias("released"), pl.lit(_now()).alias("expires_at")
            )
            try:
                self.store.dl.write_deltalake(table, done.to_arrow(), mode="overwrite")
            except Exception as e:  # it expires on its own
                log.warning("could not release the lake's lease (it expires): %s", e)

    def __enter__(self) -> LakeLease:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _dead_here(holder: dict[str, Any]) -> bool:
    """Whether the holder ran on this machine and its process is gone (a
    killed run: its lease is free at once rather than after the TTL)."""
    if holder["host"] != socket.gethostname() or not holder["pid"]:
        return False
    pid = int(holder["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _is_conflict(e: BaseException) -> bool:
    """A lost race of Delta commits (the other run committed first)."""
    name = type(e).__name__
    text = str(e).lower()
    return (
        name in {"CommitFailedError", "DeltaProtocolError"}
        or "already exists" in text
        or "conflict" in text
        or "concurrent" in text
        or "version" in text
        and "exists" in text
    )
