"""The symbol table shared by every file of one check: users, sequences,
properties and workflows, first declaration wins, later ones are duplicates."""

from __future__ import annotations

from dataclasses import field
from typing import TypeVar

from . import ast
from .schema import BOOL, BUILTIN_PROPERTIES, DATE, NUMBER, TEXT, Type, enum
from .slotted import slotted
from .source import Span

_SIMPLE_TYPES = {"text": TEXT, "number": NUMBER, "bool": BOOL, "date": DATE}


def property_type(decl: ast.PropertyDecl) -> Type:
    if decl.type.kind == "enum":
        return enum(*(v.name for v in decl.type.values))
    return _SIMPLE_TYPES[decl.type.kind]


@slotted
class Symbols:
    users: dict[str, ast.UserDecl] = field(default_factory=dict)
    sequences: dict[str, ast.SequenceDecl] = field(default_factory=dict)
    properties: dict[str, ast.PropertyDecl] = field(default_factory=dict)
    workflows: list[ast.Workflow] = field(default_factory=list)
    tests: dict[str, ast.TestDecl] = field(default_factory=dict)
    holidays: list[ast.Holidays] = field(default_factory=list)
    named_workflows: dict[str, ast.Workflow] = field(default_factory=dict)
    #: (kind, duplicate node, first declaration's span or None for a built-in)
    duplicates: list[tuple[str, ast.Ident | ast.Text, Span | None]] = field(default_factory=list)

    def property_types(self) -> dict[str, Type]:
        types = dict(BUILTIN_PROPERTIES)
        for name, decl in self.properties.items():
            types[name] = property_type(decl)
        return types


def collect(modules: list[ast.Module]) -> Symbols:
    s = Symbols()
    for module in modules:
        for stmt in module.statements:
            if isinstance(stmt, ast.UserDecl):
                _declare(s, s.users, "user", stmt.name.name, stmt, stmt.name)
            elif isinstance(stmt, ast.SequenceDecl):
                _declare(s, s.sequences, "sequence", stmt.name.value, stmt, stmt.name)
            elif isinstance(stmt, ast.PropertyDecl):
                if stmt.name.name in BUILTIN_PROPERTIES:
                    s.duplicates.append(("property", stmt.name, None))
                else:
                    _declare(s, s.properties, "property", stmt.name.name, stmt, stmt.name)
            elif isinstance(stmt, ast.TestDecl):
                _declare(s, s.tests, "test", stmt.name.value, stmt, stmt.name)
            elif isinstance(stmt, ast.Holidays):
                s.holidays.append(stmt)
            elif isinstance(stmt, ast.Workflow):
                s.workflows.append(stmt)
                if stmt.name is not None:
                    _declare(s, s.named_workflows, "workflow", stmt.name.value, stmt, stmt.name)
    return s


_Decl = TypeVar("_Decl", ast.UserDecl, ast.SequenceDecl, ast.PropertyDecl, ast.TestDecl, ast.Workflow)


def _declare(
    s: Symbols, table: dict[str, _Decl], kind: str, name: str, node: _Decl, name_node: ast.Ident | ast.Text
) -> None:
    first = table.get(name)
    if first is None:
        table[name] = node
    else:
        first_name = first.name
        assert first_name is not None  # only named workflows are declared
        s.duplicates.append((kind, name_node, first_name.span))
