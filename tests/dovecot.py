"""A real IMAP server for the inbox tests: Debian's Dovecot, started on
loopback ports with its own configuration, state and Maildir storage in a
temporary folder, one passwd-file user per inbox, TLS with a certificate
made for the test. Tests skip when Dovecot or openssl is missing
(`apt-get install -y dovecot-imapd`)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .tls import self_signed

DOVECOT = "/usr/sbin/dovecot"
MISSING = "Dovecot is needed for the IMAP tests: apt-get install -y dovecot-imapd"
PASSWORD = "imap-secret-password"

_CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
first_valid_uid = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain
disable_plaintext_auth = no
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    return os.access(DOVECOT, os.X_OK) and shutil.which("openssl") is not None


class Dovecot:
    """`with Dovecot(["alice@acme.example"]) as imap:` a running server;
    `imap.client(user)` an IMAPClient logged in as `user` (to APPEND). Its
    folder is a temporary one of its own: Dovecot's unprivileged processes
    must be able to reach it, which pytest's private temporary folders do
    not allow."""

    def __init__(self, users: list[str]):
        if not available():
            pytest.skip(MISSING)
        self.dir = Path(tempfile.mkdtemp(prefix="flowc-dovecot-"))
        self.users = users
        self.imap_port = _free_port()
        self.imaps_port = _free_port()
        self.cert = self.dir / "cert.pem"
        self.proc = None

    def __enter__(self) -> Dovecot:
        d = self.dir
        for sub in ("run", "state", "mail", "home"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        self_signed(d)
        (d / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in self.users))
        if os.getuid() == 0:  # Dovecot keeps mail as no user with uid 0: as nobody, in folders it owns
            login, mail = pwd.getpwnam("dovenull"), pwd.getpwnam("nobody")
            for sub in ("mail", "home"):
                os.chown(d / sub, mail.pw_uid, mail.pw_gid)
            user, group, uid, gid = login.pw_name, grp.getgrgid(login.pw_gid).gr_name, mail.pw_uid, mail.pw_gid
        else:
            me = pwd.getpwuid(os.getuid())
            user, group, uid, gid = me.pw_name, grp.getgrgid(os.getgid()).gr_name, os.getuid(), os.getgid()
        (d / "dovecot.conf").write_text(
            _CONF.format(d=d, user=user, group=group, uid=uid, gid=gid, imap=self.imap_port, imaps=self.imaps_port)
        )
        for sub in ("run", "state", "mail", "home"):
            os.chmod(d / sub, 0o755)
        os.chmod(d, 0o755)
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(d / "dovecot.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                said = self.proc.communicate()[0].decode(errors="replace")[-2000:]
                failure = RuntimeError(f"dovecot exited: {said} {self.log()[-2000:]}")
                self.__exit__(None, None, None)
                raise failure
            try:
                socket.create_connection(("127.0.0.1", self.imap_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.imaps_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("dovecot did not start listening within 20 s: " + self.log()[-2000:])

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, user: str):
        from imapclient import IMAPClient

        c = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=10)
        c.login(user, PASSWORD)
        return c

    def append(self, user: str, raw: bytes, folder: str = "INBOX", when=None) -> None:
        with self.client(user) as c:
            c.append(folder, raw, msg_time=when)

    def toml(self, user: str, security: str = "none", folders=("INBOX",), **extra) -> str:
        """The `[inboxes."USER".imap]` section reaching this server."""
        port = {"none": self.imap_port, "starttls": self.imap_port, "tls": self.imaps_port}[security]
        lines = [
            f'[inboxes."{user}".imap]',
            'host = "127.0.0.1"',
            f"port = {port}",
            f'security = "{security}"',
            f'username = "{user}"',
            'password_env = "FLOWC_TEST_IMAP_PASSWORD"',
            "folders = [" + ", ".join(f'"{f}"' for f in folders) + "]",
        ]
        if security != "none":
            lines.append(f'ca_file = "{self.cert}"')
        lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in extra.items()]
        return "\n".join(lines).replace("'", '"') + "\n"
