"""`flowc graph`: the structure of the picture (events -> workflows ->
sequences -> steps, users as senders) in Mermaid and DOT, and conditions
written back as Flow text."""

from __future__ import annotations

import re

from click.testing import CliRunner
from flowc.dsl import parse
from flowc.dsl.condition_text import condition_text
from flowc.dsl.format import shape
from hypothesis import HealthCheck, given, settings

from flowc.cli import main

from .conftest import EXAMPLES
from .test_format import _expr


def graph(*args):
    return CliRunner().invoke(main, ["graph", *map(str, args)], catch_exceptions=False)


def _mermaid(text: str):
    """(nodes: id -> label, edges: {(from, to, label, arrow)}, subgraphs: id -> (label, [step ids]))."""
    nodes, edges, subgraphs, current = {}, set(), {}, None
    for line in text.splitlines()[1:]:
        line = line.strip()
        if m := re.fullmatch(r'subgraph (\w+)\["(.*)"\]', line):
            current = m.group(1)
            subgraphs[current] = (m.group(2), [])
        elif line == "end":
            current = None
        elif m := re.fullmatch(r'(\w+) (-->|-\.->)(?:\|"(.*?)"\|)? (\w+)', line):
            edges.add((m.group(1), m.group(4), m.group(3) or "", m.group(2)))
        elif m := re.fullmatch(r'(\w+)[\[\(\{/]+"(.*)"[\]\)\}/]+', line):
            nodes[m.group(1)] = m.group(2)
            if current:
                subgraphs[current][1].append(m.group(1))
    return nodes, edges, subgraphs


def test_example_graph_in_mermaid():
    r = graph(EXAMPLES)
    assert r.exit_code == 0 and r.output.startswith("flowchart LR\n")
    nodes, edges, subgraphs = _mermaid(r.output)
    by_label = {label: nid for nid, label in nodes.items()}
    seqs = {label: sid for sid, (label, _) in subgraphs.items()}
    assert set(seqs) == {"Book a meeting", "Onboarding", "Reschedule"}
    # steps in order, the waits on the edges between them
    _book, steps = subgraphs[seqs["Book a meeting"]]
    assert [nodes[s] for s in steps] == [
        "email: Intro",
        "email: Follow-up",
        "task: Call {{contact.firstname}} at {{contact.company}} about the demo",
    ]
    assert (steps[0], steps[1], "wait 2 business days", "-->") in edges
    assert (steps[1], steps[2], "wait 3 days", "-->") in edges
    # events -> workflows, with their where
    demo = by_label["Demo request"]
    assert (by_label["form_submitted"], demo, "where form == #quot;Sales qualified#quot;", "-->") in edges
    assert (by_label["meeting_outcome"], by_label["No-show"], "where outcome == no_show", "-->") in edges
    # workflows -> sequences, under their if and after their wait
    assert (
        demo,
        seqs["Book a meeting"],
        "enroll as alice, if contact.tier == enterprise or contact.trial_active",
        "-->",
    ) in edges
    assert (
        demo,
        seqs["Book a meeting"],
        "enroll as alice, unless contact.tier == enterprise or contact.trial_active",
        "-->",
    ) in edges
    assert (by_label["No-show"], seqs["Reschedule"], "enroll as alice, after 2 hours", "-->") in edges
    assert (by_label["line 19"], seqs["Book a meeting"], "unenroll", "-.->") in edges
    # users as senders, from each address they send from
    assert {(a, b, label) for a, b, label, arrow in edges if a.startswith("user_")} == {
        (by_label["alice"], seqs["Book a meeting"], "sends from sales@acme.example"),
        (by_label["alice"], seqs["Book a meeting"], "sends from alice@acme.example"),
        (by_label["alice"], seqs["Reschedule"], "sends from alice@acme.example"),
        (by_label["maria"], seqs["Onboarding"], "sends from maria@acme.example"),
    }


def test_example_graph_in_dot():
    r = graph(EXAMPLES, "--format", "dot")
    assert r.exit_code == 0
    out = r.output
    assert out.startswith("digraph flow {") and out.rstrip().endswith("}")
    assert out.count("subgraph cluster_") == 3
    assert re.search(r'seq1_1 -> seq1_2 \[label="wait 2 business days"\];', out)
    assert re.search(r'ev_form_submitted -> wf1 \[label="where form == \\"Sales qualified\\""\];', out)
    assert re.search(r'wf3 -> seq1_1 \[lhead=cluster_seq1, label="unenroll", style=dashed\];', out)
    assert out.count("{") == out.count("}")


def test_labels_are_escaped_and_cut(tmp_path):
    (tmp_path / "s.flow").write_text(
        "user a seat sales_enterprise inbox a@x\n"
        'sequence "Say \\"hi\\" <b> #1" { task "' + "x" * 200 + '" }\n'
        'on form_submitted where form == "a#b" enroll in "Say \\"hi\\" <b> #1" as a\n'
    )
    r = graph(tmp_path)
    assert r.exit_code == 0
    assert 'subgraph seq1["Say #quot;hi#quot; #lt;b#gt; #35;1"]' in r.output
    assert '"task: ' + "x" * 73 + '…"' in r.output
    assert '"where form == #quot;a#35;b#quot;"' in r.output


def test_check_errors_are_not_drawn(tmp_path):
    (tmp_path / "s.flow").write_text('on form_submitted enroll in "Nope" as a\n')
    r = CliRunner().invoke(main, ["graph", str(tmp_path)])
    assert r.exit_code == 1 and "E101" in r.output
    r = CliRunner().invoke(main, ["graph", str(tmp_path / "missing.flow")])
    assert r.exit_code == 2


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expr(3))
def test_conditions_written_back_parse_to_the_same_condition(expr):
    module, errors = parse(f"on e where {expr} wait 1 day")
    assert not errors
    where = module.statements[0].where
    again = parse(f"on e where {condition_text(where)} wait 1 day")[0].statements[0].where
    assert shape(again) == shape(where)


def test_deep_conditions_are_written_without_recursion():
    where = parse("on e where " + "(" * 3000 + "not a" + ")" * 3000 + " wait 1 day")[0].statements[0].where
    assert condition_text(where) == "not a"


def test_docs_show_the_examples_graph_as_it_is():
    from .conftest import ROOT

    page = (ROOT / "docs" / "authoring.md").read_text()
    shown = re.search(r"```mermaid\n(.*?)```", page, re.S).group(1)
    assert shown == graph(EXAMPLES).output, "update the graph in docs/authoring.md: flowc graph examples/"
