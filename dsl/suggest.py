"""Did-you-mean suggestions for misspelt names."""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    import difflib  # here: a clean check suggests nothing and need not load it

    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str], quote: str = "`") -> tuple[str, ...]:
    """A one-line help tuple naming the closest candidate, or ()."""
    best = closest(name, candidates)
    return (f"did you mean {quote}{best}{quote}?",) if best else ()
