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
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowc.dsl.program import Program, Template

    from ..stores.base import Store

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


def linking_unsubscribe(program: Program) -> str | None:
    """What in `program` renders `{{unsubscribe_url}}`, named for a message
    (`step 2 "Bump" of sequence "Demo"`, `the footer of user alice`), or
    None."""
    from flowc.dsl.program import EmailStep

    from ..evaluate import render
    from .mail import UNSUBSCRIBE_TOKEN

    def links(template: Template | None) -> bool:
        return template is not None and UNSUBSCRIBE_TOKEN in (render(template, {}, {}, {}) or "")

    for seq in program.sequences.values():
        for number, step in enumerate(seq.steps, 1):
            if isinstance(step, EmailStep) and (links(step.body) or links(seq.footer_template)):
                return f'step {number} "{step.name}" of sequence "{seq.name}"'
    for user in program.users.values():
        if links(user.footer_template):
            return f"the footer of user {user.name}"
    return None


def check_link_target(program: Program, unsubscribe: Callable[[str], str] | None) -> None:
    """Only sending makes the link: a program that renders it, delivered
    with no public URL to point it at (`unsubscribe` None), is refused
    (raises flowc.dsl.UsageError naming the step)."""
    where = linking_unsubscribe(program) if unsubscribe is None else None
    if where is not None:
        from flowc.dsl import UsageError

        raise UsageError(
            f"{where} links {{{{unsubscribe_url}}}}: set --public-url (or public_url under [serve] in "
            "flow.toml) for the link to point at"
        )


def check_outbox_links(store: Store) -> None:
    """`flowc deliver` with no public URL: refused when a message waiting in
    the outbox links {{unsubscribe_url}} (raises flowc.dsl.UsageError)."""
    from .mail import UNSUBSCRIBE_TOKEN

    with store.transaction():
        waiting = store.outbox("pending")
    linking = next((m for m in waiting if UNSUBSCRIBE_TOKEN in m.body), None)
    if linking is not None:
        from flowc.dsl import UsageError

        raise UsageError(
            f"outbox message {linking.id} links {{{{unsubscribe_url}}}}: set --public-url (or "
            "public_url under [serve] in flow.toml) for the link to point at"
        )
