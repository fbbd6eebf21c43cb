"""Two `copilot serve` replicas as separate processes, each with its own local folder, sharing a real
PostgreSQL and a real Chroma server, as behind a load balancer: one conversation posted to through both,
idempotent retries across them, one rate limit, a replica killed with SIGKILL in the middle of a burst, and
PostgreSQL restarted under load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from copilot.api import create_app
from copilot.api.app import hash_key
from copilot.service import Copilot
from copilot.settings import Settings
from copilot.stores import Stores
from tests.conftest import free_port, running_chroma, serve_in_thread, wait_for_http

MAIN, BURST, LIMITED = "crm-main-key", "crm-burst-key", "crm-limited-key"
PER_MINUTE = 90
COMPLAINTS = [
    "快遞延誤一週了，客服一直推來推去，我要退款！",
    "我的退款申請已經兩個星期都沒有消息，到底什麼時候會到帳？",
    "The router keeps dropping the connection every evening and support never calls back.",
    "充电宝用了三天就鼓包了，你们必须给我换新的。",
]


@pytest.fixture(scope="module")
def knowledge_server(tmp_path_factory):
    """A Chroma server holding the shipped knowledge (lexical search: embedding every passage would take a minute)."""
    folder = tmp_path_factory.mktemp("chroma")
    with running_chroma(folder) as url:
        Copilot(Settings(data_dir=folder / "indexer", chroma_url=url, embedding="none")).index_knowledge()
        yield url


def _replica(port: int, folder: Path, env: dict) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "serve.log", "wb")  # noqa: SIM115 (the replica writes to it until it stops)
    return subprocess.Popen([str(Path(sys.executable).parent / "copilot"), "serve", "--api-only", "--port", str(port)],
                            env={**os.environ, **env, "COPILOT_DATA_DIR": str(folder)}, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def cluster(knowledge_server, postgres, tmp_path_factory):
    """Two replicas on one PostgreSQL database: their URLs, the database URL and the processes."""
    import uuid

    url = postgres.create_database(f"r{uuid.uuid4().hex[:12]}")
    env = {"COPILOT_DATABASE_URL": url, "COPILOT_CHROMA_URL": knowledge_server, "COPILOT_EMBEDDING": "none",
           "COPILOT_API_KEY_HASHES": json.dumps([hash_key(k) for k in (MAIN, BURST, LIMITED)]),
           "COPILOT_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE), "COPILOT_IDEMPOTENCY_LEASE_SECONDS": "3",
           "COPILOT_DATABASE_TIMEOUT": "2"}
    Stores(Settings(database_url=SecretStr(url))).migrate()
    folder = tmp_path_factory.mktemp("replicas")
    ports = [free_port(), free_port()]
    procs = [_replica(port, folder / name, env) for port, name in zip(ports, "ab", strict=True)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    for u, proc in zip(urls, procs, strict=True):
        wait_for_http(f"{u}/readyz", proc, seconds=90)
    yield {"urls": urls, "db": url, "procs": procs}
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


def _post(url: str, path: str, body: dict, key: str | None = None, api_key: str = MAIN, timeout: float = 60) -> httpx.Response:
    headers = {"X-API-Key": api_key} | ({"Idempotency-Key": key} if key else {})
    return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=timeout)


def _get(url: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"X-API-Key": MAIN}, timeout=30)


def _rows(db_url: str, sql: str, *values) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, values).fetchall()


def test_a_conversation_posted_through_both_replicas_reads_the_same_through_either(cluster):
    a, b = cluster["urls"]
    started = _post(a, "/v1/conversations", {"id": "crm-1", "channel": "chat"})
    assert started.status_code == 201
    turns = [("customer", "我三月十號訂的洗衣機到現在還沒送到，已經打了三次電話！"),
             ("agent", "真的很抱歉讓您等了這麼久，我現在就幫您查物流，今天下午五點前回電給您。"),
             ("customer", "你們每次都這樣說，我要退款。"),
             ("agent", "明白您的心情，退款我今天就幫您申請，三個工作天內會到帳。"),
             ("customer", "好，那我等你們的電話。")]
    for n, (role, text) in enumerate(turns):
        posted = _post((a, b)[n % 2], "/v1/conversations/crm-1/messages", {"role": role, "text": text})
        assert posted.status_code == 200, posted.text
        assert [t["index"] for t in posted.json()["conversation"]["turns"]] == list(range(n + 1))
    through_a, through_b = _get(a, "/v1/conversations/crm-1").json(), _get(b, "/v1/conversations/crm-1").json()
    assert through_a == through_b
    assert [t["text"] for t in through_a["turns"]] == [text for _, text in turns]
    assert through_a["commitments"] and through_a["trend"]["points"], "the agent's promises are in the ledger read by both"
    # forgotten through one replica, gone through the other
    assert httpx.delete(f"{b}/v1/conversations/crm-1", headers={"X-API-Key": MAIN}).status_code == 204
    assert _get(a, "/v1/conversations/crm-1").status_code == 404


def test_an_idempotent_retry_on_the_other_replica_replays_the_first_answer(cluster):
    a, b = cluster["urls"]
    first = _post(a, "/v1/suggest", {"complaint": COMPLAINTS[0]}, key="order-881-first-contact")
    again = _post(b, "/v1/suggest", {"complaint": COMPLAINTS[0]}, key="order-881-first-contact")
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    assert _rows(cluster["db"], "SELECT count(*) FROM suggestions WHERE id = %s", first.json()["id"]) == [(1,)]
    # the same turn posted to both replicas at once is stored once
    assert _post(a, "/v1/conversations", {"id": "crm-2"}).status_code == 201
    body = {"role": "customer", "text": "The technician never came and I took a day off work for it."}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda u: _post(u, "/v1/conversations/crm-2/messages", body, key="turn-7"), (a, b)))
    assert [r.status_code for r in answers] == [200, 200]
    assert len(_get(b, "/v1/conversations/crm-2").json()["turns"]) == 1


def test_the_rate_limit_holds_across_both_replicas(cluster):
    a, b = cluster["urls"]
    started = time.monotonic()
    codes = [httpx.get(f"{(a, b)[n % 2]}/v1/kb/search", params={"q": "退款", "k": 1}, headers={"X-API-Key": LIMITED},
                       timeout=30).status_code for n in range(2 * PER_MINUTE)]
    refilled = (time.monotonic() - started) * PER_MINUTE / 60
    assert set(codes) <= {200, 429}
    assert PER_MINUTE <= codes.count(200) <= PER_MINUTE + refilled + 1, "each replica kept its own count"


def test_a_replica_killed_mid_burst_loses_nothing_acknowledged(cluster):
    a, b = cluster["urls"]
    assert _post(b, "/v1/conversations", {"id": "crm-3"}).status_code == 201
    acknowledged: dict[str, str] = {}  # idempotency key -> suggestion id the client got
    turns_sent: list[str] = []
    retried: list[int] = []
    lock = threading.Lock()
    under_way = threading.Event()  # set once a few requests were answered: the kill lands mid-burst

    def request(n: int) -> None:
        key = f"burst-{n}"
        if n % 3 == 2:
            body, path = {"role": "customer", "text": f"第{n}則訊息：我的訂單還沒到。"}, "/v1/conversations/crm-3/messages"
        else:
            body, path = {"complaint": COMPLAINTS[n % len(COMPLAINTS)] + f"（#{n}）"}, "/v1/suggest"
        for url in ((a, b) if n % 2 == 0 else (b,)):  # a CRM retries on the other replica when one stops answering
            try:
                answer = _post(url, path, body, key=key, api_key=BURST, timeout=30)
            except httpx.HTTPError:
                retried.append(n)
                continue
            if answer.status_code == 200:
                with lock:
                    if path == "/v1/suggest":
                        acknowledged[key] = answer.json()["id"]
                    else:
                        turns_sent.append(body["text"])
                    if len(acknowledged) + len(turns_sent) >= 8:
                        under_way.set()
                return
        raise AssertionError(f"request {n} was never acknowledged")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(request, n) for n in range(40)]
        assert under_way.wait(timeout=60)
        cluster["procs"][0].send_signal(signal.SIGKILL)  # replica A, mid-burst
        for future in futures:
            future.result(timeout=120)
    assert cluster["procs"][0].wait(timeout=10) == -signal.SIGKILL
    assert retried, "the replica was killed after the burst, not in the middle of it"
    db = cluster["db"]
    for key, suggestion_id in acknowledged.items():
        assert _rows(db, "SELECT count(*) FROM suggestions WHERE id = %s", suggestion_id) == [(1,)], key
        stored = _rows(db, "SELECT suggestion_id FROM idempotency WHERE key = %s", key)
        assert stored == [(suggestion_id,)], f"{key}: the retry got another answer than the one stored"
    texts = [t["text"] for t in _get(b, "/v1/conversations/crm-3").json()["turns"]]
    assert sorted(texts) == sorted(turns_sent), "every acknowledged turn is stored, and only once"


def test_postgresql_restarted_mid_burst_answers_503_then_recovers(postgres, kb_settings, tmp_path):
    url = postgres.create_database("restart")
    settings = kb_settings.model_copy(update={"database_url": SecretStr(url), "database_timeout": 1.0,
                                              "rate_limit_per_minute": 100_000,
                                              "data_dir": tmp_path, "store_dir": kb_settings.index_dir})
    Stores(settings).migrate()
    server, thread, api = serve_in_thread(create_app(Copilot(settings)))
    outcomes: list[tuple[int, str, str]] = []
    stop = threading.Event()

    def burst() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                answer = httpx.post(f"{api}/v1/suggest", json={"complaint": COMPLAINTS[n % 4]}, timeout=30)
            except httpx.HTTPError as exc:
                outcomes.append((0, type(exc).__name__, ""))
                continue
            body = answer.json()
            outcomes.append((answer.status_code, body.get("error", {}).get("code", ""), body.get("id", "")))

    assert httpx.post(f"{api}/v1/suggest", json={"complaint": COMPLAINTS[0]}, timeout=60).status_code == 200  # warm
    worker = threading.Thread(target=burst)
    worker.start()
    while len(outcomes) < 3:
        time.sleep(0.05)
    postgres.restart(down_seconds=2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (outcomes and outcomes[-1][0] == 200 and any(o[0] == 503 for o in outcomes)):
        time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    worker.join(timeout=60)
    server.should_exit = True
    thread.join(timeout=10)
    codes = {o[0] for o in outcomes}
    assert codes <= {200, 503}, outcomes
    assert any(o[0] == 503 and o[1] == "database_unavailable" for o in outcomes), f"PostgreSQL never went away: {outcomes}"
    assert outcomes[-1][0] == 200, "requests did not recover by themselves"
    done = [o[2] for o in outcomes if o[0] == 200]
    stored = {row[0] for row in _rows(url, "SELECT id FROM suggestions")}
    assert set(done) <= stored, "an acknowledged suggestion is missing from the audit log"
