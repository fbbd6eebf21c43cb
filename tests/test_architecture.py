"""The package's shape: no import cycles (lazy imports inside functions included), and the pipeline's
lower stages never reach up into later stages or the faces."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "copilot"

# what each stage may import from the package (itself always allowed)
ALLOWED = {
    "copilot.text": set(),
    "copilot.errors": set(),
    "copilot.storage": {"copilot.errors"},
    "copilot.knowledge": {"copilot.text", "copilot.errors"},
    "copilot.checking": {"copilot.knowledge", "copilot.text", "copilot.privacy", "copilot.errors"},
    "copilot.analysis": {"copilot.knowledge", "copilot.text", "copilot.errors"},
    "copilot.retrieval": {"copilot.knowledge", "copilot.text", "copilot.privacy", "copilot.settings", "copilot.errors"},
}
FACES = {"copilot.api", "copilot.ui", "copilot.cli", "copilot.eval"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imports() -> dict[str, set[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("copilot"):
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges[name] |= {t for t in targets if t in modules and t != name}
    return edges


def _stage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_import_cycles_between_modules():
    edges = _imports()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(_modules()):
        if module not in state:
            visit(module, [module])
    assert cycles == [], f"import cycles: {cycles}"


def test_lower_stages_do_not_import_later_stages_or_faces():
    wrong = []
    for module, targets in _imports().items():
        stage = _stage(module)
        for target in targets:
            to = _stage(target)
            if to == stage:
                continue
            if (to in FACES and stage not in FACES | {"copilot.cli"}) or (stage in ALLOWED and to not in ALLOWED[stage]):
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "imports against the pipeline's direction: " + ", ".join(sorted(wrong))
