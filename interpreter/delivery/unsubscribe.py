"""One-click unsubscribe tokens (RFC 8058): what a `List-Unsubscribe` URL
carries, and what `flowc serve` checks when it is followed.

A token is the contact's address and an HMAC-SHA256 of it under the
service's secret, both base64url: the service learns whom to unsubscribe from
the token alone, and nobody without the secret can make a token for someone
else. Tokens do not expire: a message may be read months after it was sent."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

#: Longer tokens are not read (an address is at most 254 characters).
MAX_TOKEN = 1024
_PURPOSE = b"flowc unsubscribe\0"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, address: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + address, hashlib.sha256).digest()


def make_token(secret: bytes, contact: str) -> str:
    address = contact.lower().encode("utf-8")
    return f"{_b64(address)}.{_b64(_mac(secret, address))}"


def read_token(secret: bytes, token: str) -> str | None:
    """The contact a token was made for, or None if it is not one of ours."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    address_part, mac_part = token.split(".")
    try:
        address, mac = _unb64(address_part), _unb64(mac_part)
    except (ValueError, binascii.Error):
        return None
    if not hmac.compare_digest(mac, _mac(secret, address)):
        return None
    try:
        return address.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unsubscribe_url(public_url: str, secret: bytes, contact: str) -> str:
    """The one-click URL for `contact` on a service reached at `public_url`."""
    return f"{public_url.rstrip('/')}/unsubscribe?c={make_token(secret, contact)}"
