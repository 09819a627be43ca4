"""The parser loads a table made ahead of time: no grammar is compiled at
start-up and nothing is unpickled from a shared, writable place (Lark's
`cache=True` did both). The table shipped is the grammar's."""

from __future__ import annotations

import subprocess
import sys

from flowc.dsl import ast, grammar_queries, parse_table, parser

from flowc import dsl

from ..conftest import EXAMPLES, FIXTURES

_NO_COMPILE = """
import lark, sys
def refuse(*a, **k):
    raise SystemExit("the grammar was compiled")
lark.Lark.__init__ = refuse
from flowc.cli import main
sys.argv = ["flowc", "check", sys.argv[1]]
main()
"""


def test_check_compiles_no_grammar_and_writes_no_cache(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(
        "user alice seat sales_enterprise inbox alice@x\n"
        'sequence "S" { email "E" subject "Hi" body "Hi" }\non form_submitted enroll in "S" as alice\n'
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = subprocess.run(
        [sys.executable, "-c", _NO_COMPILE, str(script)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert "0 errors" in p.stdout
    assert list(tmp.iterdir()) == []


def test_the_table_shipped_is_made_from_the_grammar():
    assert parse_table.table_is_current(), "run `python -m flowc.dsl.parse_table` after changing grammar/flow.lark"


def _compiles(monkeypatch) -> list:
    """Calls of compile_grammar from here on (answered with a stand-in)."""
    calls = []
    monkeypatch.setattr(parse_table, "compile_grammar", lambda **kw: calls.append(kw) or "compiled")
    return calls


def test_a_damaged_or_old_table_is_not_loaded(monkeypatch):
    """A table module made from another grammar or Lark, one that cannot be
    imported (a file that is no longer Python), or whose table is not whole:
    the grammar is compiled instead."""
    import sys

    from flowc.dsl import flow_table

    calls = _compiles(monkeypatch)
    whole = flow_table.TABLE
    damaged = [
        ("DIGEST", "0" * 64),  # made from another grammar or Lark
        ("DIGEST", None),
        ("TABLE", []),
        ("TABLE", {}),
        ("TABLE", {"data": {}, "memo": []}),
        ("TABLE", {**whole, "memo": whole["memo"][:10]}),
    ]
    for name, value in damaged:
        with monkeypatch.context() as m:
            m.setattr(flow_table, name, value)
            assert parse_table.load() == "compiled", (name, value)
    # A module that cannot be imported (None in sys.modules: ImportError).
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "flowc.dsl.flow_table", None)
        m.delattr(sys.modules["flowc.dsl"], "flow_table")
        assert parse_table.load() == "compiled"
        assert not parse_table.table_is_current()
    assert len(calls) == len(damaged) + 1
    assert parse_table.table_is_current() and parse_table.load() != "compiled"


def test_the_table_module_is_python_data_only():
    """What the module holds is what JSON would: no code, nothing to run."""
    from flowc.dsl import flow_table

    def data(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and data(v) for k, v in value.items())
        if isinstance(value, list):
            return all(map(data, value))
        return value is None or isinstance(value, (str, int, float, bool))

    assert data(flow_table.TABLE)
    names = {n for n in vars(flow_table) if not n.startswith("__")}
    assert names == {"DIGEST", "TABLE", "annotations"}


def test_each_state_lexes_as_lark_s_own_contextual_lexer_would():
    """The lexers made as the parser reaches each state are the ones Lark
    makes for all states up front: the same terminals, in the same order."""
    from lark.lexer import ContextualLexer

    loaded = grammar_queries.lark_parser()
    lexer = loaded.parser.lexer
    states = {s: list(actions) for s, actions in loaded.parser.parser._parse_table.states.items()}
    eager = ContextualLexer(loaded.lexer_conf, states)

    def same(a, b):
        assert [t.name for t in a.terminals] == [t.name for t in b.terminals]
        # and whatever else Lark's lexer is made with (dsl/state_lexer.py
        # sets it itself), but the scanner, made when first used
        for name in vars(b).keys() - {"terminals", "_scanner", "callback"}:
            assert getattr(a, name) == getattr(b, name), name

    for s in states:
        same(lexer.lexers[s], eager.lexers[s])
    same(lexer.root_lexer, eager.root_lexer)


def _corpus() -> list[str]:
    texts = [p.read_text() for p in sorted(EXAMPLES.glob("*.flow"))]
    texts += [p.read_text() for p in sorted(FIXTURES.rglob("*.flow"))]
    texts += [
        'on form_submitted where (a or not b) and c in [1, "x"] { if x { wait 2 business days } else { } }',
        'user "x"',
        "sequence",
        "on x where a ==",
        "\x00",
        'include "a" ; ; user b limit 1.5',
    ]
    return texts


def _parsed(text: str):
    module, diagnostics = parser.parse(text, "t.flow")
    return ast.dump(module), [(d.code, d.message, d.span) for d in diagnostics]


def test_the_table_parses_as_the_grammar_does(monkeypatch):
    from_table = [_parsed(t) for t in _corpus()]
    compiled = parse_table.compile_grammar(**grammar_queries.callbacks())
    monkeypatch.setattr(grammar_queries, "_parser", compiled)
    assert [_parsed(t) for t in _corpus()] == from_table


def test_parses_in_threads_keep_their_own_state():
    """Per-parse state lives in the parse, not in the shared transformer."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int):
        text = "".join(f"# c{i}\nuser u{i}_{j}\n" for j in range(200))
        module, _ = dsl.parse(text, f"f{i}.flow")
        return i, module

    with ThreadPoolExecutor(4) as pool:
        for i, module in pool.map(one, range(8)):
            assert {c.text for c in module.comments} == {f"# c{i}"} and len(module.comments) == 200
            assert {s.span.path for s in module.statements} == {f"f{i}.flow"}


def test_the_callbacks_of_rules_are_made_when_first_reduced_by(monkeypatch):
    """Each rule's callback is made the first time the parser reduces by it
    (a small file needs a fraction of them), and it is Lark's own: the
    corpus parses as with the grammar compiled (the test above)."""
    from lark.grammar import Rule

    fresh = parse_table.load(**grammar_queries.callbacks())
    monkeypatch.setattr(grammar_queries, "_parser", fresh)
    made = lambda: [k for k in fresh._callbacks if isinstance(k, Rule)]  # noqa: E731
    assert made() == []
    _parsed("user alice seat sales_enterprise inbox alice@acme.example\n")
    assert 0 < len(made()) < len(fresh.rules) / 2
