"""The protocol: one function per LSP feature (pygls), each answering from
`features` over the document's analysis.

Documents are checked on open and save at once, and after changes once the
typing pauses for `DEBOUNCE_SECONDS`; statements an edit did not touch are
not parsed again (dsl/incremental.py). Every parse runs on the event loop's
thread: the parser is not thread-safe, and a check is quick enough (see
bench/bench_lsp.py).
A request that fails answers with an error and the traceback goes to the
client's log; the server carries on.

Only documents the client opened are answered for: a request naming any
other URI gets an empty answer (pygls would read the path from disk, and a
path can name /dev/zero or a FIFO). A document larger than `flowc check`
reads (16 MiB) gets one diagnostic saying so and is not checked."""

from __future__ import annotations

import asyncio
import os
import traceback

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from flowc.dsl.incremental import ParseCache
from flowc.dsl.loader import MAX_SCRIPT_BYTES

from . import features
from .analysis import Analysis, analyze

#: How long typing must pause before a changed document is checked again.
DEBOUNCE_SECONDS = 0.05


class FlowServer(LanguageServer):
    def __init__(self) -> None:
        from flowc import __version__

        super().__init__("flowc", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, Analysis] = {}
        self.parse_cache = ParseCache()
        self._pending: dict[str, asyncio.TimerHandle] = {}

    # -- errors go to the client's log
    def report_server_error(self, error: Exception, source) -> None:
        self.log(
            types.MessageType.Error,
            "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip(),
        )

    def log(self, level: types.MessageType, message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=level, message=message))

    # -- documents and their analyses
    def _encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def _open_texts(self) -> dict[str, str]:
        out = {}
        for _uri, doc in self.workspace.text_documents.items():
            if doc.path and not _too_large(doc.source):
                out[os.path.realpath(doc.path)] = doc.source
        return out

    def text(self, uri: str) -> str | None:
        """The text of a document the client opened and Flow checks; None
        for any other (never read from disk) and for one too large."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None or _too_large(doc.source):
            return None
        return doc.source

    def analysis(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text (made now if stale);
        None where `text` is None."""
        if self.text(uri) is None:
            return None
        doc = self.workspace.text_documents[uri]
        a = self.analyses.get(uri)
        if a is None or a.text != doc.source:
            a = self.analyses[uri] = analyze(
                doc.path or uri, doc.source, doc.version, self._open_texts(), self._encoding(), self.parse_cache
            )
        return a

    def publish(self, uri: str) -> None:
        """Check a document and publish its diagnostics; then those of the
        open documents that include it."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return
        a = self.analysis(uri)
        if a is None:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, version=doc.version, diagnostics=[_TOO_LARGE])
            )
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=a.version, diagnostics=features.diagnostics(a, uri))
        )
        changed = os.path.realpath(a.path)
        for other, b in list(self.analyses.items()):
            if other != uri and changed in b.paths and other in self.workspace.text_documents:
                self.analyses.pop(other)
                b = self.analysis(other)
                if b is None:
                    continue
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(
                        uri=other, version=b.version, diagnostics=features.diagnostics(b, other)
                    )
                )

    def schedule(self, uri: str) -> None:
        handle = self._pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        self._pending[uri] = asyncio.get_running_loop().call_later(DEBOUNCE_SECONDS, self._publish_later, uri)

    def _publish_later(self, uri: str) -> None:
        self._pending.pop(uri, None)
        try:
            self.publish(uri)
        except Exception as e:  # a check that fails must not end the server
            self.report_server_error(e, None)


def _too_large(text: str) -> bool:
    # characters, not bytes: a cheap bound, and no text of more bytes than
    # `flowc check` reads has fewer characters than a quarter of them
    return len(text) > MAX_SCRIPT_BYTES


_TOO_LARGE = types.Diagnostic(
    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
    message=f"this document is larger than {MAX_SCRIPT_BYTES >> 20} MiB, the most `flowc check` reads: "
    "it is not checked",
    severity=types.DiagnosticSeverity.Error,
    source="flowc",
)


def make_server() -> FlowServer:
    server = FlowServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: FlowServer, params: types.DidOpenTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: FlowServer, params: types.DidChangeTextDocumentParams):
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: FlowServer, params: types.DidSaveTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: FlowServer, params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        handle = ls._pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        ls.analyses.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: FlowServer, params: types.HoverParams):
        a = ls.analysis(params.text_document.uri)
        return None if a is None else features.hover(a, params.position)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: FlowServer, params: types.DefinitionParams):
        uri = params.text_document.uri
        a = ls.analysis(uri)
        return [] if a is None else features.definition(a, uri, params.position)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def references(ls: FlowServer, params: types.ReferenceParams):
        uri = params.text_document.uri
        a = ls.analysis(uri)
        return [] if a is None else features.references(a, uri, params.position, params.context.include_declaration)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(ls: FlowServer, params: types.DocumentSymbolParams):
        a = ls.analysis(params.text_document.uri)
        return [] if a is None else features.document_symbols(a)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "{", '"', " ", "="])
    )
    def completion(ls: FlowServer, params: types.CompletionParams):
        uri = params.text_document.uri
        text = ls.text(uri)
        if text is None:
            return types.CompletionList(is_incomplete=False, items=[])
        # The names come from the last analysis; the words at the cursor
        # from the text as it is now (typing runs ahead of the checks).
        return features.completion(ls.analyses.get(uri), text, ls._encoding(), params.position)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    def code_action(ls: FlowServer, params: types.CodeActionParams):
        uri = params.text_document.uri
        a = ls.analysis(uri)
        return [] if a is None else features.code_actions(a, uri, params.range)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: FlowServer, params: types.DocumentFormattingParams):
        uri = params.text_document.uri
        a = ls.analysis(uri)
        if a is None:
            return None
        edits = features.formatting(a)
        if edits is None:
            ls.log(types.MessageType.Info, f"{uri} has syntax errors: not formatted")
        return edits

    return server
