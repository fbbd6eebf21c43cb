"""Load on the HTTP API from a second process: concurrent clients on loopback for a bounded time,
composer mode. Reports throughput and latency for /v1/check and /v1/suggest, counts errors, and checks
that every request landed in the audit log."""

from __future__ import annotations

import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from copilot.settings import PROJECT_ROOT

REPLIES = ["請您冷靜一點，這是倉庫那邊的錯。", "I'm sorry your parcel is late; I'll chase it and call you back by 5pm today.",
           "非常抱歉让您久等了，我会在24小时内给您回复。"]
COMPLAINTS = ["我的訂單晚了五天還沒到，叫你們主管出來！", "宽带断网三天了，什么时候修好？", "My card was charged twice for the annual fee."]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drive(url: str, path: str, bodies: list[dict], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = n
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    r = http.post(url + path, json=bodies[i % len(bodies)])
                    ok = r.status_code == 200
                except httpx.HTTPError as exc:
                    ok, r = False, exc
                elapsed = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(str(getattr(r, "status_code", r)))
                i += clients

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(latencies), "errors": len(errors), "per_second": round(len(latencies) / wall, 1),
            "p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1)}


def run(index_dir: Path, clients: int = 4, seconds: float = 15.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        audit = Path(tmp) / "audit.sqlite3"
        port = _port()
        env = os.environ | {"COPILOT_STORE_DIR": str(index_dir), "COPILOT_AUDIT_DB": str(audit), "COPILOT_RATE_LIMIT_PER_MINUTE": "100000"}
        server = subprocess.Popen([sys.executable, "-m", "copilot.cli", "serve", "--port", str(port)], env=env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while time.time() < deadline:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            check = _drive(url, "/v1/check", [{"text": t, "final": True} for t in REPLIES], clients, seconds)
            suggest = _drive(url, "/v1/suggest", [{"complaint": c} for c in COMPLAINTS], clients, seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
        db = sqlite3.connect(audit)
        logged_checks = db.execute("SELECT count(*) FROM checks WHERE final = 1").fetchone()[0]
        logged_suggestions = db.execute("SELECT count(*) FROM suggestions").fetchone()[0]
    return {
        "clients": clients, "seconds_each": seconds, "check": check, "suggest": suggest,
        "audit_complete": logged_checks == check["requests"] - check["errors"] and logged_suggestions == suggest["requests"] - suggest["errors"],
        "logged": {"checks": logged_checks, "suggestions": logged_suggestions},
    }
