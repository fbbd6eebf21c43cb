"""`copilot` on the command line: a thin layer over the `Copilot` service.

Each command imports the service and its libraries inside itself, on purpose: `copilot --help`, `copilot keys
hash` and a mistyped option answer at once instead of after loading chromadb, llama-index and the models."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import typer

from copilot.checking import CheckContext
from copilot.knowledge.layout import KnowledgeLayout
from copilot.knowledge.policies import LEVEL_NAMES
from copilot.settings import get_settings
from copilot.text import REPLY_LANGUAGES

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
    explain: bool = typer.Option(
        False, "--explain", help="Show what the question was expanded with and which channel found each passage."
    ),
) -> None:
    """Search the knowledge base (dense, BM25, the lexicon's expansion and sentence vectors, fused)."""
    from copilot.retrieval import IndexMissing, QueryError, SearchFilters, StoreUnavailable

    service = _service(store)
    filters = SearchFilters(kind=kind or None, domain=domain or None, language=lang or None)
    try:
        answer = service.explain_search(text, k=k, filters=filters)
    except (QueryError, IndexMissing, StoreUnavailable) as exc:
        _fail(str(exc))
    for notice in answer.notices:
        typer.secho(f"note: {notice}", fg=typer.colors.YELLOW, err=True)
    if json_out:
        data = answer.model_dump() if explain else [p.model_dump() for p in answer.passages]
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if explain:
        concepts = ", ".join(answer.concepts) or "none"
        typer.echo(f"lexicon concepts: {concepts}")
        typer.echo(f"also searched for: {' '.join(answer.expanded_with) or 'nothing'}\n")
    if not answer.passages:
        typer.echo("no passage matches; try other words or fewer filters")
    for i, p in enumerate(answer.passages, start=1):
        heading = f"{p.title} / {p.section}" if p.section and p.section != p.title else p.title
        typer.secho(f"{i}. [{p.doc_id}] {heading}  ({p.kind}, {p.language}, score {p.score:.4f})", bold=True)
        if explain:
            found = ", ".join(f"{name} #{rank}" for name, rank in sorted(p.channels.items(), key=lambda x: x[1]))
            typer.echo(f"   found by: {found or 'none'}")
        snippet = p.text if len(p.text) <= 240 else p.text[:240] + "…"
        typer.echo(f"   {snippet}\n")


def _result_json(result, fixed=None) -> dict:
    data = result.model_dump()
    if fixed is not None:
        data["fixed"] = {"text": fixed.text, "check": fixed.check.model_dump(), "changes": [c.model_dump() for c in fixed.changes]}
    return data


def _highlight(text: str, violations) -> str:
    out, cursor = [], 0
    for v in sorted(violations, key=lambda v: v.start):
        if v.start < cursor:
            continue
        out.append(text[cursor : v.start])
        out.append(typer.style(text[v.start : v.end], fg=typer.colors.RED, underline=True))
        cursor = v.end
    out.append(text[cursor:])
    return "".join(out)


@app.command("check")
def check(
    text: str = typer.Argument(None, help="The reply to check (or use --file)."),
    lang: str | None = typer.Option(None, "--lang", help="zh-Hant | zh-Hans | en (detected if not given)."),
    level: str = typer.Option("agent", "--level", help="agent | supervisor | manager: whose authority applies."),
    policy: str | None = typer.Option(None, "--policy", help="Policy category, e.g. ecommerce/late_delivery."),
    complaint: str | None = typer.Option(None, "--complaint", help="The customer's message (quotes of it are not flagged)."),
    file: Path | None = typer.Option(None, "--file", help="JSONL with a 'reply' field per line (optional lang, complaint, level, policy)."),
    fix: bool = typer.Option(False, "--fix", help="Also return a deterministic rewrite that passes the check."),
    json_out: bool = typer.Option(False, "--json", help="JSON output (one object per input line with --file)."),
) -> None:
    """Check a reply against the "no excuses, no blame" rules and the policy limits."""
    from copilot.checking import CheckError
    from copilot.service import Copilot

    if level not in LEVEL_NAMES:
        _fail(f"--level must be agent, supervisor or manager, not {level!r}")
    if lang is not None and lang not in REPLY_LANGUAGES:
        _fail(f"--lang must be zh-Hant, zh-Hans or en, not {lang!r}")
    service = Copilot(get_settings())
    if file is not None:
        _check_file(service, file, fix)
        return
    if text is None:
        _fail("give the text to check, or --file replies.jsonl")
    try:
        context = CheckContext(complaint=complaint, level=LEVEL_NAMES[level], policy=policy)
        result = service.check(text, lang, context)
        fixed = service.fix(text, lang, context) if fix else None
    except CheckError as exc:
        _fail(str(exc))
    if json_out:
        typer.echo(json.dumps(_result_json(result, fixed), ensure_ascii=False, indent=2))
        raise typer.Exit(0 if result.verdict == "ok" else 1)
    colour = {"ok": typer.colors.GREEN, "revise": typer.colors.YELLOW, "reject": typer.colors.RED}[result.verdict]
    typer.secho(f"verdict: {result.verdict} ({result.language})", fg=colour, bold=True)
    if result.violations:
        typer.echo(_highlight(text, result.violations))
    for v in result.violations:
        typer.echo(f"- [{v.severity}] {v.name} ({v.rule_id}) at {v.start}-{v.end}: \"{v.text}\"")
        typer.echo(f"    {v.explanation}")
        typer.echo(f"    fix: {v.suggestion}")
    typer.echo(f"moves present: {', '.join(result.moves_present) or '-'}; missing: {', '.join(result.moves_missing) or '-'}")
    for notice in result.notices:
        typer.secho(f"notice: {notice}", fg=typer.colors.YELLOW, err=True)
    if fixed is not None:
        typer.secho(f"rewrite ({fixed.check.verdict}):", bold=True)
        typer.echo(fixed.text)
    raise typer.Exit(0 if result.verdict == "ok" else 1)


def _each_line(path: Path, field: str, handle) -> None:
    """Run `handle(item)` for each JSON object line of `path` that has a string `field`, printing one JSON
    result per line in order; a bad line gets an error object and never aborts the run."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path}: {exc}")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object") from exc
            if not isinstance(item, dict) or not isinstance(item.get(field), str):
                raise ValueError(f"each line must be a JSON object with a string '{field}' field")
            out = {"line": number, **({"input_id": item["id"]} if "id" in item else {}), **handle(item)}
        except ValueError as exc:  # CheckError, ComplaintError and pydantic's ValidationError are ValueErrors
            out = {"line": number, "error": str(exc)}
        typer.echo(json.dumps(out, ensure_ascii=False))


def _check_file(service, path: Path, fix: bool) -> None:
    def handle(item: dict) -> dict:
        kwargs = {"complaint": item.get("complaint"), "level": item.get("level") or "agent", "policy": item.get("policy")}
        result = service.check(item["reply"], item.get("lang"), **kwargs)
        fixed = service.fix(item["reply"], item.get("lang"), **kwargs) if fix else None
        return _result_json(result, fixed)

    _each_line(path, "reply", handle)


DRAFT_TITLES = {"empathetic_reply": "Empathetic reply", "expectation_lowering": "Expectation-lowering explanation", "compensation": "Compensation wording"}


@app.command("suggest")
def suggest(
    complaint: str = typer.Argument(None, help="The customer's message (or use --file)."),
    level: str = typer.Option("agent", "--level", help="agent | supervisor | manager."),
    channel: str | None = typer.Option(None, "--channel", help="chat | email | phone | social | other."),
    contacts_before: int | None = typer.Option(None, "--contacts-before", min=0, help="Earlier contacts on this problem."),
    policy: str | None = typer.Option(None, "--policy", help="Force a policy category, e.g. travel/flight_delay."),
    file: Path | None = typer.Option(None, "--file", help="JSONL with a 'complaint' field per line (optional 'context')."),
    json_out: bool = typer.Option(False, "--json", help="JSON output (one object per input line with --file)."),
) -> None:
    """Analyse a complaint and draft three replies, each checked against the rules and the policy."""
    from pydantic import ValidationError

    from copilot.drafting import SuggestContext
    from copilot.service import ComplaintError, Copilot

    service = Copilot(get_settings())
    if file is not None:
        _each_line(
            file,
            "complaint",
            lambda item: json.loads(service.suggest(item["complaint"], SuggestContext(**(item.get("context") or {}))).model_dump_json()),
        )
        return
    if complaint is None:
        _fail("give the complaint text, or --file complaints.jsonl")
    try:
        context = SuggestContext.model_validate(
            {"level": level, "channel": channel, "contacts_before": contacts_before, "policy": policy})
        result = service.suggest(complaint, context)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except ComplaintError as exc:
        _fail(str(exc))
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
        return
    a = result.analysis
    typer.secho(f"{a.language} | needs: {', '.join(a.need_names) or '-'} | anger {a.anger}/3 | {a.customer_type}"
                + (f" ({a.hard_type})" if a.hard_type else "")
                + f" | escalation: {', '.join(a.signal_names) or '-'} | policy: {result.policy or '-'}", bold=True)
    for notice in result.notices + a.notices:
        typer.secho(f"notice: {notice}", fg=typer.colors.YELLOW, err=True)
    for d in result.drafts:
        typer.secho(f"\n{DRAFT_TITLES[d.kind]} ({d.engine}{', fixed by ' + d.fixed_by if d.fixed_by != 'none' else ''}; {d.check.verdict})", bold=True)
        typer.echo(d.text)
        if d.citations:
            typer.echo("  cites: " + "; ".join(f"{c.title} / {c.section} [{c.doc_id}]" for c in d.citations))


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 7860)."),
    api_only: bool = typer.Option(False, "--api-only", help="Serve the HTTP API without the side panel (a replica for CRMs)."),
) -> None:
    """Run the API and the side panel in one process (panel at /, API under /v1, docs at /docs)."""
    import socket

    import uvicorn

    from copilot.api import create_app
    from copilot.service import Copilot

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.api_key_hashes:
        _fail(
            f"refusing to listen on {host} without API keys: set COPILOT_API_KEY_HASHES (make one with "
            "`copilot keys hash YOUR-KEY`) or stay on 127.0.0.1"
        )
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            _fail(f"port {port} on {host} is already in use: stop the other process or pass --port (COPILOT_PORT)")
    service = Copilot(settings)
    app = create_app(service)  # opens the stores: a wrong database setting stops here, before anything else starts
    # the fixed guidance searches in the background, so the first agents' suggestions do not pay for them
    threading.Thread(target=service.warm, name="warm", daemon=True).start()
    if not api_only:
        import gradio as gr  # the panel's framework is loaded only when the panel is served

        from copilot.ui import build_panel
        from copilot.ui.panel import CSS

        app = gr.mount_gradio_app(app, build_panel(service), path="/", css=CSS)
    typer.echo(f"complaint-copilot on http://{host}:{port}/ (API docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")





evals = typer.Typer(no_args_is_help=True, help="Offline evaluation runs over sample complaints.")
app.add_typer(evals, name="eval")


@evals.command("run")
def eval_run(
    dataset: str = typer.Argument(..., help="A JSONL of cases, or shared:cfpb / shared:reviews (built from ../shared/data)."),
    engine: str = typer.Option("composer", "--engine", help="composer | llm (needs COPILOT_LLM_BASE_URL)."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=16),
    out: Path = typer.Option(Path("var/evals/latest"), "--out", help="Run folder (re-running resumes it)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N cases."),
    judge: bool = typer.Option(False, "--judge", help="Also score drafts with the LLM judge (llm engine only)."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="Fail (exit 1) if the run misses these gates."),
) -> None:
    """Replay complaints through the Copilot service; write results.jsonl, summary.json and report.html."""
    from copilot.eval.dataset import cfpb_cases, load_cases, review_cases
    from copilot.eval.gates import check_gates
    from copilot.eval.runner import run_eval
    from copilot.service import Copilot
    from copilot.settings import PROJECT_ROOT

    settings = get_settings()
    if engine not in ("composer", "llm"):
        _fail(f"--engine must be composer or llm, not {engine!r}")
    if engine == "llm" and not settings.llm_base_url:
        _fail("--engine llm needs an endpoint: set COPILOT_LLM_BASE_URL (and COPILOT_LLM_API_KEY, COPILOT_LLM_MODEL)")
    # the run keeps its own audit log next to its results, never the shared database
    overrides = {"audit_db": out / "audit.sqlite3", "database_url": None} | ({"llm_base_url": None} if engine == "composer" else {})
    service = Copilot(settings.model_copy(update=overrides))
    shared = PROJECT_ROOT.parent / "shared" / "data"
    try:
        if dataset.startswith("shared:"):
            if not shared.exists():
                _fail(f"{shared} is absent: shared datasets need ../shared/data next to the project")
            cases = {"shared:cfpb": cfpb_cases, "shared:reviews": review_cases}[dataset](shared, n=limit or 50)
        else:
            cases = load_cases(Path(dataset))
    except KeyError:
        _fail(f"unknown shared dataset {dataset!r}: use shared:cfpb or shared:reviews")
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {dataset}: {exc}")
    if limit:
        cases = cases[:limit]
    if not cases:
        _fail(f"{dataset} has no cases")
    summary = run_eval(service, cases, out, concurrency=concurrency, use_judge=judge)
    typer.echo(json.dumps({k: v for k, v in summary.items() if k not in ("latency_ms", "violations_by_rule")}, ensure_ascii=False, indent=2))
    typer.echo(f"report: {out / 'report.html'}", err=True)
    if thresholds is not None:
        failures = check_gates(summary, thresholds)
        for failure in failures:
            typer.secho(f"gate failed: {failure}", fg=typer.colors.RED, err=True)
        if failures:
            raise typer.Exit(1)


@evals.command("conversations")
def eval_conversations(
    paths: list[Path] = typer.Argument(..., help="Conversation files or folders (see evals/conversations/README.md)."),
    show_misses: bool = typer.Option(False, "--misses", help="Also list each missed or extra promise."),
) -> None:
    """Replay labelled conversations turn by turn and score the reading: promises, due times, anger, signals, trend."""
    import tempfile

    from copilot.eval.conversations import evaluate_conversations
    from copilot.service import Copilot

    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.glob("*.json")))
    if not files:
        _fail("no conversation files found: give .json files or folders that hold them")
    with tempfile.TemporaryDirectory() as scratch:  # the replayed conversations are not kept
        settings = get_settings(conversations_db=Path(scratch) / "conversations.sqlite3", audit_db=Path(scratch) / "audit.sqlite3",
                                database_url=None)
        scores = evaluate_conversations(Copilot(settings), files)
    typer.echo(scores.model_dump_json(indent=2, exclude=set() if show_misses else {"misses"}))


@evals.command("calibrate-checker")
def eval_calibrate_checker(
    files: list[Path] = typer.Argument(..., help="Labelled reply sets to measure on (the development sets, never a test set)."),
    write: bool = typer.Option(False, "--write", help="Write the result into knowledge/rules/calibration.yaml."),
    bands_from: list[Path] = typer.Option(None, "--bands-from",
                                          help="Sets for the classifier's bands; default all. A set the classifier trains on is "
                                               "measured with one trained without it."),
) -> None:
    """Measure each rule's precision, and the classifier's at each probability, on labelled replies."""
    import json

    from copilot.eval.calibration import calibrate, held_out_checkers, write_calibration
    from copilot.service import Copilot

    missing = [str(f) for f in [*files, *(bands_from or [])] if not f.is_file()]
    if missing:
        _fail(f"no such file: {', '.join(missing)}")
    service = Copilot(get_settings())
    held_out = held_out_checkers(service.checker, service.parts.layout.rules / "examples",
                                 service.parts.approved_phrasing(), service.settings.models_dir)
    measured = calibrate(service.checker, files, bands_from or None, held_out)
    if write:
        write_calibration(service.parts.layout.rules / "calibration.yaml", measured, files, bands_from or None)
    typer.echo(json.dumps(measured, ensure_ascii=False, indent=2))


@evals.command("tune-fusion")
def eval_tune_fusion(
    sets: list[str] = typer.Argument(
        ..., help="Development query sets (evals/retrieval format), each QUERIES or QUERIES=DOCS_FOLDER: with a folder, "
        "the set is asked of those documents indexed on their own, else of the current index. Never a test set."
    ),
    write: bool = typer.Option(False, "--write", help="Write the weights into knowledge/retrieval/fusion.yaml."),
) -> None:
    """Learn how much each retrieval channel counts: the grid of weights with the best mean MRR over the sets."""
    import tempfile

    from copilot.eval.fusion import question_channels, tune_fusion, write_fusion
    from copilot.retrieval.quality import load_queries
    from copilot.service import Copilot

    settings = get_settings()
    prepared = {}
    with tempfile.TemporaryDirectory() as scratch:
        for n, spec in enumerate(sets):
            queries_path, _, docs = spec.partition("=")
            if not Path(queries_path).is_file() or (docs and not Path(docs).exists()):
                _fail(f"no such file or folder in {spec!r}")
            service = Copilot(settings.model_copy(update={"data_dir": Path(scratch) / str(n)}) if docs else settings)
            if docs:
                service.index_knowledge([Path(docs)])
            queries = load_queries(Path(queries_path), sources=Path(docs) if docs else None)
            prepared[Path(queries_path).name] = (service.index, question_channels(service.index, queries))
        tuned = tune_fusion(prepared)
    if write:
        write_fusion(KnowledgeLayout(settings.knowledge_dir).retrieval / "fusion.yaml", tuned, list(prepared))
    typer.echo(tuned.model_dump_json(indent=2))


@evals.command("clauses-from-replies")
def eval_clauses_from_replies(
    files: list[Path] = typer.Argument(..., help="Labelled reply sets (evals/checker format)."),
    out: Path = typer.Option(..., "--out", help="The clause file to write (JSONL), e.g. knowledge/rules/examples/replies_x.jsonl."),
) -> None:
    """Turn labelled replies into training clauses for the learned layer: spans with their category, the other
    clauses as compliant."""
    import json

    from copilot.checking.quality import clause_examples, load_replies

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        _fail(f"no such file: {', '.join(missing)}")
    rows = clause_examples([item for f in files for item in load_replies(f)])
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    typer.echo(f"{len(rows)} clauses written to {out}")


@evals.command("diff")
def eval_diff(
    run_a: Path = typer.Argument(..., help="The earlier run folder."),
    run_b: Path = typer.Argument(..., help="The later run folder."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """What got better and worse from run A to run B, case by case."""
    from copilot.eval.runner import diff_runs

    for run in (run_a, run_b):
        if not (run / "results.jsonl").exists():
            _fail(f"{run} has no results.jsonl: give two folders written by `copilot eval run`")
    report = diff_runs(run_a, run_b)
    if json_out:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(f"better: {len(report['better'])}, worse: {len(report['worse'])}")
    for item in report["worse"]:
        typer.secho(f"  worse {item['id']}: {item['from']} -> {item['to']}  {'; '.join(item['problems'])}", fg=typer.colors.RED)
    for item in report["better"]:
        typer.secho(f"  better {item['id']}: {item['from']} -> {item['to']}", fg=typer.colors.GREEN)
    for key, change in report["totals"].items():
        typer.echo(f"  {key}: {change['a']} -> {change['b']}")


@evals.command("blind")
def eval_blind(
    run: Path = typer.Argument(..., help="A run folder written by `copilot eval run`."),
    dataset: Path = typer.Argument(..., help="The dataset the run replayed (for the complaints and reference replies)."),
    out: Path = typer.Option(..., "--out", help="Where to write the reviewers' files and the key."),
    sample: int | None = typer.Option(None, "--sample", min=1, help="Only a random sample of this many complaints."),
) -> None:
    """Files for blind review by people: drafts (with the reference reply as a control) to rate on a rubric,
    and our reply against the reference for a preference; the key that says which is which stays apart."""
    from copilot.eval.blind import export
    from copilot.eval.dataset import load_cases
    from copilot.eval.runner import load_results

    if not (run / "results.jsonl").exists():
        _fail(f"{run} has no results.jsonl: give a folder written by `copilot eval run`")
    try:
        cases = {c.id: c for c in load_cases(dataset)}
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {dataset}: {exc}")
    from copilot.drafting.llm_drafter import policy_summary
    from copilot.knowledge.policies import load_policies
    from copilot.settings import get_settings

    policies = load_policies(KnowledgeLayout(get_settings().knowledge_dir).policies)

    def note(key: str) -> str | None:
        category = policies.category(key)
        return policy_summary(category, "agent", "en")[0] if category else None

    counts = export(list(load_results(run).values()), cases, out, sample=sample, policy_note=note)
    typer.echo(f"{counts['rating']} replies to rate in {out / 'rating.jsonl'}, {counts['pairwise']} pairs in "
               f"{out / 'pairwise.jsonl'}; keep {out / 'key.json'} away from the reviewers")


@evals.command("blind-score")
def eval_blind_score(folder: Path = typer.Argument(..., help="The folder `copilot eval blind` wrote, with the answers added.")) -> None:
    """Join the reviewers' answers (rating.answers.jsonl, pairwise.answers.jsonl) with the key."""
    from pydantic import ValidationError

    from copilot.eval.blind import score

    if not (folder / "key.json").exists():
        _fail(f"{folder} has no key.json: give the folder `copilot eval blind` wrote")
    try:
        typer.echo(json.dumps(score(folder), ensure_ascii=False, indent=2))
    except (ValidationError, ValueError) as exc:
        _fail(f"an answer file is malformed: {exc}")


keys = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API.")
app.add_typer(keys, name="keys")


@keys.command("hash")
def keys_hash(key: str = typer.Argument(..., help="The key a CRM will send.")) -> None:
    """Print the sha256 digest to put in COPILOT_API_KEY_HASHES (only digests are stored)."""
    from copilot.api.app import hash_key

    typer.echo(hash_key(key))


logs = typer.Typer(no_args_is_help=True, help="The audit log.")
app.add_typer(logs, name="logs")


@logs.command("export")
def logs_export(
    since: str | None = typer.Option(None, "--since", help="ISO date or time, e.g. 2026-11-01."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | csv"),
    out: Path | None = typer.Option(None, "--out", help="Write to a file instead of standard output."),
) -> None:
    """Export suggestions, final checks and feedback (personal data masked)."""
    from datetime import datetime

    from copilot.service import Copilot

    if fmt not in ("jsonl", "csv"):
        _fail(f"--format must be jsonl or csv, not {fmt!r}")
    if since:
        try:
            datetime.fromisoformat(since)
        except ValueError:
            _fail(f"--since {since!r} is not a date: use YYYY-MM-DD or an ISO timestamp")
    text = Copilot(get_settings()).audit.export(since, "csv" if fmt == "csv" else "jsonl")
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"written {out}", err=True)
    else:
        typer.echo(text, nl=False)


db = typer.Typer(no_args_is_help=True, help="The database of the audit log, conversations and rate limits.")
app.add_typer(db, name="db")


def _stores():
    from copilot.stores import Stores

    return Stores(get_settings())


@db.command("migrate")
def db_migrate() -> None:
    """Bring the schema up to date (safe to run from several machines at once: one applies, the others wait)."""
    stores = _stores()
    for component, applied in stores.migrate().items():
        done = f"applied {', '.join(map(str, applied))}" if applied else "already up to date"
        typer.echo(f"{component}: {done}")
    for state in stores.state():
        typer.echo(f"{state.component} at version {state.version} in {state.where}")


@db.command("check")
def db_check() -> None:
    """Reachable, and at this copilot's schema version? Exit 1 and say what to run if not."""
    states = _stores().state()
    for state in states:
        mark = "ok" if state.current else ("run `copilot db migrate`" if state.version < state.latest else "newer than this copilot: upgrade it")
        typer.echo(f"{state.component}: version {state.version} of {state.latest} in {state.where}: {mark}")
    if not all(state.current for state in states):
        raise typer.Exit(1)


@db.command("copy")
def db_copy(
    source: str = typer.Option(..., "--from", help="sqlite:PATH: an audit.sqlite3 or conversations.sqlite3 file, or the data folder holding them."),
) -> None:
    """Copy an existing SQLite audit log and conversations into the configured database (rows already there are
    kept; running it again copies nothing twice)."""
    if not source.startswith("sqlite:"):
        _fail(f"--from {source!r}: give sqlite:PATH, the SQLite file or data folder to copy from")
    if get_settings().database_url is None:
        _fail("COPILOT_DATABASE_URL is not set: copy moves SQLite files into the PostgreSQL it names")
    path = Path(source.removeprefix("sqlite:")).expanduser()
    if not path.exists():
        _fail(f"--from {source!r}: {path} does not exist")
    for table, count in _stores().copy_from_sqlite(path).items():
        typer.echo(f"{table}: {count} rows copied")


@db.command("vacuum")
def db_vacuum(
    full: bool = typer.Option(False, "--full", help="PostgreSQL: rewrite the tables (VACUUM FULL, an exclusive lock while it runs)."),
) -> None:
    """Reclaim the space of forgotten conversations, so their text leaves the data files (see README: privacy)."""
    stores = _stores()
    stores.conversations.db.vacuum(["turns", "conversations"], full=full)
    typer.echo(f"vacuumed the conversations in {stores.conversations.db.where}")


def main() -> None:
    from copilot.errors import CopilotError

    try:
        app()
    except CopilotError as exc:  # every error a user can act on: one line, exit 2
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
