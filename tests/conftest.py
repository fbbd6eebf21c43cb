"""Shared fixtures: a real index of the shipped knowledge base, built once per test session."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

import copilot  # noqa: F401  (configures the offline environment before anything else imports)
from copilot.service import Copilot
from copilot.settings import PROJECT_ROOT, Settings

SHARED = PROJECT_ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DATA = SHARED / "data"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def kb_settings() -> Settings:
    """Settings whose embedded store holds the shipped knowledge base (dense + lexical).

    The store lives in var/test-kb and is brought up to date incrementally (content hashes), so only
    passages that changed since the last run are embedded again. Tests only read from it.
    """
    settings = Settings(data_dir=PROJECT_ROOT / "var" / "test-kb")
    Copilot(settings).index_knowledge()
    return settings


@pytest.fixture(scope="session")
def kb_copilot(kb_settings: Settings) -> Copilot:
    return Copilot(kb_settings)


@pytest.fixture(scope="module")
def api(kb_settings: Settings):
    """The HTTP API over the shared index, served on a loopback port (its URL)."""
    from copilot.api import create_app

    server, thread, url = serve_in_thread(create_app(Copilot(kb_settings)))
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def lexical_settings(tmp_path: Path) -> Settings:
    """A fresh store without dense embeddings: fast, for tests about indexing mechanics."""
    return Settings(data_dir=tmp_path / "var", embedding="none")


def pytest_report_header(config: pytest.Config) -> str:
    return f"shared data: {'present' if DATA.exists() else 'absent'}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"


def wait_for_http(url: str, proc=None, seconds: float = 60) -> None:
    """Poll `url` until it answers 200; fail (and stop `proc`) if it does not within `seconds`."""
    import time

    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    if proc is not None:
        proc.kill()
    pytest.fail(f"{url} did not come up within {seconds:g} s")


def serve_in_thread(app, seconds: float = 60):
    """Run an ASGI app with uvicorn on a free loopback port in a thread; returns (server, thread, url)."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + seconds
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@contextmanager
def running_chroma(folder: Path):
    """A real `chroma run` on loopback over `folder` (its URL), stopped afterwards."""
    import subprocess
    import sys

    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "chroma.log", "wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{url}/api/v2/heartbeat", proc)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (skipped, saying how to install it, where there is none)."""
    from tests.pg_server import INSTALL_HINT, PostgresServer, server_bin

    if server_bin() is None:
        pytest.skip(INSTALL_HINT)
    server = PostgresServer(free_port()).init()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def pg_url(postgres) -> str:
    """A fresh, empty database on the session's server (its URL)."""
    import uuid

    return postgres.create_database(f"t{uuid.uuid4().hex[:12]}")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed: `apt-get install chromium` (.ci/run does this) to run the browser test",
)


@contextmanager
def chromium_page(url: str, width: int = 420, height: int = 1400):
    """A page of Debian's headless Chromium (a throwaway profile) opened at `url`."""
    from playwright.sync_api import sync_playwright

    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=flags,
                                                       viewport={"width": width, "height": height})
        try:
            page = browser.new_page()
            page.goto(url, wait_until="load")
            yield page
        finally:
            browser.close()
