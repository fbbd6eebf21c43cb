"""Shared state on a real PostgreSQL (Debian's server, started by the tests): the stores behave as on SQLite,
migrations run once however many machines run them, bad settings stop the start with one line, and an
existing SQLite audit log and conversations move over."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from copilot.audit.idempotency import IdempotencyKeys, KeyReused, Replay
from copilot.audit.store import MIGRATIONS as AUDIT
from copilot.cli import app as cli
from copilot.conversation.models import ConversationStart, MessageIn
from copilot.conversation.store import MIGRATIONS as CONVERSATIONS
from copilot.conversation.store import ConversationStore
from copilot.service import Copilot
from copilot.storage import SQLiteDatabase
from copilot.storage.postgres import PostgresDatabase
from copilot.storage.ratelimit import MIGRATIONS as RATE_LIMITS
from copilot.storage.ratelimit import SharedRateLimiter
from tests.conftest import free_port

COPILOT = str(Path(sys.executable).parent / "copilot")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Each engine with every store's tables."""
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "state.sqlite3")
        db.migrate(CONVERSATIONS)
        audit = SQLiteDatabase(tmp_path / "audit.sqlite3")
        audit.migrate(AUDIT)
        yield db, audit
        return
    db = PostgresDatabase(request.getfixturevalue("pg_url"), timeout=2)
    for migrations in (AUDIT, CONVERSATIONS, RATE_LIMITS):
        db.migrate(migrations)
    yield db, db
    db.close()


def _in_threads(count: int, work) -> list:
    results: list = [None] * count
    errors: list = []

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and raised below, so a failing thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_turns_appended_at_once_from_many_threads_get_one_order(database):
    db, _ = database
    stores = [ConversationStore(db), ConversationStore(db)]  # two replicas' stores on one database
    stores[0].create("c1", ConversationStart())
    _in_threads(8, lambda i: [stores[i % 2].append("c1", MessageIn(role="customer", text=f"第{i}-{n}句"), _now())
                              for n in range(5)])
    _, _, turns = stores[1].load("c1")
    assert [t[0] for t in turns] == list(range(40))
    assert sorted(t[2] for t in turns) == sorted(f"第{i}-{n}句" for i in range(8) for n in range(5))


def test_the_same_turn_posted_twice_at_once_is_stored_once(database):
    db, _ = database
    store = ConversationStore(db)
    store.create("c2", ConversationStart())
    message = MessageIn(role="customer", text="My refund is three weeks late.")
    results = _in_threads(6, lambda i: store.append("c2", message, _now(), request_key="crm:turn-1"))
    assert {r.index for r in results} == {0} and sum(r.new for r in results) == 1
    assert store.version("c2")[1] == 1
    assert store.append("missing", message, _now()) is None


def test_an_idempotency_key_is_held_while_its_first_request_runs(database):
    _, audit = database
    keys = IdempotencyKeys(audit, lease_seconds=30, wait_seconds=10)
    assert keys.claim("key:a", "k1", "fp") is None  # the first request holds it

    def later(_):
        return keys.claim("key:a", "k1", "fp")  # retries wait for the first answer

    waiting = threading.Thread(target=lambda: results.append(later(0)))
    results: list = []
    waiting.start()
    time.sleep(0.3)
    assert results == []
    keys.complete("key:a", "k1", '{"id": "s1"}', 201, suggestion_id="s1")
    waiting.join(timeout=10)
    assert results == [Replay(response='{"id": "s1"}', status=201)]
    with pytest.raises(KeyReused):
        keys.claim("key:a", "k1", "another request")
    # a holder that never answers (its replica was killed) frees the key when its lease ends
    short = IdempotencyKeys(audit, lease_seconds=0.3, wait_seconds=5)
    assert short.claim("key:a", "k2", "fp") is None
    assert short.claim("key:a", "k2", "fp") is None  # taken over after 0.3 s
    short.release("key:a", "k2")
    assert short.claim("key:a", "k2", "fp") is None


def test_rate_limits_hold_across_replicas(pg_url):
    db = PostgresDatabase(pg_url, timeout=2)
    db.migrate(RATE_LIMITS)
    replicas = [SharedRateLimiter(db, per_minute=10), SharedRateLimiter(PostgresDatabase(pg_url, timeout=2), per_minute=10)]
    allowed = sum(replicas[i % 2].take("key:crm") == 0 for i in range(30))
    assert allowed == 10, "each replica let its own 10 through: the limit is not shared"
    assert replicas[0].take("key:other") == 0  # per client
    waits = [replicas[1].take("key:crm") for _ in range(2)]
    assert all(0 < w <= 6.1 for w in waits)  # 10 a minute: a token every 6 s


def test_forgetting_a_conversation_removes_its_text_from_postgresql(pg_url):
    db = PostgresDatabase(pg_url, timeout=2)
    db.migrate(CONVERSATIONS)
    store = ConversationStore(db)
    store.create("forget-me", ConversationStart())
    store.append("forget-me", MessageIn(role="customer", text="我的電話是 0912-345-678，訂單 A778812"), _now())
    assert store.delete("forget-me")
    with psycopg.connect(pg_url) as conn:
        left = conn.execute("SELECT count(*) FROM turns WHERE text LIKE '%0912-345-678%'").fetchone()[0]
        gone = conn.execute("SELECT count(*) FROM conversations WHERE id = 'forget-me'").fetchone()[0]
    assert left == 0 and gone == 0
    runner = CliRunner()
    vacuumed = runner.invoke(cli, ["db", "vacuum", "--full"], env={"COPILOT_DATABASE_URL": pg_url})
    assert vacuumed.exit_code == 0, vacuumed.output


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


# ---------------------------------------------------------------- migrations, checks and bad settings


def _copilot(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([COPILOT, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_migrations_from_several_machines_at_once_apply_once(pg_url):
    env = {"COPILOT_DATABASE_URL": pg_url}
    check = _copilot("db", "check", env=env)
    assert check.returncode == 1 and "run `copilot db migrate`" in check.stdout
    procs = [subprocess.Popen([COPILOT, "db", "migrate"], env={**os.environ, **env}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    applied = [out for out, _ in outputs if "audit: applied 1, 2, 3" in out]
    assert len(applied) == 1, "exactly one machine applies the migrations; the others find them done"
    assert _copilot("db", "check", env=env).returncode == 0
    with psycopg.connect(pg_url) as conn:
        versions = dict(conn.execute("SELECT component, version FROM copilot_schema").fetchall())
    assert versions == {"audit": AUDIT.latest, "conversations": CONVERSATIONS.latest, "rate_limits": RATE_LIMITS.latest}


@pytest.mark.parametrize("case", ["malformed", "wrong password", "unreachable", "older schema"])
def test_bad_database_settings_stop_the_start_with_one_line(case, postgres, pg_url, kb_settings):
    url = {
        "malformed": "postgresql//copilot@127.0.0.1/copilot",
        "wrong password": postgres.url(pg_url.rsplit("/", 1)[1], password="not-the-password"),
        "unreachable": f"postgresql://copilot:secret@127.0.0.1:{free_port()}/copilot",
        "older schema": pg_url,
    }[case]
    expected = {"malformed": "is not a PostgreSQL URL", "wrong password": "the user or password",
                "unreachable": "nothing answers there", "older schema": "run `copilot db migrate`"}[case]
    port = free_port()
    started = time.monotonic()
    serve = _copilot("serve", "--api-only", "--port", str(port),
                     env={"COPILOT_DATABASE_URL": url, "COPILOT_DATA_DIR": str(kb_settings.data_dir)}, timeout=60)
    assert serve.returncode == 2, serve.stdout + serve.stderr
    lines = [line for line in serve.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and "secret" not in lines[0] and "not-the-password" not in lines[0]
    assert time.monotonic() - started < 30  # at start-up, not at the first request


def test_an_existing_sqlite_audit_log_and_conversations_move_over(kb_settings, tmp_path, pg_url):
    folder = tmp_path / "old"
    service = Copilot(kb_settings.model_copy(update={"audit_db": folder / "audit.sqlite3",
                                                     "conversations_db": folder / "conversations.sqlite3"}))
    suggestion = service.suggest("快遞延誤一週了，客服一直推來推去，我要退款！")
    started = service.start_conversation(ConversationStart(id="crm-88"))
    service.add_message(started.id, MessageIn(role="customer", text="Where is my parcel? It's been ten days."))
    service.add_message(started.id, MessageIn(role="agent", text="I'm sorry for the wait. I'll check it and call you by 5pm today."))
    env = {"COPILOT_DATABASE_URL": pg_url}
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "migrate"], env=env).exit_code == 0
    first = runner.invoke(cli, ["db", "copy", "--from", f"sqlite:{folder}"], env=env)
    assert first.exit_code == 0, first.output
    assert "suggestions: 1 rows copied" in first.output and "turns: 2 rows copied" in first.output
    again = runner.invoke(cli, ["db", "copy", "--from", f"sqlite:{folder}"], env=env)
    assert "turns: 0 rows copied" in again.output and "suggestions: 0 rows copied" in again.output
    moved = Copilot(kb_settings.model_copy(update={"database_url": SecretStr(pg_url)}))
    assert moved.audit.suggestion_exists(suggestion.id)
    conversation = moved.conversation("crm-88")
    assert [t.role for t in conversation.turns] == ["customer", "agent"]
    assert conversation.turns[1].text.startswith("I'm sorry for the wait")
    assert moved.audit.rows("checks"), "the agent turn's final check moved with the log"
    bad = runner.invoke(cli, ["db", "copy", "--from", str(folder)], env=env)
    assert bad.exit_code == 2 and "sqlite:PATH" in bad.stdout + bad.stderr
