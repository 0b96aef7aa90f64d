"""gunicorn for real: two workers on a database made by `motcua init-db`, metrics summed, and
a designer's test run that goes on whichever worker answers."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.demo import step_data
from web.cli import main
from web.production import GUNICORN_CONFIG

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30  # a deadline, not a wait: the test goes on as soon as /healthz answers
DESIGNER_PASSWORD = "thiet-ke-quy-trinh"
REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, emptied by the test


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    return _call(port, "GET", path, headers)


def _call(port: int, method: str, path: str, headers: dict[str, str] | None = None,
          body: object = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, payload, {
            **(headers or {}), **({"Content-Type": "application/json"} if payload else {})})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@dataclass
class Server:
    """gunicorn under test, and what its log must show once it has stopped."""

    port: int
    metrics_dir: Path
    logged: list[str] = field(default_factory=list)  # regular expressions


def _redis_limits() -> str:
    """A Redis database of this machine for rate limits, emptied (skips when there is none)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}: install and start redis-server to run this test")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """gunicorn with deploy/gunicorn.conf.py and 2 workers, on a fresh SQLite database with
    the catalogue and a designer; rate limits on (as in production), counted in Redis when
    the test is marked `shared_limits`, else by each worker."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'motcua.sqlite3'}",
           "MOTCUA_SECRET_KEY": "test", "MOTCUA_UPLOAD_DIR": str(tmp_path / "uploads")}
    env.pop("MOTCUA_RATELIMIT_STORAGE", None)
    if request.node.get_closest_marker("shared_limits"):
        env["MOTCUA_RATELIMIT_STORAGE"] = _redis_limits()
    for command in (["init-db"], ["load-catalogue"],
                    ["create-user", "designer", "--full-name", "Designer", "--role", "designer",
                     "--password", DESIGNER_PASSWORD]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 0, result.output
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env |= {"MOTCUA_BIND": f"127.0.0.1:{port}", "MOTCUA_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "MOTCUA_TRUSTED_PROXIES": "1"}
    running = Server(port, metrics_dir)
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
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert "motcua.requests: GET /healthz 200" in log
    for pattern in running.logged:
        assert re.search(pattern, log), (pattern, log)


def test_gunicorn_workers_add_up_their_counts_in_metrics(server: Server) -> None:
    port, metrics_dir = server.port, server.metrics_dir
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
    # Behind the (trusted) reverse proxy, the client's address is the one logged.
    server.logged.append(r"GET /metrics 404 \S+ user=- addr=203\.0\.113\.9")
    # Each worker wrote its own counts; the scrape, answered by one of them, summed them all.
    assert len(_writers(metrics_dir)) == 2


def _writers(metrics_dir: Path) -> set[str]:
    """The processes that wrote counts (prometheus_client's counter_<pid>.db files)."""
    return {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}


def test_a_designers_test_run_goes_on_whichever_worker_answers(server: Server) -> None:
    port, metrics_dir = server.port, server.metrics_dir
    status, answer = _call(port, "POST", "/api/v1/auth/token",
                           body={"username": "designer", "password": DESIGNER_PASSWORD})
    assert status == 201, answer
    auth = {"Authorization": f"Bearer {json.loads(answer)['token']}"}
    status, answer = _call(port, "POST", "/api/v1/procedures/judicial_record_certificate/"
                           "test-runs", auth, {"source": "1"})
    assert status == 201, answer
    run = json.loads(answer)
    # Read it back concurrently until both workers have answered (as in the test above): a
    # run kept in the memory of the worker that started it was unknown to the other.
    deadline = time.monotonic() + START_SECONDS
    with ThreadPoolExecutor(max_workers=4) as pool:
        while len(_writers(metrics_dir)) < 2 and time.monotonic() < deadline:
            answers = list(pool.map(lambda _: _get(port, f"/api/v1/test-runs/{run['id']}",
                                                   auth), range(20)))
            assert [status for status, _ in answers] == [200] * 20, answers[0]
    assert len(_writers(metrics_dir)) == 2
    [step] = run["ready"]
    data = step_data("check_records", "2026-11-24")
    status, answer = _call(port, "POST", f"/api/v1/test-runs/{run['id']}/tasks/{step['id']}"
                           "/complete", auth, {"data": data})
    assert status == 200, answer
    assert [s["bpmn_id"] for s in json.loads(answer)["ready"]] == ["draft_certificate"]


@pytest.mark.shared_limits
def test_with_shared_storage_the_workers_count_one_limit_together(server: Server) -> None:
    # 30 wrong passwords at once from one address, answered by both workers: LOGIN allows
    # 10 a minute in all. Counted by each worker alone, up to 20 would be let through.
    attempt = {"username": "nobody", "password": "wrong"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(lambda _: _call(server.port, "POST", "/api/v1/auth/token",
                                                   body=attempt)[0], range(30)))
    assert statuses == [401] * 10 + [429] * 20
    assert len(_writers(server.metrics_dir)) == 2  # both workers answered
