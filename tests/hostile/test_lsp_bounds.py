"""`flowc lsp` against a hostile client: requests for documents it never
opened are answered empty without reading the path (pygls would read
/dev/zero until memory ran out, and block on a FIFO for good), a document
larger than `flowc check` reads is not checked, and a `Content-Length` past
the bound ends the session with a message instead of a MemoryError."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
import pytest_lsp
from flowc.dsl.loader import MAX_SCRIPT_BYTES
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ASYNC = pytest.mark.asyncio(loop_scope="module")
SERVER = [sys.executable, "-m", "flowc", "lsp"]


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def _at(uri: str) -> dict:
    return {"text_document": types.TextDocumentIdentifier(uri=uri), "position": types.Position(line=0, character=0)}


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.flow"
    os.mkfifo(path)
    return path


@ASYNC
async def test_requests_for_documents_never_opened_read_nothing(client: LanguageClient, fifo):
    for uri in ("file:///dev/zero", fifo.as_uri()):
        hover = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(**_at(uri))), 20)
        assert hover is None
        symbols = await asyncio.wait_for(
            client.text_document_document_symbol_async(
                types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
            ),
            20,
        )
        assert symbols == []
        items = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(**_at(uri))), 20)
        assert items is not None and not items.items


@ASYNC
async def test_a_document_over_the_check_limit_is_not_checked(client: LanguageClient, tmp_path):
    uri = (tmp_path / "huge.flow").as_uri()
    text = "# x\n" * (MAX_SCRIPT_BYTES // 4 + 1)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="flow", version=1, text=text)
        )
    )
    await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 60)
    [diagnostic] = client.diagnostics[uri]
    assert "larger than 16 MiB" in diagnostic.message
    hover = await client.text_document_hover_async(types.HoverParams(**_at(uri)))
    assert hover is None


def test_a_content_length_past_the_bound_ends_the_session_with_a_message():
    done = subprocess.run(SERVER, input=b"Content-Length: 100000000000\r\n\r\n{}", capture_output=True, timeout=60)
    assert done.returncode == 1
    assert b"over the limit" in done.stderr
    assert b"MemoryError" not in done.stderr and b"Traceback" not in done.stderr


def test_a_header_line_without_an_end_is_read_in_bounded_pieces():
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}'
    garbage = b"X" * (1 << 20)  # a megabyte before the first line break
    message = garbage + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    done = subprocess.run(SERVER, input=message, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b'"id": 1' in done.stdout or b'"id":1' in done.stdout
