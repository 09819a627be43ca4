"""Language server latency: the time from a change to a 2,000-line document
(one incremental edit, sent over stdio as an editor sends it) until its
diagnostics arrive, debounce included. Two kinds of edit, each alternating
between breaking and mending so that every round changes the diagnostics:
a sender's name (`as rep3` -> `as Xep3`, an E102), and a keyword (`as` ->
`az`, a syntax error). Only the statement edited is parsed again
(dsl/incremental.py); the checker's rules run over the whole file.

    python bench/bench_lsp.py [LINES] [ROUNDS]

Prints the median and the slowest round in milliseconds for each; the
target is 200 ms for 2,000 lines on a 2-core machine."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from bench.generate import script


async def measure(lines: int, rounds: int) -> dict[str, list[float]]:
    text = script(lines)
    rows = text.split("\n")
    row = next(i for i in range(len(rows) // 2, len(rows)) if " as rep" in rows[i])
    column = rows[row].index(" as rep") + 4  # the sender's name

    client = LanguageClient("bench", "1")
    arrived: asyncio.Queue = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(params: types.PublishDiagnosticsParams):
        arrived.put_nowait((time.perf_counter(), params.version, len(params.diagnostics)))

    await client.start_io(sys.executable, "-m", "flowc", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    with tempfile.TemporaryDirectory() as folder:
        uri = (Path(folder) / "big.flow").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="flow", version=0, text=text)
            )
        )
        _, _, base = await arrived.get()
        times: dict[str, list[float]] = {"name": [], "syntax": []}
        version = 0
        for kind, at, broken, mended, count_broken in (
            ("name", column, "X", "r", base + 1),
            ("syntax", column - 2, "z", "s", 1),
        ):
            for i in range(rounds):
                version += 1
                new = broken if i % 2 == 0 else mended
                start = types.Position(line=row, character=at)
                end = types.Position(line=row, character=at + 1)
                sent = time.perf_counter()
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                        content_changes=[
                            types.TextDocumentContentChangePartial(range=types.Range(start=start, end=end), text=new)
                        ],
                    )
                )
                while True:
                    arrived_at, got, count = await arrived.get()
                    if got == version:
                        break
                assert count == (count_broken if i % 2 == 0 else base), (kind, count, base)
                times[kind].append((arrived_at - sent) * 1000)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    times = asyncio.run(measure(lines, rounds))
    for kind, label in (("name", "a name edited"), ("syntax", "a syntax error made and mended")):
        t = times[kind]
        print(
            f"{lines} lines, {rounds} changes, {label}: diagnostics after "
            f"median {statistics.median(t):.0f} ms, slowest {max(t):.0f} ms (target 200 ms)"
        )


if __name__ == "__main__":
    main()
