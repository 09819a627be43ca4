"""The addresses of an SMTP envelope (MAIL FROM, RCPT TO), written from the
address as it is, never parsed and rewritten the way smtplib's quoteaddr
does (`x:victim@p.example` became `victim@p.example`).

The one change made is the one SMTP needs: a domain in Unicode goes as its
IDNA A-label (`bücher.example` -> `xn--bcher-kva.example`). A local part
that is not ASCII needs the server's SMTPUTF8."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email


@dataclass(frozen=True)
class EnvelopeAddress:
    address: str
    #: The local part is not ASCII: the server must offer SMTPUTF8.
    needs_utf8: bool


def envelope_address(address: str) -> EnvelopeAddress:
    """`address` as the envelope carries it; ValueError (with the reason)
    when it is not a mailbox an envelope can carry."""
    if any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise ValueError(f"{address!r} has a control character")
    try:
        # The event rules decide which addresses Flow accepts (special-use
        # domains included, for tests); here only the syntax matters.
        checked = validate_email(
            address,
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=True,
            allow_smtputf8=True,
            allow_quoted_local=True,
            allow_domain_literal=True,
        )
    except EmailNotValidError as e:
        raise ValueError(f"{address!r} is not an address: {e}") from None
    local, domain = address.rsplit("@", 1)
    if not domain.isascii():
        domain = checked.ascii_domain
    return EnvelopeAddress(f"{local}@{domain}", needs_utf8=not local.isascii())
