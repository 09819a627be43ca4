"""Every name a unit's files write, with its span: where users, sequences and
properties are declared and used, which files are included, which events and
event fields conditions read. The language server answers hover, go to
definition and find references from it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import ast
from .context import walk_actions
from .schema import TRIGGER_EVENTS
from .source import Span


@dataclass(frozen=True, slots=True)
class Occurrence:
    """`kind` is user, sequence, property, include, event, field, clause or
    token; `name` is the name (for an include, the path of the file it
    names; for a field, `event.field`; for a clause, `footer` or
    `out_of_office MODE`; for a token, `unsubscribe_url`); `declaration`
    marks where a name is declared."""

    kind: str
    name: str
    span: Span
    declaration: bool = False


def occurrences(modules: list[ast.Module]) -> list[Occurrence]:
    out: list[Occurrence] = []
    for module in modules:
        for stmt in module.statements:
            if isinstance(stmt, ast.UserDecl):
                out.append(Occurrence("user", stmt.name.name, stmt.name.span, True))
                out.extend(_texts([stmt.footer.text if stmt.footer else None]))
                out.extend(_footer(stmt.footer))
            elif isinstance(stmt, ast.SequenceDecl):
                out.append(Occurrence("sequence", stmt.name.value, stmt.name.span, True))
                ooo = stmt.out_of_office
                if ooo is not None:
                    out.append(Occurrence("clause", f"out_of_office {ooo.mode}", ooo.span))
                texts = [stmt.footer.text if stmt.footer else None] + [
                    getattr(step, part, None) for step in stmt.steps for part in ("subject", "body", "text")
                ]
                out.extend(_texts(texts))
                out.extend(_footer(stmt.footer))
            elif isinstance(stmt, ast.PropertyDecl):
                out.append(Occurrence("property", stmt.name.name, stmt.name.span, True))
            elif isinstance(stmt, ast.Include):
                target = os.path.normpath(os.path.join(os.path.dirname(stmt.span.path), stmt.path.value))
                out.append(Occurrence("include", target, stmt.path.span))
            elif isinstance(stmt, ast.Workflow):
                out.extend(_workflow(stmt))
    return out


def _texts(texts: list[ast.Text | None]) -> list[Occurrence]:
    """The tokens of template strings that name something."""
    out = []
    for text in texts:
        if text is None:
            continue
        for token in text.tokens:
            if isinstance(token, ast.ContactToken):
                out.append(Occurrence("property", token.prop, token.prop_span))
            elif isinstance(token, ast.UnsubscribeToken):
                out.append(Occurrence("token", "unsubscribe_url", token.span))
    return out


def _footer(footer: ast.Footer | None) -> list[Occurrence]:
    """A footer as a whole, its keyword too; after its tokens, since the
    first occurrence under a cursor is the one it is on."""
    return [Occurrence("clause", "footer", footer.span)] if footer is not None else []


def _workflow(w: ast.Workflow) -> list[Occurrence]:
    out = [Occurrence("event", w.event.name, w.event.span)]
    event = TRIGGER_EVENTS.get(w.event.name)
    conditions = [w.where] if w.where is not None else []
    for action in walk_actions(w.actions):
        if isinstance(action, ast.If):
            conditions.append(action.condition)
        elif isinstance(action, ast.Enroll):
            out.append(Occurrence("sequence", action.sequence.value, action.sequence.span))
            out.append(Occurrence("user", action.user.name, action.user.span))
        elif isinstance(action, ast.Unenroll):
            out.append(Occurrence("sequence", action.sequence.value, action.sequence.span))
    for condition in conditions:
        for node in condition.walk():
            if isinstance(node, ast.PathRef) and node.scope == "contact":
                out.append(Occurrence("property", node.name, node.name_span))
            elif isinstance(node, ast.FieldRef) and event is not None and event.field(node.name):
                out.append(Occurrence("field", f"{event.name}.{node.name}", node.span))
    return out


def at(found: list[Occurrence], path: str, line: int, column: int) -> Occurrence | None:
    """The occurrence under a cursor (1-based; a cursor just after a name
    is on it too)."""
    for o in found:
        s = o.span
        if s.path == path and s.line == line and s.column <= column <= s.end_column:
            return o
    return None
