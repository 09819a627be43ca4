"""Who may call the service: signed webhooks, bearer tokens for reads.

A writer signs each request as Stripe and GitHub sign their webhooks:
`Flow-Timestamp: <unix seconds>` and `Flow-Signature: sha256=<hex>`, the hex
HMAC-SHA256 of `"<timestamp>.<raw body>"` under the shared secret. A
signature is accepted once, within five minutes of its timestamp: an older
one is expired, a repeated one replayed. Reasons given to the caller never
contain the expected value."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict

#: How far a request's timestamp may be from the service's clock, seconds.
WINDOW = 300
#: Signatures remembered to refuse replays (each for WINDOW seconds); past
#: this many, the oldest are forgotten early — they are then expired anyway
#: unless the service takes more than this many requests in five minutes.
REMEMBERED = 200_000
_PREFIX = "sha256="
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


class Malformed(str):
    """A refusal because a header is not of its form (400, not 401)."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `Flow-Signature` value for a request."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


class Verifier:
    """Checks signatures and bearer tokens; remembers signatures seen."""

    def __init__(self, secret: bytes | None, token: str | None, now=time.time):
        self.secret = secret
        self.token = token
        self._now = now
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def check_signature(self, timestamp: str | None, sig: str | None, body: bytes, once: bool = True) -> str | None:
        """None when the request is signed and fresh; otherwise the reason.
        `once`: refuse a signature seen before (writes; reads may repeat)."""
        reason = self.check_headers(timestamp, sig)
        if reason or self.secret is None or timestamp is None or sig is None:
            return reason
        now = self._now()
        if not hmac.compare_digest(sig.encode("ascii"), signature(self.secret, timestamp, body).encode("ascii")):
            return "signature does not match"
        if not once:
            return None
        with self._lock:
            self._forget(now)
            if sig in self._seen:
                return "this signed request was already received (replay)"
            self._seen[sig] = now + WINDOW
            if len(self._seen) > REMEMBERED:
                self._seen.popitem(last=False)
        return None

    def forget(self, sig: str | None) -> None:
        """Take a signature as not seen: its request was answered 503 (the
        store failed), so the client may send it again as it was."""
        if sig is None:
            return
        with self._lock:
            self._seen.pop(sig, None)

    def check_headers(self, timestamp: str | None, sig: str | None) -> str | None:
        """The headers' form and the timestamp's window, which need no body:
        a request that fails here is refused before its body is read."""
        if self.secret is None:
            return None  # --insecure on loopback: nothing to check against
        if not timestamp or not sig:
            return "missing Flow-Timestamp or Flow-Signature header"
        # isdigit() alone takes superscripts and other digits int() refuses.
        if len(timestamp) > 20 or not (timestamp.isascii() and timestamp.isdigit()):
            return Malformed("Flow-Timestamp must be whole Unix seconds")
        if abs(self._now() - int(timestamp)) > WINDOW:
            return "Flow-Timestamp is more than 5 minutes from the service's clock"
        if not _SIGNATURE.fullmatch(sig):
            return Malformed("Flow-Signature must be sha256= and 64 lowercase hex digits")
        return None

    def check_read(self, authorization: str | None, timestamp: str | None, sig: str | None) -> str | None:
        """Reads take a bearer token, or a signature over an empty body."""
        if self.token and authorization and authorization.startswith("Bearer "):
            given = authorization[len("Bearer ") :].encode("utf-8", "replace")
            if hmac.compare_digest(given, self.token.encode("utf-8")):
                return None
            return "bearer token does not match"
        return self.check_signature(timestamp, sig, b"", once=False)

    def _forget(self, now: float) -> None:
        while self._seen:
            sig, until = next(iter(self._seen.items()))
            if until >= now:
                break
            del self._seen[sig]
