"""An inbox read over IMAP with imapclient (docs/decisions.md says why):
folders opened read-only (EXAMINE) and messages fetched with BODY.PEEK,
so that the mailbox never changes; at most MAX_BYTES of each message;
every network wait under the inbox's `timeout`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from .message import MAX_BYTES
from .reader import Fetched

#: UIDs fetched per command: a batch is committed message by message, so a
#: crash loses at most the fetching of one batch.
BATCH = 100
_BODY = f"BODY.PEEK[]<0.{MAX_BYTES + 1}>"

_Args = ParamSpec("_Args")
_Result = TypeVar("_Result")


class ImapError(Exception):
    """An inbox that cannot be read now: the reason, never a password."""


@dataclass(frozen=True)
class ImapSettings:
    """`[inboxes."ADDR".imap]` of flow.toml (flowc/flow_toml.py checks it)."""

    inbox: str
    host: str
    port: int
    security: str  # tls | starttls | none
    username: str
    password_env: str
    folders: tuple[str, ...] = ("INBOX",)
    poll_seconds: float = 60
    ca_file: str | None = None
    timeout: float = 30


def _context(settings: ImapSettings) -> ssl.SSLContext:
    # Verified against the system's CAs, and `ca_file` too when given.
    return ssl.create_default_context(cafile=settings.ca_file)


class ImapConnection:
    """One logged-in connection to an inbox's server."""

    def __init__(self, settings: ImapSettings, environ: Mapping[str, str] | None = None) -> None:
        from imapclient import IMAPClient  # type: ignore[import-untyped]  # imapclient ships no types
        from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]

        self.settings = s = settings
        password = (os.environ if environ is None else environ).get(s.password_env)
        if not password:
            raise ImapError(f"the environment variable {s.password_env} (password_env) is not set")
        try:
            self.client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "tls",
                ssl_context=_context(s) if s.security == "tls" else None,
                timeout=s.timeout,
            )
        except (OSError, IMAPClientError) as e:
            raise ImapError(f"cannot connect to {s.host}:{s.port}: {_why(e)}") from None
        # INTERNALDATE with its offset, not turned into this machine's local time without one.
        self.client.normalise_times = False
        try:
            if s.security == "starttls":
                self.client.starttls(_context(s))
            self.client.login(s.username, password)
        except LoginError:
            self.close()
            raise ImapError(f"{s.host}:{s.port} refused the login of {s.username}") from None
        except (OSError, IMAPClientError) as e:
            self.close()
            raise ImapError(f"{s.host}:{s.port}: {_why(e)}") from None
        self.idle = b"IDLE" in self.client.capabilities()

    def folder(self, name: str) -> int:
        """Open `name` read-only; its UIDVALIDITY."""
        info = self._call(self.client.select_folder, name, readonly=True)
        return int(info[b"UIDVALIDITY"])

    def messages(self, folder: str, uidvalidity: int, after: int) -> Iterator[list[Fetched]]:
        """The messages of the open folder with a UID above `after`, in UID
        order, in batches of BATCH."""
        uids = sorted(u for u in self._call(self.client.search, ["UID", f"{after + 1}:*"]) if u > after)
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            data = self._call(self.client.fetch, batch, [_BODY, "INTERNALDATE"])
            out: list[Fetched] = []
            for uid in batch:
                row = data.get(uid)
                if row is None:  # expunged meanwhile
                    continue
                raw = next((v for k, v in row.items() if k.startswith(b"BODY[]")), None) or b""
                received = row.get(b"INTERNALDATE") or dt.datetime.now(dt.UTC)
                out.append(Fetched(folder, uidvalidity, uid, received, raw))
            yield out

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for new mail in the open folder with IDLE;
        True when the server said something arrived. Without IDLE, False
        at once (the caller polls)."""
        if not self.idle:
            return False
        self._call(self.client.idle)
        try:
            responses = self._call(self.client.idle_check, timeout=seconds)
        finally:
            self._call(self.client.idle_done)
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def _call(self, fn: Callable[_Args, _Result], *args: _Args.args, **kwargs: _Args.kwargs) -> _Result:
        from imapclient.exceptions import IMAPClientError

        try:
            return fn(*args, **kwargs)
        except (TimeoutError, OSError, IMAPClientError) as e:
            raise ImapError(f"{self.settings.host}:{self.settings.port}: {_why(e)}") from None

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # already gone: closing is all that is left
            with contextlib.suppress(Exception):
                self.client.shutdown()


def _why(error: Exception) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
