"""The Flow parser's LALR table, made ahead of time and kept as JSON data
beside the grammar (grammar/flow_table.json), so that start-up compiles no
grammar and loads nothing executable: Lark's own `cache=True` pickles the
table into the shared temp dir, where anyone who can write there would run
code as the user at the next start.

    python -m flowc.dsl.parse_table     # regenerate after changing flow.lark

The table records a digest of the grammar and of the Lark version it was made
with; when either differs (the grammar was edited and the table not yet
regenerated) the grammar is compiled instead, and tests/hostile say so."""
from __future__ import annotations

import hashlib
import json
import pkgutil
from pathlib import Path

import lark
from lark import Lark

#: How the table is built; part of the digest.
OPTIONS = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}
TABLE = "flow_table.json"


def _read(name: str) -> str:
    """A file of the flowc.grammar package, read through its loader (as
    importlib.resources would, without the ~3 ms of imports that cost every
    start; lark has imported pkgutil already)."""
    data = pkgutil.get_data("flowc.grammar", name)
    if data is None:  # a loader that cannot read files
        raise FileNotFoundError(name)
    return data.decode("utf-8")


def grammar_text() -> str:
    return _read("flow.lark")


def digest(grammar: str) -> str:
    key = json.dumps([grammar, lark.__version__, OPTIONS], sort_keys=True)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def compile_grammar(**callbacks) -> Lark:
    return Lark(grammar_text(), **OPTIONS, **callbacks)


# Lark's serialised form has dicts keyed by integers and tuples, which JSON
# does not keep; they are written as {"#": [[key, value], ...]} and lists.
def _to_json(obj):
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _to_json(v) for k, v in obj.items()}
        return {"#": [[k, _to_json(v)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    return obj


def _from_json(obj: dict):
    pairs = obj.get("#")
    if pairs is not None and len(obj) == 1:
        return {k: v for k, v in pairs}
    return obj


def table_json(parser: Lark) -> str:
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    return json.dumps({"digest": digest(grammar_text()), "data": _to_json(data), "memo": _to_json(memo)},
                      separators=(",", ":"), sort_keys=True) + "\n"


def load(**callbacks) -> Lark:
    """The parser from the table shipped with the package; the grammar is
    compiled only when the table is missing or out of date."""
    try:
        text = _read(TABLE)
    except FileNotFoundError:
        return compile_grammar(**callbacks)
    table = json.loads(text, object_hook=_from_json)
    if table.get("digest") != digest(grammar_text()):
        return compile_grammar(**callbacks)
    return Lark._load_from_dict(table["data"], table["memo"], **callbacks)


def table_is_current() -> bool:
    try:
        text = _read(TABLE)
    except FileNotFoundError:
        return False
    return json.loads(text, object_hook=_from_json).get("digest") == digest(grammar_text())


def main() -> None:
    from importlib import resources

    path = Path(str(resources.files("flowc.grammar").joinpath(TABLE)))
    # Lark numbers its states differently from run to run: a table that is
    # current is left as it is, so that regenerating changes no file.
    if table_is_current():
        print(f"{path} is up to date")
        return
    path.write_text(table_json(compile_grammar()), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
