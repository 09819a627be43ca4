"""`[inboxes."ADDR".imap]` in flow.toml (flowc/flow_toml.py): defaults,
every key checked, errors that name the key and never show a value."""

from __future__ import annotations

import pytest
from flowc.dsl import UsageError

from flowc.flow_toml import load_config


def _load(tmp_path, text: str):
    path = tmp_path / "flow.toml"
    path.write_text(text)
    return load_config(str(path))


def test_defaults_tls_on_993_the_inbox_folder_and_a_minute_between_polls(tmp_path):
    config = _load(
        tmp_path,
        '[inboxes."Alice@acme.example".imap]\nhost = "imap.acme.example"\nsecurity = "tls"\n'
        'username = "alice"\npassword_env = "ALICE_IMAP"\n',
    )
    imap = config.imap["alice@acme.example"]
    assert (imap.port, imap.folders, imap.poll_seconds, imap.ca_file) == (993, ("INBOX",), 60, None)
    assert "alice@acme.example" not in config.inboxes  # read only: no SMTP settings


def test_starttls_defaults_to_143_and_smtp_settings_stay_beside_it(tmp_path):
    config = _load(
        tmp_path,
        '[inboxes."alice@acme.example"]\nhost = "smtp.acme.example"\n'
        '[inboxes."alice@acme.example".imap]\nhost = "imap.acme.example"\n'
        'security = "starttls"\nusername = "alice"\npassword_env = "P"\n'
        'folders = ["INBOX", "Bounces"]\npoll_seconds = 30\n',
    )
    assert config.imap["alice@acme.example"].port == 143
    assert config.imap["alice@acme.example"].folders == ("INBOX", "Bounces")
    assert config.inboxes["alice@acme.example"].host == "smtp.acme.example"


@pytest.mark.parametrize(
    "body, error",
    [
        (
            'host = "imap.acme.example"\nsecurity = "none"\nusername = "a"\npassword_env = "P"',
            'security = "none" sends passwords and mail in the clear',
        ),
        ('host = "imap.acme.example"\nusername = "a"\npassword = "hunter2"', "no passwords in the file"),
        ('host = "imap.acme.example"\nusername = "a"', "username and password_env"),
        ('host = "imap.acme.example"\nusername = "a"\npassword_env = "P"\nfolders = []', "folders must be"),
        ('host = "imap.acme.example"\nusername = "a"\npassword_env = "P"\npoll_seconds = 0', "poll_seconds must be"),
        ('host = "imap.acme.example"\nusername = "a"\npassword_env = "P"\nidle = true', "unknown key(s) 'idle'"),
        ('username = "a"\npassword_env = "P"', "host is missing"),
    ],
)
def test_each_mistake_names_its_key_never_its_value(tmp_path, body, error):
    with pytest.raises(UsageError) as e:
        _load(tmp_path, f'[inboxes."alice@acme.example".imap]\n{body}\n')
    assert error in str(e.value) and "hunter2" not in str(e.value)
    assert '[inboxes."alice@acme.example".imap]' in str(e.value)


def test_none_is_allowed_on_this_machine(tmp_path):
    config = _load(
        tmp_path,
        '[inboxes."alice@acme.example".imap]\nhost = "127.0.0.1"\nsecurity = "none"\n'
        'username = "a"\npassword_env = "P"\n',
    )
    assert config.imap["alice@acme.example"].port == 143
