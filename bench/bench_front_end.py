"""Front-end speed: Flow's parse, and parse + check, of a generated
10,000-line script against plain `Lark.parse()` of the same grammar
(LALR, contextual lexer, building a tree), measured in the same run.

    python bench/bench_front_end.py [LINES] [REPEATS]

Prints lines/s for each and the ratio to plain Lark (below 1.0 is faster)."""
from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lark import Lark  # noqa: E402

from flowc import dsl  # noqa: E402
from bench.generate import script  # noqa: E402
from flowc.dsl.parser import lark_parser  # noqa: E402


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
    text = script(lines)
    n = text.count("\n")
    grammar = (Path(__file__).resolve().parent.parent / "grammar" / "flow.lark").read_text()
    plain = Lark(grammar, parser="lalr", lexer="contextual")
    lark_parser()  # build ours once, as plain is built once
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


if __name__ == "__main__":
    main()
