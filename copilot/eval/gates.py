"""CI gates: compare a run's summary with evals/thresholds.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path


def check_gates(summary: dict, thresholds: Path) -> list[str]:
    rules = tomllib.loads(Path(thresholds).read_text(encoding="utf-8"))
    failures = []
    for key, floor in rules.get("floors", {}).items():
        value = summary.get(key)
        if value is not None and value < floor:
            failures.append(f"{key} = {value} is below {floor}")
    for key, ceiling in rules.get("ceilings", {}).items():
        value = summary.get(key)
        if value is not None and value > ceiling:
            failures.append(f"{key} = {value} is above {ceiling}")
    return failures
