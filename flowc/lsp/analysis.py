"""The checking of open documents, kept apart from the protocol.

A document is checked as `flowc check FILE` checks it: with the files it
includes, which are read from the editor when open there (unsaved text
included) and from disk otherwise. An analysis keeps the text it was made
from, so that answers and positions always agree with each other."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from flowc import dsl
from flowc.dsl.incremental import ParseCache
from flowc.dsl.loader import read_source
from flowc.dsl.names import Occurrence, occurrences

from .positions import LineIndex


@dataclass
class Analysis:
    path: str
    text: str
    version: int | None
    result: dsl.CheckResult
    encoding: str = "utf-16"
    #: Real paths of every file the check read, the document's own included.
    paths: frozenset = field(default_factory=frozenset)

    @cached_property
    def index(self) -> LineIndex:
        return LineIndex(self.text, self.encoding)

    @cached_property
    def names(self) -> list[Occurrence]:
        return occurrences(self.result.unit.modules)

    @property
    def symbols(self):
        return self.result.context.symbols

    @property
    def module(self):
        for m in self.result.unit.modules:
            if m.span.path == self.path:
                return m
        return None

    def diagnostics(self) -> list[dsl.Diagnostic]:
        """The diagnostics in this document (not those of included files)."""
        return [d for d in self.result.diagnostics if d.span.path == self.path]

    def index_of(self, path: str) -> LineIndex | None:
        """Line index of another file of the unit, for spans in it."""
        if path == self.path:
            return self.index
        text = self.result.unit.sources.text(path)
        return LineIndex(text, self.encoding) if text is not None else None


def analyze(
    path: str,
    text: str,
    version: int | None,
    open_texts: dict[str, str],
    encoding: str = "utf-16",
    cache: ParseCache | None = None,
) -> Analysis:
    """Check `text` as file `path`; `open_texts` maps real paths of documents
    open in the editor to their text; `cache` keeps the statements of earlier
    parses that an edit did not touch."""

    def read(included: str) -> str:
        real = os.path.realpath(included)
        if real in open_texts:
            return open_texts[real]
        return read_source(included)

    path = os.path.normpath(path)
    result = dsl.check_sources([(path, text)], read=read, parse_text=cache.parse if cache else None, program=False)
    paths = frozenset(os.path.realpath(p) for p in result.unit.sources.paths())
    return Analysis(path, text, version, result, encoding, paths)
