"""What every message Flow builds must be, checked on its bytes: readable by
Python's strict parser, within the line limits of RFC 5322, 2045 and 2047,
and one header per header however its values decode. And SpamAssassin,
offline, as a mail filter sees it."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess

#: An RFC 2047 encoded word.
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
#: Headers kept on one line whatever their length (a URL must stay whole).
UNFOLDED = (b"list-unsubscribe:",)


def problems(data: bytes) -> list[str]:
    """What is wrong with one message's bytes (CRLF or LF line ends)."""
    found = []
    head, sep, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    if not sep:
        return ["no blank line after the headers"]
    lines = head.split(b"\n")
    for line in lines:
        # Folded at 78 where the syntax allows: a longer line must hold a
        # word too long for any line (a 90-letter name), or be a URL kept whole.
        foldable = max(map(len, line.split()), default=0) < 70
        if len(line) > 998 or (len(line) > 78 and foldable and not line.lower().startswith(UNFOLDED)):
            found.append(f"header line of {len(line)} characters: {line[:60]!r}")
        if re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", line):
            found.append(f"control character in a header line: {line[:60]!r}")
        if not line[:1].isspace() and not re.match(rb"[!-9;-~]+:", line):
            found.append(f"a line that is neither a header nor a fold: {line[:60]!r}")
        for word in ENCODED_WORD.findall(line):
            if len(word) > 75:
                found.append(f"encoded word of {len(word)} characters")
    parsed = email.message_from_bytes(data, policy=email.policy.strict)  # raises on a defect
    for name, value in parsed.items():
        if re.search(r"[\x00\r\n]", str(value)):
            found.append(f"{name} decodes to a line break or NUL: {str(value)[:60]!r}")
    names = [name.lower() for name in parsed]
    for once in ("from", "to", "subject", "date", "message-id", "content-type", "reply-to", "bcc"):
        if names.count(once) > 1:
            found.append(f"{once} appears {names.count(once)} times")
    if "reply-to" in names or "bcc" in names:
        found.append("a Reply-To or Bcc header nobody wrote")
    limit = 76 if parsed["Content-Transfer-Encoding"] in ("base64", "quoted-printable") else 998
    longest = max((len(line) for line in body.split(b"\n")), default=0)
    if longest > limit:
        found.append(f"{parsed['Content-Transfer-Encoding']} body line of {longest} characters (limit {limit})")
    if parsed.get_content_type() != "text/plain" or parsed.is_multipart():
        found.append(f"not a plain-text message: {parsed.get_content_type()}")
    return found


def spamassassin(messages: list[bytes], home) -> list[tuple[float, list[str]]]:
    """(score, rules that fired) for each message, by Debian's SpamAssassin
    with network tests off (-L) and no Bayes, its state kept in `home`."""
    mbox = b"".join(
        b"From flow@localhost Thu Jan  1 00:00:00 2026\n" + m.replace(b"\r\n", b"\n") + b"\n" for m in messages
    )
    done = subprocess.run(
        [shutil.which("spamassassin"), "-L", "-t", "--mbox", "--cf", "use_bayes 0"],
        input=mbox,
        capture_output=True,
        timeout=300,
        env={**os.environ, "HOME": str(home)},
        check=True,
    )
    statuses = re.findall(rb"^X-Spam-Status: (.*(?:\n[ \t].*)*)", done.stdout, re.M)
    results = []
    for status in statuses:
        text = " ".join(status.decode().split())
        score = float(re.search(r"score=(-?[\d.]+)", text).group(1))
        tests = re.search(r"tests=(\S*)", text).group(1)
        results.append((score, [t for t in tests.split(",") if t and t != "none"]))
    assert len(results) == len(messages), done.stderr.decode()[-2000:]
    return results
