"""`flowc docs [TOPIC]`: the documentation pages shipped in the package,
for users who installed a wheel and have neither the repository nor the
built site. A page prints as the site shows it: its generated tables (event
fields, codes, options) are filled in from this installation's code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from .help import examples


def _folder() -> Path:
    """Where the pages are: `flowc/docs/` in an installed wheel (or an
    editable install that maps it), else the `docs/` beside the package in a
    source checkout whose editable install predates the pages' packaging."""
    spec = importlib.util.find_spec("flowc.docs")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "docs" / "index.md").is_file():
        return checkout / "docs"
    raise click.ClickException("this installation has no documentation pages; reinstall flowc")


def _title(page: Path) -> str | None:
    """The page's first `# ` heading."""
    with open(page, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# "):
                return line[2:].strip()
    return None


def topics(folder: Path) -> dict[str, str]:
    """Each page's name and title. A page without a title only includes a
    file from outside docs/ when the site is built (the changelog), which
    the package does not ship."""
    pages = {p.stem: _title(p) for p in sorted(folder.glob("*.md"))}
    return {name: title for name, title in pages.items() if title}


def _rendered(folder: Path, text: str) -> str:
    """The page with its generated tables filled in, by the hook the site's
    build uses (shipped beside the pages)."""
    spec = importlib.util.spec_from_file_location("flowc_docs_generated", folder / "hooks" / "generated.py")
    if spec is None or spec.loader is None:  # only if the installation lost the file's name
        raise click.ClickException("this installation cannot fill in the pages' tables; reinstall flowc")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook.render(text)


@click.command(
    "docs",
    epilog=examples(
        ("flowc docs", "list the topics"),
        ("flowc docs tutorial", "print the tutorial"),
        ("flowc docs editors | less", "set up an editor, page by page"),
    ),
)
@click.argument("topic", required=False)
def docs(topic) -> None:
    """Print a documentation page, or list the topics.

    TOPIC is a page's name; the page is markdown, as shipped with this
    version, its reference tables filled in from this installation.

    Exit status: 0 printed, 2 unknown topic."""
    from flowc.dsl.suggest import did_you_mean

    folder = _folder()
    pages = topics(folder)
    if topic is None:
        width = max(map(len, pages))
        for name, title in pages.items():
            click.echo(f"{name:<{width}}  {title}")
        return
    name = topic.removesuffix(".md")
    if name not in pages:
        shown = topic if len(topic) <= 100 else topic[:100] + "…"
        hint = " ".join(did_you_mean(shown, pages))
        raise click.BadParameter(
            f"no topic {shown!r}{'; ' + hint if hint else ''} (`flowc docs` lists them)", param_hint="TOPIC"
        )
    click.echo(_rendered(folder, (folder / f"{name}.md").read_text(encoding="utf-8")), nl=False)
