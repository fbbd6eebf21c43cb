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


def _drive(url: str | list[str], path: str, bodies: list[dict], clients: int, seconds: float) -> dict:
    """`clients` threads posting for `seconds`; with several URLs, each request goes to the next one (round robin)."""
    urls = [url] if isinstance(url, str) else url
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
                    r = http.post(urls[i % len(urls)] + path, json=bodies[i % len(bodies)])
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
        env = {"COPILOT_STORE_DIR": str(index_dir), "COPILOT_AUDIT_DB": str(audit), "COPILOT_RATE_LIMIT_PER_MINUTE": "100000"}
        server = _serve(port, env)
        url = f"http://127.0.0.1:{port}"
        try:
            _ready(url)
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


def _serve(port: int, env: dict, api_only: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "copilot.cli", "serve", "--port", str(port), *(["--api-only"] if api_only else [])],
                            env=os.environ | env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ready(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not become ready")


def run_replicas(index_dir: Path, clients: int = 4, seconds: float = 15.0) -> dict:
    """/v1/suggest with one and with two `copilot serve --api-only` replicas on one PostgreSQL (Debian's server,
    started here), requests spread round robin; each replica reads its own copy of the index. All on this
    machine's cores, so two replicas share the CPU the one had."""
    import shutil

    from tests.pg_server import PostgresServer, server_bin

    if server_bin() is None:
        return {"skipped": "PostgreSQL's server is not installed (apt-get install postgresql)"}
    server = PostgresServer(_port()).init()
    server.start()
    report = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for count in (1, 2):
                url = server.create_database(f"bench{count}")
                env = {"COPILOT_DATABASE_URL": url, "COPILOT_RATE_LIMIT_PER_MINUTE": "100000"}
                subprocess.run([sys.executable, "-m", "copilot.cli", "db", "migrate"], env=os.environ | env, cwd=PROJECT_ROOT,
                               check=True, capture_output=True)
                replicas, urls = [], []
                for n in range(count):
                    copy = Path(tmp) / f"{count}-{n}"
                    shutil.copytree(index_dir, copy / "index")
                    port = _port()
                    replicas.append(_serve(port, env | {"COPILOT_DATA_DIR": str(copy), "COPILOT_STORE_DIR": str(copy / "index")}, api_only=True))
                    urls.append(f"http://127.0.0.1:{port}")
                try:
                    for u in urls:
                        _ready(u)
                    result = _drive(urls, "/v1/suggest", [{"complaint": c} for c in COMPLAINTS], clients, seconds)
                finally:
                    for proc in replicas:
                        proc.terminate()
                        proc.wait(timeout=30)
                import psycopg

                with psycopg.connect(url) as conn:
                    logged = conn.execute("SELECT count(*) FROM suggestions").fetchone()[0]
                report[f"replicas_{count}"] = result | {"audit_complete": logged == result["requests"] - result["errors"]}
    finally:
        server.cleanup()
    return {"clients": clients, "seconds": seconds, **report}
