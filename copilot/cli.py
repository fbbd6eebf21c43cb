"""`copilot` on the command line: a thin layer over the `Copilot` service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from copilot.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="complaint-copilot: drafts and checks replies to customer complaints.")
kb = typer.Typer(no_args_is_help=True, help="Build and search the knowledge base.")
app.add_typer(kb, name="kb")


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _service(store: Path | None):
    from copilot.service import Copilot

    overrides = {"store_dir": store} if store else {}
    return Copilot(get_settings(**overrides))


@kb.command("index")
def kb_index(
    paths: list[Path] = typer.Argument(None, help="Folders or files to index (default: the shipped knowledge/)."),
    store: Path | None = typer.Option(None, "--store", help="Embedded index folder (default: var/index)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Index knowledge (markdown, txt, html). Only new or changed passages are embedded."""
    from tqdm import tqdm

    from copilot.knowledge.loader import SourceError
    from copilot.retrieval import StoreUnavailable

    service = _service(store)
    bar = tqdm(total=0, unit="chunk", desc="embedding", disable=json_out or None, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = service.index_knowledge(paths or [], progress=progress)
    except (SourceError, StoreUnavailable) as exc:
        bar.close()
        _fail(str(exc))
    bar.close()
    if json_out:
        typer.echo(report.model_dump_json(indent=2))
        return
    typer.echo(
        f"indexed {report.documents} documents into '{report.collection}': {report.chunks} passages, "
        f"{report.embedded} embedded, {report.unchanged} unchanged, {report.removed} removed"
    )
    for notice in report.notices:
        typer.secho(f"notice: {notice}", fg=typer.colors.YELLOW, err=True)
    for skipped in report.skipped:
        typer.secho(f"skipped {skipped['path']}: {skipped['reason']}", fg=typer.colors.YELLOW, err=True)


@kb.command("search")
def kb_search(
    text: str = typer.Argument(..., help="What to look for: a question or the complaint itself."),
    k: int = typer.Option(5, "--k", min=1, max=100, help="How many passages."),
    kind: list[str] = typer.Option(None, "--kind", help="guidance | policy | phrase (repeatable)."),
    domain: list[str] = typer.Option(None, "--domain", help="general | telecom | ecommerce | banking | travel."),
    lang: list[str] = typer.Option(None, "--lang", help="zh-Hant | zh-Hans | en."),
    store: Path | None = typer.Option(None, "--store", help="Embedded index folder (default: var/index)."),
    json_out: bool = typer.Option(False, "--json", help="Print the passages as JSON."),
) -> None:
    """Search the knowledge base (dense + BM25, fused)."""
    from copilot.retrieval import IndexMissing, QueryError, SearchFilters, StoreUnavailable

    service = _service(store)
    filters = SearchFilters(kind=kind or None, domain=domain or None, language=lang or None)
    try:
        passages = service.search_knowledge(text, k=k, filters=filters)
    except (QueryError, IndexMissing, StoreUnavailable) as exc:
        _fail(str(exc))
    if json_out:
        typer.echo(json.dumps([p.model_dump() for p in passages], ensure_ascii=False, indent=2))
        return
    if not passages:
        typer.echo("no passage matches; try other words or fewer filters")
    for i, p in enumerate(passages, start=1):
        heading = f"{p.title} / {p.section}" if p.section and p.section != p.title else p.title
        typer.secho(f"{i}. [{p.doc_id}] {heading}  ({p.kind}, {p.language}, score {p.score:.4f})", bold=True)
        snippet = p.text if len(p.text) <= 240 else p.text[:240] + "…"
        typer.echo(f"   {snippet}\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
