"""The answers of the language server, each a function of an analysis (and a
position): diagnostics, hover, definitions, references, document symbols,
completion, code actions and formatting, as LSP types."""

from __future__ import annotations

import re
from pathlib import Path

from lsprotocol import types

from flowc.dsl import ast
from flowc.dsl.complete import complete
from flowc.dsl.names import at
from flowc.dsl.rules import token_without_fallback
from flowc.dsl.schema import BUILTIN_PROPERTIES, DEFAULT_PAUSE_DAYS, MAX_DAILY_LIMIT, SENDER_SEATS, TRIGGER_EVENTS
from flowc.dsl.symbols import property_type

from .analysis import Analysis
from .positions import LineIndex

SOURCE = "flowc"


def uri_of(path: str) -> str:
    return Path(path).absolute().as_uri()


def _location(a: Analysis, uri: str, span) -> types.Location | None:
    index = a.index_of(span.path)
    if index is None:
        return None
    return types.Location(uri=uri if span.path == a.path else uri_of(span.path), range=index.range(span))


# ---- diagnostics ---------------------------------------------------------------


def diagnostics(a: Analysis, uri: str) -> list[types.Diagnostic]:
    out = []
    for d in a.diagnostics():
        message = d.message + "".join(f"\nhelp: {h}" for h in d.help)
        related = [
            types.DiagnosticRelatedInformation(location=loc, message=n.message)
            for n in d.notes
            if (loc := _location(a, uri, n.span)) is not None
        ]
        out.append(
            types.Diagnostic(
                range=a.index.range(d.span),
                message=message,
                code=d.code,
                source=SOURCE,
                severity=types.DiagnosticSeverity.Error if d.is_error else types.DiagnosticSeverity.Warning,
                related_information=related or None,
            )
        )
    return out


# ---- hover ---------------------------------------------------------------------

_CODE_IN_COMMENT = re.compile(r"[EW]\d{3}")


def hover(a: Analysis, position: types.Position) -> types.Hover | None:
    line, column = a.index.line_column(position)
    parts = []
    found = at(a.names, a.path, line, column)
    if found is not None:
        text = _describe(a, found.kind, found.name)
        if text:
            parts.append(text)
    parts += [_explain(code) for code in _codes_at(a, line, column)]
    parts = [p for p in parts if p]
    if not parts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def _codes_at(a: Analysis, line: int, column: int) -> list[str]:
    """Codes of the diagnostics under the cursor, and a code written in a
    `# flowc: ignore[...]` comment under it."""
    codes = []
    for d in a.diagnostics():
        s = d.span
        if (s.line, s.column) <= (line, column) <= (s.end_line, s.end_column) and d.code not in codes:
            codes.append(d.code)
    module = a.module
    for c in module.comments if module else ():
        if c.line == line:
            for m in _CODE_IN_COMMENT.finditer(c.text):
                if c.column + m.start() <= column <= c.column + m.end() and m.group(0) not in codes:
                    codes.append(m.group(0))
    return codes


def _explain(code: str) -> str:
    from flowc.dsl.rules import find

    rule = find(code)
    if rule is None:
        return ""
    return f"**{rule.code} {rule.name}** ({rule.severity})\n\n{rule.explanation.strip()}"


def _describe(a: Analysis, kind: str, name: str) -> str:
    s = a.symbols
    if kind == "user" and name in s.users:
        u = s.users[name]
        seat = u.seat.name if u.seat else "none"
        lines = [
            f"**user {name}**",
            "",
            f"- seat: `{seat}`"
            + (" (may send sequence email)" if seat in SENDER_SEATS else " (cannot send sequence email)"),
            f"- inbox: {u.inbox.value if u.inbox else 'none connected'}",
        ]
        if u.aliases:
            lines.append("- aliases: " + ", ".join(x.value for x in u.aliases))
        limit = u.limit.value if u.limit else MAX_DAILY_LIMIT
        lines.append(f"- limit: {limit:g} sequence emails in any 24 hours" + ("" if u.limit else " (the default)"))
        return "\n".join(lines)
    if kind == "sequence" and name in s.sequences:
        steps = [f"{i}. {_step(step)}" for i, step in enumerate(s.sequences[name].steps, 1)]
        return f'**sequence "{name}"**\n\n' + ("\n".join(steps) or "no steps")
    if kind == "property":
        if name in s.properties:
            return f"**property {name}**: `{property_type(s.properties[name])}`"
        if name in BUILTIN_PROPERTIES:
            return f"**property {name}**: `{BUILTIN_PROPERTIES[name]}` (built in)"
    if kind == "event" and name in TRIGGER_EVENTS:
        fields = [
            f"- `{f.name}`: `{f.type}`" + ("" if f.required else " (optional)") for f in TRIGGER_EVENTS[name].fields
        ]
        return f"**event {name}**\n\n" + ("\n".join(fields) or "no fields")
    if kind == "field":
        event, field = name.split(".", 1)
        f = TRIGGER_EVENTS[event].field(field)
        values = f"\n\nvalues: {', '.join(f.type.values)}" if f.type.kind == "enum" else ""
        return f"**{field}**: `{f.type.kind}`, a field of `{event}`" + ("" if f.required else " (optional)") + values
    if kind == "include":
        return f"includes `{name}`"
    if kind in ("clause", "token"):
        return _CLAUSES.get(name, "")
    return ""


#: Hover texts of the clauses and the token of mail that is heard back.
_CLAUSES = {
    "footer": "**footer**: appended to every email body after one blank line, with the same tokens as a "
    "body; a sequence's footer wins over its user's. For the postal address and opt-out line "
    "commercial email law asks for.",
    "out_of_office pause": "**out_of_office pause**: an out-of-office answer pauses the enrollment until the "
    "return date it names, or else for the days the clause gives "
    f"({DEFAULT_PAUSE_DAYS} when it gives none, as for a sequence without the clause); "
    "the steps due meanwhile move.",
    "out_of_office continue": "**out_of_office continue**: an out-of-office answer changes nothing; the "
    "sequence goes on.",
    "out_of_office unenroll": "**out_of_office unenroll**: an out-of-office answer ends the enrollment.",
    "unsubscribe_url": "**{{unsubscribe_url}}**: the contact's one-click unsubscribe link, the same as the "
    "`List-Unsubscribe` header's; filled in when the email is sent (needs `--public-url`). "
    "In bodies and footers only.",
}


def _step(step) -> str:
    if isinstance(step, ast.EmailStep):
        out = f'email "{step.name.value}"'
        if step.subject is not None:
            out += f' — subject "{step.subject.value}"'
        return out
    if isinstance(step, ast.TaskStep):
        return f'task "{step.text.value}"'
    d = step.duration
    return f"wait {d.amount} {'business ' if d.business else ''}{d.unit}{'s' if d.amount != 1 else ''}"


# ---- definitions and references -------------------------------------------------


def definition(a: Analysis, uri: str, position: types.Position) -> list[types.Location]:
    line, column = a.index.line_column(position)
    found = at(a.names, a.path, line, column)
    if found is None:
        return []
    if found.kind == "include":
        if not Path(found.name).is_file() and found.name not in a.result.unit.sources.paths():
            return []
        start = types.Position(line=0, character=0)
        return [types.Location(uri=uri_of(found.name), range=types.Range(start=start, end=start))]
    out = []
    for o in a.names:
        if o.declaration and o.kind == found.kind and o.name == found.name:
            loc = _location(a, uri, o.span)
            if loc is not None:
                out.append(loc)
    return out[:1]


def references(a: Analysis, uri: str, position: types.Position, include_declaration: bool) -> list[types.Location]:
    line, column = a.index.line_column(position)
    found = at(a.names, a.path, line, column)
    if found is None:
        return []
    out = []
    for o in a.names:
        if o.kind == found.kind and o.name == found.name and (include_declaration or not o.declaration):
            loc = _location(a, uri, o.span)
            if loc is not None:
                out.append(loc)
    return out


# ---- document symbols ----------------------------------------------------------


def document_symbols(a: Analysis) -> list[types.DocumentSymbol]:
    module = a.module
    out = []
    for stmt in module.statements if module else ():
        symbol = _symbol(a.index, stmt)
        if symbol is not None:
            out.append(symbol)
    return out


def _symbol(index: LineIndex, stmt) -> types.DocumentSymbol | None:
    K = types.SymbolKind

    def make(name, kind, node, name_node, detail=None, children=None):
        return types.DocumentSymbol(
            name=name,
            kind=kind,
            range=index.range(node.span),
            selection_range=index.range(name_node.span),
            detail=detail,
            children=children,
        )

    if isinstance(stmt, ast.UserDecl):
        return make(stmt.name.name, K.Object, stmt, stmt.name, f"seat {stmt.seat.name if stmt.seat else 'none'}")
    if isinstance(stmt, ast.SequenceDecl):
        steps = [make(_step(s), K.Method, s, s) for s in stmt.steps]
        return make(stmt.name.value, K.Function, stmt, stmt.name, f"{len(stmt.steps)} steps", steps)
    if isinstance(stmt, ast.PropertyDecl):
        return make(stmt.name.name, K.Property, stmt, stmt.name, str(property_type(stmt)))
    if isinstance(stmt, ast.Include):
        return make(stmt.path.value, K.File, stmt, stmt.path, "include")
    if isinstance(stmt, ast.Workflow):
        name = stmt.name.value if stmt.name is not None else f"on {stmt.event.name}"
        return make(name, K.Event, stmt, stmt.name or stmt.event, f"on {stmt.event.name}")
    return None


# ---- completion ------------------------------------------------------------------

_KINDS = {
    "keyword": types.CompletionItemKind.Keyword,
    "event": types.CompletionItemKind.Event,
    "field": types.CompletionItemKind.Field,
    "property": types.CompletionItemKind.Property,
    "value": types.CompletionItemKind.EnumMember,
    "user": types.CompletionItemKind.Variable,
    "sequence": types.CompletionItemKind.Module,
    "address": types.CompletionItemKind.Text,
    "seat": types.CompletionItemKind.EnumMember,
    "unit": types.CompletionItemKind.Unit,
    "operator": types.CompletionItemKind.Operator,
    "token": types.CompletionItemKind.Variable,
    "scope": types.CompletionItemKind.Module,
}


def completion(a: Analysis | None, text: str, encoding: str, position: types.Position) -> types.CompletionList:
    """Completion in the document's current text, with the names of its
    latest analysis."""
    index = LineIndex(text, encoding)
    offset = index.offset(position)
    found = complete(text, offset, a.symbols if a is not None else None)
    edit_range = types.Range(start=index.position_at(found.start), end=index.position_at(offset))
    items = [
        types.CompletionItem(
            label=item.label,
            kind=_KINDS.get(item.kind),
            detail=item.detail or None,
            sort_text=f"{i:04d}",
            filter_text=item.label,
            text_edit=types.TextEdit(range=edit_range, new_text=item.label),
        )
        for i, item in enumerate(found.items)
    ]
    return types.CompletionList(is_incomplete=False, items=items)


# ---- code actions ----------------------------------------------------------------

_DID_YOU_MEAN = re.compile(r"did you mean ([`\"])(.+?)\1\?")
_FALLBACK = re.compile(r"\{\{contact\.(\w+) \| ([^}]+)\}\}")
#: The fallback offered when the rule suggests none for the property.
DEFAULT_FALLBACK = "there"


def code_actions(a: Analysis, uri: str, wanted: types.Range) -> list[types.CodeAction]:
    out = []
    for d, shown in zip(a.diagnostics(), diagnostics(a, uri), strict=False):
        r = shown.range
        if (r.end.line, r.end.character) < (wanted.start.line, wanted.start.character) or (
            r.start.line,
            r.start.character,
        ) > (wanted.end.line, wanted.end.character):
            continue
        fix = _fix(a, d)
        if fix is None:
            continue
        title, new_text = fix
        edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(range=r, new_text=new_text)]})
        out.append(
            types.CodeAction(
                title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[shown], edit=edit, is_preferred=True
            )
        )
    return out


def _fix(a: Analysis, d) -> tuple[str, str] | None:
    """(title, replacement of the diagnostic's span), or None."""
    for h in d.help:
        m = _DID_YOU_MEAN.search(h)
        if m:
            new = f'"{m.group(2)}"' if m.group(1) == '"' else m.group(2)
            return f"Replace with {new}", new
    if d.code == token_without_fallback.RULE.code:
        s = d.span
        start = a.index.starts[s.line - 1] + s.column - 1
        end = a.index.starts[s.end_line - 1] + s.end_column - 1
        token = a.text[start:end]
        prop = re.match(r"\{\{\s*contact\.(\w+)", token)
        if not (token.endswith("}}") and prop):
            return None
        fallback = DEFAULT_FALLBACK
        for h in d.help:
            m = _FALLBACK.search(h)
            if m and m.group(1) == prop.group(1):
                fallback = m.group(2)
        return f'Add the fallback "{fallback}"', f"{token[:-2].rstrip()} | {fallback}}}}}"
    return None


# ---- formatting ------------------------------------------------------------------


def formatting(a: Analysis) -> list[types.TextEdit] | None:
    """The whole document in the canonical layout, or None when it does not
    parse (there is nothing to format until it does)."""
    from flowc.dsl.format import FormatError, format_text

    try:
        new = format_text(a.text, a.path)
    except FormatError:
        return None
    if new == a.text:
        return []
    end = a.index.position(len(a.index.lines), len(a.index.lines[-1]) + 1)
    return [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=new)]
