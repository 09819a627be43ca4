"""What every rule reads, computed once per unit (`Context`): the symbol
table, the workflows' actions and conditions, and the typing of the
conditions (`Typing`), which the compiler takes with the symbols to build the
program (dsl/compiler.py)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property

from . import ast
from .conditions import ConditionTyper, Problem
from .diagnostics import Code, Diagnostic
from .loader import Unit
from .program import Cond
from .schema import TRIGGER_EVENTS, Type
from .slotted import slotted
from .symbols import Symbols, collect


def walk_actions(actions: list[ast.Node]) -> Iterator[ast.Node]:
    """Every action in a block, entering `if` branches, in source order."""
    for a in actions:
        yield a
        if isinstance(a, ast.If):
            yield from walk_actions(a.then)
            if a.orelse:
                yield from walk_actions(a.orelse)


def if_conditions(workflow: ast.Workflow) -> Iterator[ast.Node]:
    """The conditions of a workflow's `if`s, in source order (the order in
    which the compiler meets them)."""
    return (a.condition for a in walk_actions(workflow.actions) if isinstance(a, ast.If))


@slotted(frozen=True)
class TypedWorkflow:
    """A workflow's conditions, typed: `where` and each `if`'s condition in
    source order; None where a condition has problems (or the event is
    unknown)."""

    workflow: ast.Workflow
    where: Cond | None
    ifs: tuple[Cond | None, ...]


@slotted(frozen=True)
class Typing:
    """What typing the conditions found: problems (E105, E106) and every
    workflow's typed conditions, in declaration order."""

    problems: tuple[Problem, ...]
    workflows: tuple[TypedWorkflow, ...]


class Context:
    def __init__(self, unit: Unit):
        self.unit = unit
        self.symbols: Symbols = collect(unit.modules)

    @cached_property
    def actions(self) -> list[tuple[ast.Workflow, ast.Node]]:
        return [(w, a) for w in self.symbols.workflows for a in walk_actions(w.actions)]

    @cached_property
    def test_steps(self) -> list[ast.Node]:
        """Every step of every `test` block, in source order."""
        return [step for t in self.symbols.tests.values() for step in t.steps]

    @cached_property
    def enrolls(self) -> list[tuple[ast.Workflow, ast.Enroll]]:
        return [(w, a) for w, a in self.actions if isinstance(a, ast.Enroll)]

    @staticmethod
    def conditions(workflow: ast.Workflow) -> list[ast.Node]:
        """The `where` and every `if` condition of a workflow."""
        where = [workflow.where] if workflow.where is not None else []
        return where + list(if_conditions(workflow))

    @cached_property
    def template_texts(self) -> list[tuple[ast.UserDecl | ast.SequenceDecl, str, ast.Text]]:
        """(declaration, part, text) for every string with tokens: a
        sequence step's `subject`, `body` or `task` text, and the `footer`
        of a user or sequence; `declaration` is the sequence or user."""
        out: list[tuple[ast.UserDecl | ast.SequenceDecl, str, ast.Text]] = []
        for user in self.symbols.users.values():
            if user.footer is not None:
                out.append((user, "footer", user.footer.text))
        for seq in self.symbols.sequences.values():
            if seq.footer is not None:
                out.append((seq, "footer", seq.footer.text))
            for step in seq.steps:
                for part in ("subject", "body", "text"):
                    text = getattr(step, part, None)
                    if text is not None:
                        out.append((seq, "task" if part == "text" else part, text))
        return out

    @cached_property
    def template_tokens(self) -> list[tuple[ast.UserDecl | ast.SequenceDecl, ast.Node]]:
        """(declaration, token) for every `{{...}}` token of `template_texts`."""
        return [(decl, t) for decl, _, text in self.template_texts for t in text.tokens]

    @cached_property
    def condition_nodes(self) -> list[tuple[ast.Workflow, ast.Node]]:
        """(workflow, node) for every node of every condition."""
        return [(w, n) for w in self.symbols.workflows for c in self.conditions(w) for n in c.walk()]

    @cached_property
    def property_types(self) -> dict[str, Type]:
        return self.symbols.property_types()

    @cached_property
    def typing(self) -> Typing:
        """Every condition of every workflow, typed against its event."""
        problems: list[Problem] = []
        typed: list[TypedWorkflow] = []
        for w in self.symbols.workflows:
            event = TRIGGER_EVENTS.get(w.event.name)
            if event is None:  # E104 is the one diagnostic for it
                typed.append(TypedWorkflow(w, None, tuple(None for _ in if_conditions(w))))
                continue
            typer = ConditionTyper(event, self.property_types)
            where = typer.typed(w.where) if w.where is not None else None
            typed.append(TypedWorkflow(w, where, tuple(typer.typed(c) for c in if_conditions(w))))
            problems.extend(typer.problems)
        return Typing(tuple(problems), tuple(typed))

    def typing_diagnostics(self, code: Code) -> list[Diagnostic]:
        """The condition-typing problems reported under `code` (E105, E106)."""
        return [
            code.report(p.message, p.span, label=p.label, help=p.help) for p in self.typing.problems if p.code == code
        ]

    @cached_property
    def sequence_users(self) -> set[str]:
        return {a.user.name for _, a in self.enrolls}

    def user(self, name: str) -> ast.UserDecl | None:
        return self.symbols.users.get(name)
