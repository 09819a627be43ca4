"""Email addresses checked as RFC 5321 mailboxes (`local@domain`, the
domain as IDNA), by `email-validator`, syntax only: nothing here looks a
domain up. A contact, a send-from address and an alias are all checked
here (docs/delivery.md, "Addresses")."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowc.dsl.program import Program

#: RFC 5321's limit on a local part, in octets.
MAX_LOCAL = 64


@lru_cache(maxsize=16384)
def _checked(address: str) -> tuple[str, str] | str:
    """(local part, ASCII domain), or the reason `address` is not a mailbox.
    Cached: a contact's events come again and again. (The library is
    imported here: commands that check no address do not load it.)"""
    import email_validator

    try:
        result = email_validator.validate_email(address, check_deliverability=False, globally_deliverable=False)
    except email_validator.EmailNotValidError as e:
        reason = str(e).rstrip(".")
        return reason[:1].lower() + reason[1:]
    if len(result.local_part.encode("utf-8")) > MAX_LOCAL:
        return f"the part before the @-sign is longer than {MAX_LOCAL} bytes"
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


def check_senders(program: Program) -> None:
    """Refuse to run a program one of whose users sends from an address that
    is not a mailbox (its inbox or an alias). Done where a program is loaded
    for running, not by `flowc check`: the checker imports no mail library.
    Raises flowc.dsl.UsageError naming the user."""
    from flowc.dsl import UsageError

    for user in program.users.values():
        for address in filter(None, (user.inbox, *user.aliases)):
            problem = mailbox_problem(address)
            if problem is not None:
                raise UsageError(f"user {user.name} sends from {address!r}, which is not an email address: {problem}")
