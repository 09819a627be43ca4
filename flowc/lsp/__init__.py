"""`flowc lsp`: Flow's language server (pygls, over stdio).

Only `flowc lsp` imports this package, so no other command pays for pygls,
and pygls is needed only with the `flowc[lsp]` extra. `server` holds the
protocol (one function per LSP feature), `analysis` the checking of open
documents, `features` the answers, `positions` the conversion between Flow's
spans and LSP positions."""

from __future__ import annotations


def main() -> None:
    import sys

    from .server import make_server
    from .stdio import BoundedStdin

    stdin = BoundedStdin(sys.stdin.buffer)
    make_server().start_io(stdin=stdin)  # type: ignore[arg-type]  # it reads as a BinaryIO does
    if stdin.refused is not None:
        sys.exit(1)
