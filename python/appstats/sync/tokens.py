"""The token store: Baidu programs' single-use refresh tokens, kept safe.

A program authorised to a third-party platform gets its access token (one
hour) from a refresh token that Baidu invalidates on use (valid 10 years,
"使用后失效"): every refresh returns the next refresh token, and losing it
means asking the program's owner to authorise the platform again. So:

* the store is one JSON file, mode 0600, written atomically (a temporary
  file in the same folder, ``fsync``, ``rename``, ``fsync`` of the folder):
  a crash leaves the old or the new file, never a torn one;
* before a refresh is sent, the store records that it is *pending*
  (write-ahead); when it succeeds, the new refresh token and access token
  are stored *before* the access token is used (the Rust client calls the
  store's hook between the reply and the first use);
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
import datetime as _dt
import hashlib
import json
import logging
import os
import pathlib
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


class TokenStoreError(InvalidArgument):
    """The token store cannot be read, written or locked."""


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


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
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        self._data: dict[str, Any] = {"version": VERSION, "apps": {}}
        self._lock = threading.Lock()
        self._lockfile: Any = None

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
            raise TokenStoreError(f"token store {str(self.path)!r}: {e.strerror}") from None
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
        self._read()

    def close(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()  # releases the flock
            self._lockfile = None

    def _read(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as e:
            raise TokenStoreError(f"token store {str(self.path)!r}: {e.strerror}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("apps"), dict):
                raise ValueError("no apps")
        except ValueError:
            raise TokenStoreError(
                f"token store {str(self.path)!r} is not a token store "
                "(invalid JSON); restore it from a backup"
            ) from None
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning(
                "token store %s is readable by others (mode %o); setting 0600", self.path, mode
            )
            os.chmod(self.path, 0o600)
        self._data = data

    def _write(self) -> None:
        """Atomically replace the file: temp + fsync + rename + fsync dir."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        text = json.dumps(self._data, indent=1, sort_keys=True)
        try:
            fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
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
                f"cannot write the token store {str(self.path)!r}: {e.strerror}"
            ) from None

    # -- tokens ------------------------------------------------------------------

    def _app(self, app: str) -> dict[str, Any]:
        apps: dict[str, dict[str, Any]] = self._data["apps"]
        return apps.setdefault(app, {})

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
            rec = self._app(app)
            seeds = rec.setdefault("seeds", [])
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
            seeds = self._app(app).setdefault("seeds", [])
            if _sha(value) not in seeds:
                seeds.append(_sha(value))
                self._write()

    def access_token(self, app: str) -> tuple[str, float] | None:
        """A cached access token with its remaining seconds, if it has at
        least ten minutes left."""
        with self._lock:
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
        expires_in, refresh)`` after (stored before the token is used)."""

        def on_token(
            event: str, access: str | None, expires_in: float | None, refresh: str | None
        ) -> None:
            with self._lock:
                rec = self._app(app)
                now = _now()
                if event == "exchanging":
                    rec["pending_since"] = now.isoformat()
                elif event == "granted":
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
                else:
                    raise ValueError(f"unknown token event {event!r}")
                self._write()

        return on_token

    def apps(self) -> list[str]:
        """Apps with tokens in the store."""
        return sorted(self._data["apps"])
