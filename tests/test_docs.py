"""Every example in the docs is checked (as actionlint does): the README's
Flow blocks check clean, each rule's explanation shows an example that the
rule reports and a "use instead" that it does not, and every Flow block in
docs/ reports exactly the codes the page says it does.

How a page in docs/ says it: a ```flow block reports nothing, unless the line
just before it is a comment naming the codes it reports, e.g.

    <!-- flowc: E201 W305 -->

Blocks may leave out the users and sequences they do not show (`alice` and
the sequences of PRELUDE are declared for them), and W305 (unused
declaration) is not expected of a fragment unless named. A block that
includes a file of examples/ is checked as written, beside the examples. A block with a
`title="file.flow"` is a file of a worked example instead: the page's
```console blocks check and run it (tests/test_docs_site.py)."""

from __future__ import annotations

import re

import pytest
from flowc.dsl.rules import RULES

from flowc import dsl

from .conftest import EXAMPLES, ROOT

#: What the explanations' snippets leave out, added unless a snippet declares it.
PRELUDE = {
    ("user", "alice"): "user alice seat sales_enterprise inbox alice@x alias sales@x",
    **{
        ("sequence", s): f'sequence "{s}" {{ email "Hi" subject "Hi" body "Hello" }}'
        for s in ("Demo", "Reschedule", "Onboarding", "Outreach", "Welcome")
    },
}
FILES = {"team.flow": ""}
_BLOCK = re.compile(r"```flow\n(.*?)```", re.S)
#: A fenced block of docs/ with its info string and the comment line before it.
_DOC_BLOCK = re.compile(r"(?:^<!-- flowc: ([A-Z0-9 ]+) -->\n)?^```flow([^\n]*)\n(.*?)^```$", re.S | re.M)
DOC_PAGES = sorted((ROOT / "docs").rglob("*.md"))


def _snippet_diagnostics(snippet: str):
    """The diagnostics on the snippet's own lines, with what it leaves out
    declared before it."""
    declared = set(re.findall(r'^\s*(user|sequence)\s+"?([\w ]+?)"?\s', snippet, re.M))
    missing = [text for key, text in PRELUDE.items() if key not in declared]
    return [d for d in _check("\n".join([*missing, snippet])) if d.span.line > len(missing)]


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


def _doc_blocks():
    for page in DOC_PAGES:
        text = page.read_text()
        for m in _DOC_BLOCK.finditer(text):
            if "title=" in m.group(2):
                continue
            line = text.count("\n", 0, m.start(3)) + 1
            expected = frozenset((m.group(1) or "").split())
            yield pytest.param(m.group(3), expected, id=f"{page.relative_to(ROOT)}:{line}")


def _beside_examples(block: str):
    """The diagnostics of a block that includes the examples, in their folder."""

    def read(path):
        return (EXAMPLES / path.rsplit("/", 1)[-1]).read_text()

    result = dsl.check_sources([(str(EXAMPLES / "block.flow"), block)], read=read)
    return [d for d in result.diagnostics if d.span.path.endswith("block.flow")]


def _includes_examples(block: str) -> bool:
    included = re.findall(r'^\s*include\s+"([^"/]+)"', block, re.M)
    return bool(included) and all((EXAMPLES / name).is_file() for name in included)


@pytest.mark.parametrize("block, expected", list(_doc_blocks()))
def test_docs_flow_blocks_report_what_the_page_says(block, expected):
    diagnostics = _beside_examples(block) if _includes_examples(block) else _snippet_diagnostics(block)
    found = {d.code for d in diagnostics}
    if "W305" not in expected:
        found.discard("W305")
    assert found == expected
