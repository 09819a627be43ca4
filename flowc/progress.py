"""A sign of life for long runs: events done, events per second and lines
rejected so far, on stderr while `flowc run` goes (tqdm draws it)."""

from __future__ import annotations

import sys


def wanted(quiet: bool) -> bool:
    """On a terminal only, and only when the audit log goes elsewhere (a
    file, a pipe): on the same terminal its lines are the sign of life, and
    a bar drawn between them would garble both."""
    return not quiet and sys.stderr.isatty() and not sys.stdout.isatty()


class Progress:
    """Wraps the function that prints a run's audit entries: each call is
    one event done, counted from the run's summary."""

    def __init__(self, emit, summary):
        from tqdm import tqdm

        self.emit = emit
        self.summary = summary
        self.rejected = 0
        self.bar = tqdm(unit=" events", file=sys.stderr, dynamic_ncols=True, postfix="rejected 0")

    def __call__(self, entries) -> None:
        self.emit(entries)
        s = self.summary
        if s.rejected != self.rejected:
            self.rejected = s.rejected
            self.bar.set_postfix_str(f"rejected {s.rejected}", refresh=False)
        self.bar.update(s.events + s.rejected + s.duplicates - self.bar.n)

    def close(self) -> None:
        self.bar.close()
