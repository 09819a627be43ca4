"""Front-end speed: Flow's parse, and parse + check, of a generated
10,000-line script against plain `Lark.parse()` of the same grammar
(LALR, contextual lexer, building a tree), measured in the same run; then
whether checking stays linear: check time per line at 1,000, 10,000 and
100,000 lines, beside plain Lark's at the same sizes, with the cyclic
collector on (a library call) and off (as `flowc check` runs).

    python bench/bench_front_end.py [LINES] [REPEATS] [SIZES]

SIZES is a comma-separated list of line counts (default 1000,10000,100000).
Prints lines/s for each and the ratio to plain Lark (below 1.0 is faster),
then microseconds per line at each size and their ratio to the smallest
size's (1.0 everywhere is linear), and check time over Lark's at each size
(the same everywhere is linear too, and less hit by the machine's noise)."""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowc.dsl.grammar_queries import lark_parser
from lark import Lark

from bench.generate import script
from flowc import dsl


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        # Every run starts from the same collector state (flow's check
        # freezes what it built; that must not speed up the next run).
        gc.unfreeze()
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    sizes = [int(s) for s in sys.argv[3].split(",")] if len(sys.argv) > 3 else [1_000, 10_000, 100_000]
    grammar = (Path(__file__).resolve().parent.parent / "grammar" / "flow.lark").read_text()
    plain = Lark(grammar, parser="lalr", lexer="contextual")
    lark_parser()  # build ours once, as plain is built once
    against_lark(plain, lines, repeats)
    linearity(plain, sizes, max(3, repeats // 2))


def against_lark(plain: Lark, lines: int, repeats: int) -> None:
    text = script(lines)
    n = text.count("\n")
    result = dsl.check_sources([("bench.flow", text)])
    assert not result.errors, result.errors[:3]

    rows = [
        ("plain Lark.parse (tree)", lambda: plain.parse(text)),
        ("flow parse (AST, spans)", lambda: dsl.parse(text, "bench.flow")),
        ("flow parse + check", lambda: dsl.check_sources([("bench.flow", text)])),
    ]
    # Interleave the measurements so that noise hits all of them alike.
    results = {name: [] for name, _ in rows}
    for _ in range(repeats):
        for name, fn in rows:
            results[name].append(timed(fn, 1))
    base = statistics.median(results[rows[0][0]])
    print(f"{n} lines, median of {repeats} runs")
    for name, _ in rows:
        t = statistics.median(results[name])
        print(f"{name:<28} {n / t / 1000:8.1f} k lines/s   {t * 1000:8.1f} ms   ratio {t / base:.2f}")


def _collector_off(fn):
    """`fn` run as `flowc check` runs the check: with the cyclic collector
    off (flowc/scripts.py `checking`)."""
    from flowc.scripts import checking

    def run():
        with checking():
            fn()

    return run


def linearity(plain: Lark, sizes: list[int], repeats: int) -> None:
    """Time per line of plain Lark's parse and of Flow's parse + check at
    each size (interleaved, median of `repeats`), with the cyclic collector
    on (as a library call, the language server) and off (as `flowc check`):
    a check that is not linear shows as a per-line time growing with the
    size where Lark's does not. (With the collector on, both grow at 100k
    lines: its full collections walk every object built so far.)"""
    series = {
        "Lark, gc on": lambda text: lambda: plain.parse(text),
        "check, gc on": lambda text: lambda: dsl.check_sources([("bench.flow", text)]),
        "Lark, gc off": lambda text: _collector_off(lambda: plain.parse(text)),
        "check, gc off": lambda text: _collector_off(lambda: dsl.check_sources([("bench.flow", text)])),
    }
    per_line = {}
    for size in sizes:
        text = script(size)
        n = text.count("\n")
        runs = {name: [] for name in series}
        for _ in range(repeats):
            for name, make in series.items():
                runs[name].append(timed(make(text), 1))
        per_line[n] = {name: statistics.median(v) / n * 1e6 for name, v in runs.items()}
    first = per_line[min(per_line)]
    print(
        f"\ntime per line in microseconds, median of {repeats} runs "
        f"(in brackets: over the {min(per_line)}-line script's; 1.00 all down a column is linear)"
    )
    print(f"{'lines':>8}" + "".join(f"{name:>22}" for name in series) + "   check / Lark (gc on, off)")
    for n, t in per_line.items():
        print(
            f"{n:>8}"
            + "".join(f"{t[name]:13.1f} ({t[name] / first[name]:.2f})" for name in series)
            + f"   {t['check, gc on'] / t['Lark, gc on']:6.2f} {t['check, gc off'] / t['Lark, gc off']:6.2f}"
        )


if __name__ == "__main__":
    main()
