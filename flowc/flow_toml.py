"""`flow.toml`: what a running Flow needs that does not belong in scripts
(scripts are shared code; credentials are secrets): each inbox's SMTP
server, and the public URL and secret of the service.

    [inboxes."alice@x"]
    host = "smtp.example.com"
    port = 587
    security = "starttls"        # or "tls", or "none" (only for a server on this machine)
    username = "alice@x"         # optional: no username, no login
    password_env = "ALICE_SMTP_PASSWORD"   # the name of a variable, never the secret
    timeout = 30                 # seconds, per wait for the server (a message: 4x at most)
    connections = 1              # connections kept open to this server at once
    ca_file = "/etc/ssl/our-ca.pem"        # optional: trust this CA too

    [inboxes."alice@x".imap]     # optional: read replies and bounces (docs/inbox.md)
    host = "imap.example.com"
    security = "tls"             # or "starttls" (port 143), or "none" (only on this machine)
    username = "alice@x"
    password_env = "ALICE_IMAP_PASSWORD"
    folders = ["INBOX"]
    poll_seconds = 60            # without IDLE, or with several folders

    [serve]
    public_url = "https://flow.example.com"
    secret_env = "FLOWC_SECRET"  # the variable holding the service secret

The file is hostile input like any other: bounded, every key and type
checked, and an error names the key, never a value (a value might be a
secret pasted in the wrong place)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field

from flowc.dsl import UsageError
from flowc.interpreter.delivery.transports import InboxSettings
from flowc.interpreter.inbox.imap import ImapSettings

DEFAULT_PATH = "flow.toml"
MAX_BYTES = 256 * 1024
MAX_INBOXES = 10_000
DEFAULT_SECRET_ENV = "FLOWC_SECRET"
#: `security = "none"` sends in the clear: only to a server on this machine.
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*")
_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,253}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_INBOX_KEYS = {"host", "port", "security", "username", "password_env", "timeout", "connections", "ca_file"}
_SERVE_KEYS = {"public_url", "secret_env"}
_IMAP_KEYS = {"host", "port", "security", "username", "password_env", "folders", "poll_seconds", "ca_file", "timeout"}
#: The most folders read per inbox, and the longest folder name.
MAX_FOLDERS = 20


@dataclass(frozen=True)
class FlowConfig:
    path: str | None = None
    inboxes: dict[str, InboxSettings] = field(default_factory=dict)
    #: The inboxes read by `flowc watch`, by address.
    imap: dict[str, ImapSettings] = field(default_factory=dict)
    public_url: str | None = None
    secret_env: str = DEFAULT_SECRET_ENV

    def secret(self, environ=None) -> bytes | None:
        """The service secret from the environment, or None when it is not set."""
        value = (os.environ if environ is None else environ).get(self.secret_env)
        return value.encode("utf-8") if value else None


def load_config(path: str | None = None) -> FlowConfig:
    """The config at `path`, or `flow.toml` in the current folder if there
    is one (none there is an empty config). Any problem is a UsageError."""
    if path is None:
        if not os.path.isfile(DEFAULT_PATH):
            return FlowConfig()
        path = DEFAULT_PATH
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path}: larger than {MAX_BYTES // 1024} KiB")
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise UsageError(f"{path}: arrays or inline tables nested too deeply") from None
    return _parse(path, table)


def public_url(value: str, where: str) -> str:
    """A checked public URL (from --public-url or the config), used by run,
    deliver and serve alike: https:// (RFC 8058's one-click links must be),
    or http:// to a loopback address, for trying things out on one machine.
    ASCII only, as a header carries it whole."""
    if (
        not isinstance(value, str)
        or len(value) > 2048
        or not value.isascii()
        or not value.isprintable()
        or " " in value
        or not re.match(r"https?://[^/?#]+", value)
    ):
        raise UsageError(f"{where} must be an https:// URL (in ASCII: the host in punycode, the path percent-encoded)")
    if value.startswith("http://") and not _loopback(value):
        raise UsageError(
            f"{where} must be https:// (one-click unsubscribe links must be); "
            "http:// is for a loopback address only, such as http://127.0.0.1:8000"
        )
    return value.rstrip("/")


def _loopback(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # a malformed [IPv6] host
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse(path: str, table: dict) -> FlowConfig:
    unknown = set(table) - {"inboxes", "serve"}
    if unknown:
        raise UsageError(f"{path}: unknown table(s) {', '.join(sorted(map(repr, unknown)))} (known: inboxes, serve)")
    inboxes_table = _table(path, table, "inboxes")
    if len(inboxes_table) > MAX_INBOXES:
        raise UsageError(f"{path}: more than {MAX_INBOXES} inboxes")
    inboxes, imap = {}, {}
    for address, settings in inboxes_table.items():
        if len(address) > 254 or not _ADDRESS.fullmatch(address):
            raise UsageError(f'{path}: [inboxes] keys are email addresses, as in [inboxes."alice@example.com"]')
        if address.lower() in inboxes or address.lower() in imap:
            raise UsageError(f"{path}: inbox {address} is configured twice")
        if isinstance(settings, dict) and "imap" in settings:
            settings = dict(settings)
            imap[address.lower()] = _imap(path, address, settings.pop("imap"))
            if not settings:  # read, not sent through
                continue
        inboxes[address.lower()] = _inbox(path, address, settings)
    serve = _table(path, table, "serve")
    unknown = set(serve) - _SERVE_KEYS
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) in [serve]: {', '.join(sorted(map(repr, unknown)))}"
            f" (known: {', '.join(sorted(_SERVE_KEYS))})"
        )
    url = public_url(serve["public_url"], f"{path}: [serve] public_url") if "public_url" in serve else None
    secret_env = serve.get("secret_env", DEFAULT_SECRET_ENV)
    if not isinstance(secret_env, str) or not _ENV_NAME.fullmatch(secret_env):
        raise UsageError(f"{path}: [serve] secret_env is the name of an environment variable, such as FLOWC_SECRET")
    return FlowConfig(path, inboxes, imap, url, secret_env)


def _table(path: str, table: dict, key: str) -> dict:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{path}: `{key}` must be a table ([{key}])")
    return value


def _getter(where: str, s, known: set[str]):
    """Checks table `s` (no password, no unknown key) and returns
    `get(key, kind, default, check, what)`, which reads one checked value."""
    if not isinstance(s, dict):
        raise UsageError(f"{where} must be a table")
    if "password" in s:
        raise UsageError(
            f"{where}: no passwords in the file: put it in an environment variable and name that "
            "variable with password_env"
        )
    unknown = set(s) - known
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(sorted(map(repr, unknown)))} (known: {', '.join(sorted(known))})"
        )

    def get(key, kind, default=None, check=lambda v: True, what=""):
        if key not in s:
            return default
        value = s[key]
        if not isinstance(value, kind) or isinstance(value, bool) or not check(value):
            raise UsageError(f"{where}: {key} must be {what}")
        return value

    return get


def _server(where: str, get, secure_port: int, plain_port: int) -> tuple[str, str, int]:
    """host, security and port, checked: `none` only on this machine."""
    host = get("host", str, None, lambda v: bool(_HOST.fullmatch(v)), "a host name or IP address")
    if host is None:
        raise UsageError(f"{where}: host is missing")
    security = get(
        "security", str, "starttls", lambda v: v in ("starttls", "tls", "none"), '"starttls", "tls" or "none"'
    )
    if security == "none" and host not in LOOPBACK:
        raise UsageError(
            f'{where}: security = "none" sends passwords and mail in the clear: only for a server '
            "on this machine (127.0.0.1)"
        )
    port = get(
        "port", int, secure_port if security == "tls" else plain_port, lambda v: 1 <= v <= 65535, "a port (1-65535)"
    )
    return host, security, port


def _login(get) -> tuple[str | None, str | None, float, str | None]:
    """username, password_env, timeout and ca_file, checked."""
    username = get("username", str, None, lambda v: 0 < len(v) <= 256 and v.isprintable(), "text (the login)")
    password_env = get(
        "password_env",
        str,
        None,
        lambda v: bool(_ENV_NAME.fullmatch(v)),
        "the name of an environment variable (letters, digits, _)",
    )
    timeout = get("timeout", (int, float), 30, lambda v: 0 < v <= 300, "seconds, more than 0 and at most 300")
    ca_file = get("ca_file", str, None, lambda v: 0 < len(v) <= 4096 and v.isprintable(), "a file path")
    return username, password_env, float(timeout), ca_file


def _imap(path: str, address: str, s) -> ImapSettings:
    where = f'{path}: [inboxes."{address}".imap]'
    get = _getter(where, s, _IMAP_KEYS)
    host, security, port = _server(where, get, 993, 143)
    username, password_env, timeout, ca_file = _login(get)
    if not username or not password_env:
        raise UsageError(f"{where}: username and password_env (the variable that holds its password) are needed")
    folders = get(
        "folders",
        list,
        ["INBOX"],
        lambda v: (
            0 < len(v) <= MAX_FOLDERS and all(isinstance(f, str) and 0 < len(f) <= 200 and f.isprintable() for f in v)
        ),
        f"a list of 1 to {MAX_FOLDERS} folder names",
    )
    poll = get("poll_seconds", (int, float), 60, lambda v: 1 <= v <= 3600, "seconds, from 1 to 3600")
    return ImapSettings(
        address.lower(),
        host,
        port,
        security,
        username,
        password_env,
        tuple(dict.fromkeys(folders)),
        float(poll),
        ca_file,
        timeout,
    )


def _inbox(path: str, address: str, s) -> InboxSettings:
    where = f'{path}: [inboxes."{address}"]'
    get = _getter(where, s, _INBOX_KEYS)
    host, security, port = _server(where, get, 465, 587)
    username, password_env, timeout, ca_file = _login(get)
    if username and not password_env:
        raise UsageError(f"{where}: a username needs password_env, the variable that holds its password")
    connections = get("connections", int, 1, lambda v: 1 <= v <= 16, "a number from 1 to 16")
    return InboxSettings(address.lower(), host, port, security, username, password_env, timeout, connections, ca_file)
