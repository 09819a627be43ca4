"""Hearing back from the senders' inboxes (docs/inbox.md): each message read
is parsed within bounds (message.py), classified as a bounce, an
auto-reply or a plain message (classify.py, with the words of six
languages in languages.py and return dates read by dates.py), tied to the
contact and email it concerns (ours.py), and turned into the event the
engine processes like a posted one (reader.py). Where the messages come
from is a source: an IMAP folder (imap.py) or a Maildir (maildir.py)."""
