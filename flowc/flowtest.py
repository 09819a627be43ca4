"""`flowc test`: run the `test` blocks of scripts, print PASS/FAIL per test
(a failing `expect` at its line, with the audit entries it saw), as text,
JSON or JUnit XML, and what they covered."""

from __future__ import annotations

import json
import re
import sys
from xml.etree import ElementTree as ET

import click

from .help import examples, format_option


def _step_text(r, sources) -> str:
    span = r.step.span
    line = sources.line(span.path, span.line) or ""
    return line.strip()


def _failure_text(r, sources) -> str:
    from flowc.dsl.diagnostics import ERROR, Diagnostic
    from flowc.dsl.render.text import render_diagnostic

    from .output import entry_line

    # FAIL is no checker rule: there is nothing for `flowc explain` to say.
    out = [
        render_diagnostic(
            Diagnostic("FAIL", ERROR, _step_text(r, sources), r.step.span, label=r.message), sources, explained=False
        )
    ]
    if r.saw:
        out.append("  saw since the previous expect:")
        out.extend("    " + entry_line(e) for e in r.saw)
    else:
        out.append("  saw no audit entries since the previous expect")
    return "\n".join(out)


def _text(results, sources, verbose: bool, cov) -> str:
    from flowc.dsl.render.text import _plural

    out = []
    for t in results:
        out.append(f"{'PASS' if t.passed else 'FAIL'}  {t.name}  ({t.path}:{t.line})")
        if verbose:
            for r in t.expects:
                out.append(f"      {'ok  ' if r.ok else 'FAIL'} {r.step.span.line}: {_step_text(r, sources)}")
        if not t.passed:
            out.append(_failure_text(t.failure, sources))
    failed = sum(1 for t in results if not t.passed)
    if cov is not None:
        out.append(_coverage_text(cov))
    out.append(f"{_plural(len(results), 'test')}: {len(results) - failed} passed, {failed} failed")
    return "\n".join(out)


def _coverage_text(cov) -> str:
    titles = {"workflow": "workflows", "arm": "if arms", "step": "sequence steps", "skip": "skip reasons"}
    out = ["coverage:"]
    for kind, title in titles.items():
        items = [(label, reached) for k, label, reached in cov.items if k == kind]
        if not items:
            continue
        hit = sum(1 for _, reached in items if reached)
        out.append(f"  {title}: {hit}/{len(items)}")
        out.extend(f"    {'+' if reached else '-'} {label}" for label, reached in items)
    out.append(f"  total: {cov.covered}/{len(cov.items)} ({cov.percent:.1f}%)")
    return "\n".join(out)


def _json(results, sources, cov) -> str:
    data = {"tests": [], "summary": {}}
    for t in results:
        item = {"name": t.name, "path": t.path, "line": t.line, "passed": t.passed, "expects": len(t.expects)}
        f = t.failure
        if f is not None:
            s = f.step.span
            item["failure"] = {
                "line": s.line,
                "column": s.column,
                "end_line": s.end_line,
                "end_column": s.end_column,
                "step": _step_text(f, sources),
                "message": f.message,
                "saw": [e.as_json() for e in f.saw],
            }
        data["tests"].append(item)
    failed = sum(1 for t in results if not t.passed)
    data["summary"] = {"tests": len(results), "passed": len(results) - failed, "failed": failed}
    if cov is not None:
        data["coverage"] = cov.as_dict()
    return json.dumps(data, indent=2)


def _junit(results, sources) -> str:
    failed = sum(1 for t in results if not t.passed)
    suite = ET.Element("testsuite", name="flowc test", tests=str(len(results)), failures=str(failed), errors="0")
    for t in results:
        case = ET.SubElement(suite, "testcase", name=t.name, classname=t.path, file=t.path, line=str(t.line))
        f = t.failure
        if f is not None:
            s = f.step.span
            fail = ET.SubElement(case, "failure", message=f"{s.path}:{s.line}:{s.column}: {f.message}", type="expect")
            fail.text = _failure_text(f, sources)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode")


@click.command(
    "test",
    epilog=examples(
        ("flowc test", "the tests of every *.flow below the current folder"),
        ("flowc test examples/ --run 'no.show' -v", "the matching tests, every expect shown"),
        ("flowc test examples/ --coverage", "and what they reached"),
        ("flowc test . --format junit > report.xml", "for a CI's test report"),
    ),
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="Show every expect, not only failing ones.")
@click.option("--run", "pattern", metavar="REGEX", help="Only the tests whose names match.")
@format_option(["text", "json", "junit"], "PASS/FAIL lines, one JSON object, or JUnit XML.")
@click.option(
    "--coverage",
    is_flag=True,
    help="Report which workflows, if arms, sequence steps and skip reasons the tests reached.",
)
def test(paths, verbose, pattern, fmt, coverage) -> None:
    """Run the scripts' test blocks, each on a fresh memory: store.

    A test is a `test "NAME" { ... }` block; a folder means every *.flow
    below it, checked as one unit. Each test runs through the same engine
    as `flowc run`.

    Exit status: 0 every test passed, 1 a test failed, no test ran, or the
    scripts have check errors, 2 usage error."""
    from flowc.interpreter.scenarios import Trace, run_tests
    from flowc.interpreter.scenarios import coverage as measure

    from .scripts import checked_or_exit

    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as e:
            raise click.BadParameter(f"not a regular expression: {e}", param_hint="--run") from None
    result = checked_or_exit(paths or (".",))
    trace = Trace()
    results = run_tests(result.program, pattern, trace)
    if not results:
        click.echo("no tests" + (f" match {pattern!r}" if pattern else " in these scripts"), err=True)
        sys.exit(1)
    cov = measure(result.program, trace) if coverage else None
    sources = result.unit.sources
    if fmt == "json":
        click.echo(_json(results, sources, cov))
    elif fmt == "junit":
        click.echo(_junit(results, sources))
        if cov is not None:
            click.echo(_coverage_text(cov), err=True)
    else:
        click.echo(_text(results, sources, verbose, cov))
    sys.exit(1 if any(not t.passed for t in results) else 0)
