"""`flowc graph`: the scripts as a picture. Events lead to the workflows they
trigger (the edge says `where`), workflows to the sequences they enroll in or
unenroll from (the edge says under which `if` and after which `wait`), each
sequence is a box of its steps (waits on the edges between them), and users
point at the sequences they send."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import click

from .help import examples

#: Longer labels are cut (a picture, not a listing).
MAX_LABEL = 80


@dataclass
class Graph:
    #: (id, label, kind): kind is event, workflow or user.
    nodes: list[tuple[str, str, str]] = field(default_factory=list)
    #: (id, label, [(step id, label)], [wait label between step i and i+1])
    sequences: list[tuple[str, str, list, list]] = field(default_factory=list)
    #: (from, to, label, style): style solid or dotted.
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)


def _cut(text: str, limit: int = MAX_LABEL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _action_label(action: str, path: tuple) -> str:
    """The action, then the `if`s and `wait`s on the way to it (those cut
    when too long, never the action)."""
    if not path:
        return action
    return action + ", " + _cut("; ".join(path), max(MAX_LABEL - len(action) - 2, 20))


def build(result) -> Graph:
    """The graph of a checked unit (`CheckResult` without errors)."""
    from flowc.dsl import ast
    from flowc.dsl.condition_text import condition_text, duration_text

    symbols, program = result.context.symbols, result.program
    g = Graph()
    seq_ids = {}
    for i, (name, decl) in enumerate(symbols.sequences.items(), 1):
        sid = f"seq{i}"
        seq_ids[name] = sid
        steps, waits, pending = [], [], []
        for step in decl.steps:
            if isinstance(step, ast.WaitStep):
                pending.append("wait " + duration_text(step.duration))
                continue
            label = f"email: {step.name.value}" if isinstance(step, ast.EmailStep) else f"task: {step.text.value}"
            if steps:
                waits.append(", ".join(pending))
            pending = []
            steps.append((f"{sid}_{len(steps) + 1}", _cut(label)))
        g.sequences.append((sid, name, steps, waits))
    events, senders = {}, {}
    for i, (decl, compiled) in enumerate(zip(symbols.workflows, program.workflows, strict=False), 1):
        wid = f"wf{i}"
        g.nodes.append((wid, compiled.name, "workflow"))
        event = decl.event.name
        if event not in events:
            events[event] = f"ev_{event}"
        where = "where " + condition_text(decl.where) if decl.where is not None else ""
        g.edges.append((events[event], wid, _cut(where), "solid"))
        # (actions, index, path so far): an explicit stack, as `if`s nest.
        stack = [(decl.actions, 0, ())]
        while stack:
            actions, index, path = stack.pop()
            if index >= len(actions):
                continue
            action = actions[index]
            if isinstance(action, ast.WaitAction):
                stack.append((actions, index + 1, (*path, "after " + duration_text(action.duration))))
                continue
            stack.append((actions, index + 1, path))
            if isinstance(action, ast.If):
                cond = condition_text(action.condition)
                if action.orelse:
                    stack.append((action.orelse, 0, (*path, f"unless {cond}")))
                stack.append((action.then, 0, (*path, f"if {cond}")))
            elif isinstance(action, ast.Enroll):
                user = action.user.name
                sender = action.sender.value if action.sender else program.users[user].inbox
                g.edges.append((wid, seq_ids[action.sequence.value], _action_label(f"enroll as {user}", path), "solid"))
                senders.setdefault((user, action.sequence.value, sender), None)
            else:
                g.edges.append((wid, seq_ids[action.sequence.value], _action_label("unenroll", path), "dotted"))
    g.nodes[:0] = [(eid, event, "event") for event, eid in events.items()]
    for user in dict.fromkeys(u for u, _, _ in senders):
        g.nodes.append((f"user_{user}", user, "user"))
    for user, sequence, sender in senders:
        g.edges.append((f"user_{user}", seq_ids[sequence], f"sends from {sender}", "dotted"))
    return g


# ---- Mermaid -----------------------------------------------------------------


def _mq(text: str) -> str:
    """A Mermaid quoted label: entity codes for what Mermaid would read."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return f'"{text}"'


_MERMAID_SHAPES = {"event": ("([", "])"), "workflow": ("{{", "}}"), "user": ("[/", "/]")}


def mermaid(g: Graph) -> str:
    out = ["flowchart LR"]
    for nid, label, kind in g.nodes:
        left, right = _MERMAID_SHAPES[kind]
        out.append(f"  {nid}{left}{_mq(label)}{right}")
    for sid, name, steps, waits in g.sequences:
        out.append(f"  subgraph {sid}[{_mq(name)}]")
        out.append("    direction TB")
        for step_id, label in steps:
            out.append(f"    {step_id}[{_mq(label)}]")
        for (a, _), (b, _), wait in zip(steps, steps[1:], waits, strict=False):
            out.append(f"    {a} -->|{_mq(wait)}| {b}" if wait else f"    {a} --> {b}")
        out.append("  end")
    for a, b, label, style in g.edges:
        arrow = "-.->" if style == "dotted" else "-->"
        out.append(f"  {a} {arrow}|{_mq(label)}| {b}" if label else f"  {a} {arrow} {b}")
    return "\n".join(out) + "\n"


# ---- DOT -----------------------------------------------------------------------


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DOT_SHAPES = {"event": "ellipse", "workflow": "hexagon", "user": "parallelogram"}


def dot(g: Graph) -> str:
    out = [
        "digraph flow {",
        "  rankdir=LR;",
        "  node [fontname=Helvetica];",
        "  edge [fontname=Helvetica];",
        "  compound=true;",
    ]
    for nid, label, kind in g.nodes:
        out.append(f"  {nid} [label={_dq(label)}, shape={_DOT_SHAPES[kind]}];")
    # An edge to a sequence points at its first step and is clipped at the box.
    entry = {}
    for sid, name, steps, waits in g.sequences:
        out.append(f"  subgraph cluster_{sid} {{")
        out.append(f"    label={_dq(name)};")
        if not steps:
            steps = [(f"{sid}_empty", "(no steps)")]
        for step_id, label in steps:
            out.append(f"    {step_id} [label={_dq(label)}, shape=box];")
        for (a, _), (b, _), wait in zip(steps, steps[1:], waits, strict=False):
            out.append(f"    {a} -> {b}" + (f" [label={_dq(wait)}];" if wait else ";"))
        out.append("  }")
        entry[sid] = steps[0][0]
    for a, b, label, style in g.edges:
        attrs = []
        if b in entry:
            attrs.append(f"lhead=cluster_{b}")
            b = entry[b]
        if label:
            attrs.append(f"label={_dq(label)}")
        if style == "dotted":
            attrs.append("style=dashed")
        out.append(f"  {a} -> {b}" + (f" [{', '.join(attrs)}];" if attrs else ";"))
    out.append("}")
    return "\n".join(out) + "\n"


@click.command(
    "graph",
    epilog=examples(
        ("flowc graph examples/ > flow.mmd", "a Mermaid flowchart"),
        ("flowc graph examples/ --format dot | dot -Tsvg > flow.svg", "drawn by Graphviz"),
    ),
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid (GitHub and MkDocs render it) or DOT (Graphviz).",
)
def graph(paths, fmt) -> None:
    """Draw the scripts: events -> workflows -> sequences and their steps,
    and who sends them. Mermaid (GitHub and MkDocs render it) or DOT
    (Graphviz). Exit status: 0 drawn, 1 the scripts have check errors
    (nothing is drawn), 2 usage error."""
    from .scripts import checked_or_exit

    result = checked_or_exit(paths or (".",))
    g = build(result)
    click.echo(mermaid(g) if fmt == "mermaid" else dot(g), nl=False)
    sys.exit(0)
