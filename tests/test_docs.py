"""Every example in the docs is checked (as actionlint does): the README's
Flow blocks check clean, and each rule's explanation shows an example that
the rule reports and a "use instead" that it does not."""
from __future__ import annotations

import re

import pytest

from flowc import dsl
from flowc.dsl.rules import RULES

from .conftest import ROOT

#: What the explanations' snippets leave out, added unless a snippet declares it.
PRELUDE = {
    ("user", "alice"): "user alice seat sales_enterprise inbox alice@x alias sales@x",
    **{("sequence", s): f'sequence "{s}" {{ email "Hi" body "Hello" }}'
       for s in ("Demo", "Reschedule", "Onboarding", "Outreach", "Welcome")},
}
FILES = {"team.flow": ""}
_BLOCK = re.compile(r"```flow\n(.*?)```", re.S)


def _snippet_diagnostics(snippet: str):
    """The diagnostics on the snippet's own lines, with what it leaves out
    declared before it."""
    declared = set(re.findall(r'^\s*(user|sequence)\s+"?([\w ]+?)"?\s', snippet, re.M))
    missing = [text for key, text in PRELUDE.items() if key not in declared]
    return [d for d in _check("\n".join(missing + [snippet])) if d.span.line > len(missing)]


def _check(text: str):
    def read(path):
        name = path.rsplit("/", 1)[-1]
        if name not in FILES:
            raise FileNotFoundError(path)
        return FILES[name]

    return dsl.check_sources([("example.flow", text)], read=read).diagnostics


def test_readme_examples_check_clean():
    blocks = _BLOCK.findall((ROOT / "README.md").read_text())
    assert blocks
    for block in blocks:
        assert _check(block) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_explanation_examples_show_the_rule(rule):
    example, instead = _BLOCK.findall(rule.explanation)[:2]
    assert rule.code in {d.code for d in _snippet_diagnostics(example)}
    after = _snippet_diagnostics(instead)
    assert rule.code not in {d.code for d in after}
    assert not [d for d in after if d.is_error], [d.message for d in after]
