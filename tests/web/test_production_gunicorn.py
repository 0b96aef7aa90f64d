"""gunicorn for real: two workers on a database made by `motcua init-db`, metrics summed."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from web.cli import main
from web.production import GUNICORN_CONFIG

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30  # a deadline, not a wait: the test goes on as soon as /healthz answers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """gunicorn with deploy/gunicorn.conf.py and 2 workers, on a fresh SQLite database."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'motcua.sqlite3'}",
           "MOTCUA_SECRET_KEY": "test", "MOTCUA_UPLOAD_DIR": str(tmp_path / "uploads")}
    result = CliRunner().invoke(main, ["init-db"], env=env)
    assert result.exit_code == 0, result.output
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env |= {"MOTCUA_BIND": f"127.0.0.1:{port}", "MOTCUA_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "MOTCUA_TRUSTED_PROXIES": "1"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG)],
                               cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # poll interval while gunicorn boots
        yield port, metrics_dir
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert "motcua.requests: GET /healthz 200" in log
    # Behind the (trusted) reverse proxy, the client's address is the one logged.
    assert re.search(r"GET /metrics 404 \S+ user=- addr=203\.0\.113\.9", log), log


def test_gunicorn_workers_add_up_their_counts_in_metrics(server: tuple[int, Path]) -> None:
    port, metrics_dir = server
    sent = 0
    deadline = time.monotonic() + START_SECONDS
    # Concurrent requests until both workers have answered some (each then has its own file
    # of counts): a worker that is quick enough may otherwise take every one of a batch.
    with ThreadPoolExecutor(max_workers=4) as pool:
        while len(_writers(metrics_dir)) < 2 and time.monotonic() < deadline:
            statuses = list(pool.map(lambda _: _get(port, "/healthz")[0], range(40)))
            assert statuses == [200] * 40
            sent += 40
    status, text = _get(port, "/metrics")
    assert status == 200
    match = re.search(r'motcua_http_requests_total\{endpoint="health.healthz",method="GET",'
                      r'status="200"\} (\S+)', text)
    assert match and float(match.group(1)) == sent + 1  # with the request that found it up
    assert "motcua_database_up 1.0" in text
    # What the reverse proxy forwards is not from this host, whatever the socket says.
    assert _get(port, "/metrics", {"X-Forwarded-For": "203.0.113.9"})[0] == 404
    # Each worker wrote its own counts; the scrape, answered by one of them, summed them all.
    assert len(_writers(metrics_dir)) == 2


def _writers(metrics_dir: Path) -> set[str]:
    """The processes that wrote counts (prometheus_client's counter_<pid>.db files)."""
    return {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
