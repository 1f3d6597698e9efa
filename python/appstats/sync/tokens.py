"""The token store: Baidu programs' single-use refresh tokens, kept safe.

A program authorised to a third-party platform gets its access token (one
hour) from a refresh token that Baidu invalidates on use (valid 10 years,
"使用后失效"): every refresh returns the next refresh token, and losing it
means asking the program's owner to authorise the platform again. So:

* the store is one JSON file, mode 0600, and a write is complete or absent:
  the new state goes to a temporary file in the same folder, every byte of
  it (a short write is continued; ``EFBIG`` from a file-size limit or
  ``ENOSPC`` from a full disk fails the write), its size and content are
  read back and checked, it is ``fsync``-ed, renamed over the store, and the
  folder is ``fsync``-ed. A write that fails leaves the store as it was and
  raises :class:`TokenStoreError`; a crash leaves the old or the new file,
  never a torn one;
* the last good state is kept as ``<path>.bak`` (0600): before the store is
  replaced, the file it replaces becomes the backup (a hard link: no bytes
  to write). A store that cannot be read is refused with an error that
  names the backup, what it holds and how to restore it;
* before a refresh is sent, the store records that it is *pending*
  (write-ahead) and reserves the disk space its result will need (a
  preallocated temporary file); if either fails, the refresh is not sent
  and nothing is spent. When it succeeds, the new refresh token and access
  token are written into the reserved space *before* the access token is
  used (the Rust client calls the store's hook between the reply and the
  first use). If that write fails all the same, the client does not use the
  token: the program's tasks fail with an ``AuthError`` naming the store, the
  new tokens stay in memory and are written with the store's next change or
  when it closes (an error is logged, naming the programs, if even that
  fails);
* access tokens are cached with their expiry, so a run within the hour
  refreshes nothing;
* one sync at a time: the store holds an exclusive lock (``flock``) on
  ``<path>.lock`` while a run uses it — two runs must never spend the same
  refresh token.

Baidu documents no grace period for a used refresh token, so the one
window no client can close is a crash after Baidu rotated the token and
before the reply reached the disk (milliseconds). The pending record makes
that case visible: the next run tries the stored token, and if Baidu
refuses it, the error names the interrupted refresh and the remedy (a new
``auth_code`` from re-authorisation, which the store then picks up) instead
of a bare "invalid grant". The token values never appear in messages, logs
or tables.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import errno
import hashlib
import itertools
import json
import logging
import os
import pathlib
import shlex
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..errors import InvalidArgument

__all__ = ["TokenStore", "TokenStoreError"]

log = logging.getLogger("appstats.sync")

VERSION = 1
#: Use a cached access token only with at least this much life left.
MIN_TOKEN_LIFE_S = 600.0
#: Room reserved, beyond the store's size, for the result of one refresh
#: (a refresh token, an access token and two times are a few hundred
#: bytes), plus this much again for each other refresh in flight.
RESERVE_BYTES = 4096

_names = itertools.count()


class TokenStoreError(InvalidArgument):
    """The token store cannot be read, written or locked."""


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _why(e: OSError) -> str:
    return e.strerror or str(e)


def _put(fd: int, data: bytes) -> None:
    """Write all of ``data`` at the file's offset: ``os.write`` may write
    less than asked (a file-size limit, a full disk, a signal); continue
    until every byte is written or the system refuses (``OSError``)."""
    view = memoryview(data)
    done = 0
    while done < len(data):
        n = os.write(fd, view[done:])
        if n <= 0:  # pragma: no cover - POSIX reports an error instead
            raise OSError(errno.EIO, "the file accepted no more bytes")
        done += n


def _parse(raw: bytes) -> dict[str, Any]:
    """A store's content, or ``ValueError`` saying why it is not one."""
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("apps"), dict):
        raise ValueError("no apps")
    return data


class TokenStore:
    """Tokens of Baidu programs, by app name (use it as a context manager).

    Examples:
        >>> import appstats.sync as s, pathlib, tempfile, os
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "tokens.json"
        >>> with s.TokenStore(p) as store:
        ...     rt, kind = store.grant("shop", refresh_token="27.first", auth_code=None)
        ...     store.mark_seed("shop", rt)      # handed to the client: it will be spent
        ...     store.hook("shop")("granted", "26.access", 3600.0, "27.second")
        ...     store.grant("shop", refresh_token="27.first", auth_code=None)
        ('27.second', 'refresh_token')
        >>> oct(os.stat(p).st_mode & 0o777)
        '0o600'
        >>> oct(os.stat(str(p) + ".bak").st_mode & 0o777)   # the state before the last write
        '0o600'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        self.backup = self.path.with_name(self.path.name + ".bak")
        self._data: dict[str, Any] = {"version": VERSION, "apps": {}}
        self._lock = threading.Lock()
        self._lockfile: Any = None
        #: The store file's content when it was last read or written in
        #: full (only such a file becomes the backup).
        self._on_disk: bytes | None = None
        #: Space reserved for the result of each refresh in flight, by app.
        self._reserved: dict[str, pathlib.Path] = {}
        #: Apps whose new tokens are in memory only (their write failed).
        self._unsaved: set[str] = set()

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r}, apps={len(self._data['apps'])})"

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> TokenStore:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Lock the store for this process and read it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise TokenStoreError(f"token store {str(self.path)!r}: {_why(e)}") from None
        self._lockfile = os.fdopen(fd, "r+")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            log.warning("token store: no file locking on this platform; run one sync at a time")
        else:
            try:
                fcntl.flock(self._lockfile.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lockfile.close()
                self._lockfile = None
                raise TokenStoreError(
                    f"token store {str(self.path)!r} is in use by another sync; "
                    "two runs must not spend the same single-use refresh tokens"
                ) from None
        try:
            self._sweep()
            self._read()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Write tokens still only in memory, free reserved space, unlock."""
        with self._lock:
            if self._unsaved and self._lockfile is not None:
                try:
                    self._commit(self._data)
                except TokenStoreError as e:
                    log.error(
                        "%s; the new refresh tokens of %s are lost: re-authorise %s and set "
                        "%s auth_code in the config",
                        e,
                        ", ".join(sorted(self._unsaved)),
                        "it" if len(self._unsaved) == 1 else "them",
                        "its" if len(self._unsaved) == 1 else "their",
                    )
                else:
                    log.warning(
                        "token store %s: the new tokens of %s are stored now",
                        self.path,
                        ", ".join(sorted(self._unsaved)),
                    )
                self._unsaved.clear()
            for tmp in self._reserved.values():
                with contextlib.suppress(OSError):
                    tmp.unlink()
            self._reserved.clear()
        if self._lockfile is not None:
            self._lockfile.close()  # releases the flock
            self._lockfile = None

    def _sweep(self) -> None:
        """Remove temporary files a killed run left (the lock is held)."""
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _read(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            if self.backup.exists():
                raise TokenStoreError(
                    f"token store {str(self.path)!r} is missing, but its backup is not"
                    f"{self._backup_advice()}; to start afresh instead, delete the backup too"
                ) from None
            return
        except OSError as e:
            raise TokenStoreError(f"token store {str(self.path)!r}: {_why(e)}") from None
        try:
            data = _parse(raw)
        except ValueError:
            why = "empty" if not raw.strip() else "invalid JSON: truncated or damaged"
            raise TokenStoreError(
                f"token store {str(self.path)!r} is not a token store ({why})"
                f"{self._backup_advice()}"
            ) from None
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "token store %s is readable by others (mode %o); setting 0600", self.path, mode
            )
            os.chmod(self.path, 0o600)
        self._data = data
        self._on_disk = raw

    def _backup_advice(self) -> str:
        """What the backup holds and how to restore it (no token values)."""
        bak = str(self.backup)
        try:
            raw = self.backup.read_bytes()
            apps = _parse(raw)["apps"]
        except FileNotFoundError:
            return f"; there is no backup ({bak!r}): restore the file from a copy of your own"
        except (OSError, ValueError):
            return f"; its backup {bak!r} cannot be read either: restore a copy of your own"
        when = _dt.datetime.fromtimestamp(self.backup.stat().st_mtime, _dt.timezone.utc)
        pending = sorted(
            a for a, r in apps.items() if isinstance(r, dict) and r.get("pending_since")
        )
        note = (
            f" (a refresh of {', '.join(pending)} was in progress then: if Baidu refuses its "
            "token, re-authorise it and set its auth_code)"
            if pending
            else ""
        )
        cmd = f"cp -p {shlex.quote(bak)} {shlex.quote(str(self.path))}"
        return (
            f"; its last good state is in {bak!r} ({len(apps)} app"
            f"{'' if len(apps) == 1 else 's'}, saved {when:%Y-%m-%d %H:%M:%S} UTC{note}): "
            f"restore it with `{cmd}` and run again"
        )

    # -- writing -----------------------------------------------------------------

    def _tmp(self) -> pathlib.Path:
        return self.path.with_name(f".{self.path.name}.{os.getpid()}.{next(_names)}.tmp")

    def _reserve(self, size: int) -> pathlib.Path:
        """A temporary file of ``size`` bytes, written and synced: a later
        write of up to that size into it needs no new space."""
        tmp = self._tmp()
        try:
            fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _put(fd, bytes(size))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return tmp

    def _commit(self, data: dict[str, Any], into: pathlib.Path | None = None) -> None:
        """Replace the store with ``data``, complete or not at all (the file
        ``into``, reserved earlier, is reused when given)."""
        raw = json.dumps(data, indent=1, sort_keys=True).encode()
        tmp = into or self._tmp()
        try:
            flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if into is None else 0)
            fd = os.open(str(tmp), flags, 0o600)
            try:
                _put(fd, raw)
                os.ftruncate(fd, len(raw))
                os.fsync(fd)
                if os.fstat(fd).st_size != len(raw) or os.pread(fd, len(raw) + 1, 0) != raw:
                    raise OSError(errno.EIO, "the written file does not read back the same")
            finally:
                os.close(fd)
            self._keep_backup()
            os.replace(tmp, self.path)
            self._on_disk = raw
            with contextlib.suppress(OSError):  # not every platform can fsync a folder
                dfd = os.open(str(self.path.parent), os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise TokenStoreError(
                f"cannot write the token store {str(self.path)!r}: {_why(e)} "
                "(the store is unchanged)"
            ) from None

    def _keep_backup(self) -> None:
        """The store file, about to be replaced, becomes ``<path>.bak``: a
        hard link, or (where the file system has none) a copy written like
        the store itself. A backup that cannot be kept is a warning."""
        if self._on_disk is None:
            return  # nothing, or a file that was never read in full
        tmp = self.path.with_name(f".{self.path.name}.bak.{os.getpid()}.{next(_names)}.tmp")
        try:
            try:
                os.link(self.path, tmp)
            except FileNotFoundError:
                return
            except OSError:
                fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    _put(fd, self._on_disk)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.replace(tmp, self.backup)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("token store %s: cannot keep a backup (%s)", self.path, _why(e))

    # -- tokens ------------------------------------------------------------------

    def _app(self, app: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        apps: dict[str, dict[str, Any]] = (self._data if data is None else data)["apps"]
        return apps.setdefault(app, {})

    def _change(self, app: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """A copy of the state with ``change`` applied to ``app``'s record."""
        data = copy.deepcopy(self._data)
        change(self._app(app, data))
        return data

    def grant(
        self, app: str, *, refresh_token: str | None, auth_code: str | None
    ) -> tuple[str, str]:
        """What ``app`` should authenticate with: ``(value, kind)`` where
        kind is ``"refresh_token"`` or ``"auth_code"``.

        The config's values are starting points: a code or refresh token the
        store has not seen before (a new authorisation) wins; otherwise the
        newest refresh token the store holds.
        """
        with self._lock:
            rec = self._data["apps"].get(app, {})
            seeds = rec.get("seeds", [])
            for value, kind in ((auth_code, "auth_code"), (refresh_token, "refresh_token")):
                if value and _sha(value) not in seeds:
                    return value, kind
            if rec.get("refresh_token"):
                return str(rec["refresh_token"]), "refresh_token"
            value = auth_code or refresh_token
            if not value:
                raise TokenStoreError(f"{app}: no refresh token or authorisation code")
            return value, "auth_code" if auth_code else "refresh_token"

    def mark_seed(self, app: str, value: str) -> None:
        """Remember that a config value was handed to the client (it will
        be spent; the store's newer tokens win from now on)."""
        with self._lock:
            if _sha(value) in self._data["apps"].get(app, {}).get("seeds", []):
                return
            data = self._change(app, lambda rec: rec.setdefault("seeds", []).append(_sha(value)))
            self._commit(data)
            self._data = data
            self._unsaved.clear()

    def access_token(self, app: str) -> tuple[str, float] | None:
        """A cached access token with its remaining seconds, if it has at
        least ten minutes left (and is stored: one whose write failed is not
        handed out)."""
        with self._lock:
            if app in self._unsaved:
                return None
            rec = self._data["apps"].get(app, {})
            tok, exp = rec.get("access_token"), rec.get("access_expires_at")
            if not tok or not exp:
                return None
            left = _dt.datetime.fromisoformat(exp).timestamp() - _now().timestamp()
            return (str(tok), left) if left >= MIN_TOKEN_LIFE_S else None

    def pending(self, app: str) -> str | None:
        """When a refresh of ``app`` began without its result being stored
        (ISO time), if one did."""
        rec = self._data["apps"].get(app, {})
        p = rec.get("pending_since")
        return str(p) if p else None

    def hook(self, app: str) -> Callable[[str, str | None, float | None, str | None], None]:
        """The callback the Rust client calls on each token exchange of
        ``app``: ``("exchanging", ...)`` before, ``("granted", access,
        expires_in, refresh)`` after (stored before the token is used).

        It raises :class:`TokenStoreError` when the store cannot be written:
        before an exchange, the refresh is then not sent; after one, the
        client does not use the new token (the program's task fails)."""

        def on_token(
            event: str, access: str | None, expires_in: float | None, refresh: str | None
        ) -> None:
            with self._lock:
                now = _now()
                if event == "exchanging":
                    self._exchanging(app, now)
                elif event == "granted":

                    def granted(rec: dict[str, Any]) -> None:
                        if refresh:
                            rec["refresh_token"] = refresh
                        rec["access_token"] = access
                        rec["access_expires_at"] = (
                            (now + _dt.timedelta(seconds=expires_in)).isoformat()
                            if expires_in
                            else None
                        )
                        rec.pop("pending_since", None)
                        rec["updated_at"] = now.isoformat()

                    data = self._change(app, granted)
                    try:
                        self._commit(data, into=self._reserved.pop(app, None))
                    except TokenStoreError:
                        # Baidu has spent the old refresh token: the new one
                        # lives on in memory, written with the next change
                        # or at close
                        self._data = data
                        self._unsaved.add(app)
                        raise
                    self._data = data
                    self._unsaved.clear()
                else:
                    raise ValueError(f"unknown token event {event!r}")

        return on_token

    def _exchanging(self, app: str, now: _dt.datetime) -> None:
        """Mark ``app``'s refresh as pending and reserve the room for its
        result, or raise (and then nothing changed: the refresh must not be
        sent)."""
        data = self._change(app, lambda rec: rec.__setitem__("pending_since", now.isoformat()))
        old = self._reserved.pop(app, None)
        if old is not None:  # an exchange that ended without a result
            with contextlib.suppress(OSError):
                old.unlink()
        size = len(json.dumps(data, indent=1, sort_keys=True)) + RESERVE_BYTES * (
            1 + len(self._reserved)
        )
        try:
            room = self._reserve(size)
        except OSError as e:
            raise TokenStoreError(
                f"cannot write the token store {str(self.path)!r}: {_why(e)} (no room for "
                "the result of a refresh; the refresh was not sent and the store is unchanged)"
            ) from None
        try:
            self._commit(data)
        except TokenStoreError:
            with contextlib.suppress(OSError):
                room.unlink()
            raise
        self._reserved[app] = room
        self._data = data
        self._unsaved.clear()

    def apps(self) -> list[str]:
        """Apps with tokens in the store."""
        return sorted(self._data["apps"])
