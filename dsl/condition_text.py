"""Conditions and durations written back as Flow text (for `flowc graph` and
the tools that show a workflow's `where` or `if`), with only the parentheses
the precedence needs. Built with an explicit stack: conditions may nest as
deep as the parser allows."""

from __future__ import annotations

from . import ast

#: Binding strength: `or` < `and` < `not` < a comparison.
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4


def quote(value: str) -> str:
    """A Flow string literal of `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def operand(node: ast.Node) -> str:
    """A field, property or literal as Flow writes it."""
    if isinstance(node, ast.FieldRef):
        return node.name
    if isinstance(node, ast.PathRef):
        return f"{node.scope}.{node.name}"
    if isinstance(node, ast.StringLit):
        return quote(node.value)
    if isinstance(node, ast.BoolLit):
        return "true" if node.value else "false"
    if isinstance(node, ast.TodayLit):
        return "today"
    assert isinstance(node, ast.NumberLit), node
    return str(node.value)  # an int when it is whole


def _leaf(node: ast.Node) -> str:
    if isinstance(node, ast.Compare):
        return f"{operand(node.left)} {node.op} {operand(node.right)}"
    if isinstance(node, ast.InList):
        items = ", ".join(operand(i) for i in node.items)
        return f"{operand(node.operand)} {'not in' if node.negated else 'in'} [{items}]"
    if isinstance(node, ast.Contains):
        return f"{operand(node.left)} contains {operand(node.right)}"
    if isinstance(node, ast.IsKnown):
        return f"{operand(node.operand)} is {'known' if node.known else 'unknown'}"
    if isinstance(node, ast.Truthy):
        return operand(node.operand)
    return operand(node)


def condition_text(node: ast.Node) -> str:
    """`node` (a condition) as Flow text."""
    done: dict[int, tuple[str, int]] = {}  # id(node) -> (text, strength)
    stack = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if isinstance(n, (ast.Or, ast.And)):
            if not expanded:
                stack += [(n, True), (n.right, False), (n.left, False)]
                continue
            strength, word = (_OR, "or") if isinstance(n, ast.Or) else (_AND, "and")
            left = _wrap(done.pop(id(n.left)), strength)
            right = _wrap(done.pop(id(n.right)), strength + 1)
            done[id(n)] = (f"{left} {word} {right}", strength)
        elif isinstance(n, ast.Not):
            if not expanded:
                stack += [(n, True), (n.operand, False)]
                continue
            done[id(n)] = (f"not {_wrap(done.pop(id(n.operand)), _NOT)}", _NOT)
        else:
            done[id(n)] = (_leaf(n), _ATOM)
    return done[id(node)][0]


def _wrap(item: tuple[str, int], needed: int) -> str:
    text, strength = item
    return text if strength >= needed else f"({text})"


def duration_text(d: ast.Duration) -> str:
    unit = ("business " if d.business else "") + d.unit + ("" if d.amount == 1 else "s")
    return f"{d.amount} {unit}"
