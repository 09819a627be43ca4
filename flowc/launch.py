"""Where the `flowc` program starts, as pip's console script and as
`python -m flowc`: the command line is imported with the cyclic garbage
collector off, then everything the imports made is set aside (`gc.freeze`)
and the collector is back on before the command runs.

Start-up builds tens of thousands of objects that live as long as the
process (modules, classes, the parse table) and no garbage; the collector,
woken every few hundred of them, only re-scans what stays (measured: ~3.5
ms of `flowc check`'s ~60, bench/bench_startup.py). A process-wide setting,
so here at the program's start and not in the library: code that imports
flowc keeps its collector as it was."""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    try:
        from .cli import main as cli
    finally:
        gc.freeze()
        gc.enable()
    cli()
