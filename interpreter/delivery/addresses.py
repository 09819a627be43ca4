"""Email addresses checked as RFC 5321 mailboxes (`local@domain`, the
domain as IDNA), by `email-validator`, syntax only: nothing here looks a
domain up. A contact, a send-from address and an alias are all checked
here (docs/delivery.md, "Addresses")."""
from __future__ import annotations

from functools import lru_cache

import email_validator

#: RFC 5321's limit on a local part, in octets.
MAX_LOCAL = 64


@lru_cache(maxsize=4096)
def _checked(address: str) -> tuple[str, str] | str:
    """(local part, ASCII domain), or the reason `address` is not a mailbox.
    Cached: a contact's events come again and again."""
    try:
        result = email_validator.validate_email(address, check_deliverability=False, globally_deliverable=False)
    except email_validator.EmailNotValidError as e:
        return str(e)
    if len(result.local_part.encode("utf-8")) > MAX_LOCAL:
        return f"The part before the @-sign is longer than {MAX_LOCAL} bytes."
    return result.local_part, result.ascii_domain


def mailbox_problem(address: str) -> str | None:
    """Why `address` is not a deliverable mailbox, or None when it is."""
    checked = _checked(address)
    return checked if isinstance(checked, str) else None


def mailbox(address: str) -> tuple[str, str]:
    """The local part and the ASCII (IDNA) domain of a mailbox; ValueError
    when `address` is not one."""
    checked = _checked(address)
    if isinstance(checked, str):
        raise ValueError(f"{address!r} is not an email address: {checked}")
    return checked
