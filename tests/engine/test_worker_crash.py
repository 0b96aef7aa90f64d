"""A web worker killed with SIGKILL in the middle of a completion leaves the dossier as it was.

PostgreSQL only. A real gunicorn serves the app on the test schema. The test holds the
`event` table locked, so the worker's completion blocks on its last statement (the audit
events are written after the state, the task rows and the dossier): everything else of the
completion is written but not committed when the worker is killed. The dossier must then be
exactly as before — state, revision, tasks, status, events — and the same completion, sent
again to the worker gunicorn starts in place of the dead one, must succeed once.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, select, text

from engine.bootstrap import Core
from engine.demo import step_data
from engine.models import Dossier, Event, ProcessInstance, Task
from tests.conftest import PG_URL
from tests.engine.walk import ready_tasks, receive

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
TIMEOUT = 30.0


class Server:
    """A gunicorn with one worker on the test schema; says which worker serves."""

    def __init__(self, pg_engine: Engine, instance: Path) -> None:
        with pg_engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False),
               "MOTCUA_SECRET_KEY": "test", "MOTCUA_UPLOAD_DIR": str(instance),
               "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            # Preloaded, so that the worker replacing the killed one starts at once.
            [str(GUNICORN), "--workers", "1", "--bind", "127.0.0.1:0", "--preload",
             "--graceful-timeout", "1", "web:create_app()"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        self.said = ""
        self.port = int(self.read_until(r"Listening at: http://127\.0\.0\.1:(\d+)"))
        self.worker = int(self.read_until(r"Booting worker with pid: (\d+)"))

    def read_until(self, pattern: str) -> str:
        """Read gunicorn's log as it is written until `pattern` matches a new line."""
        assert self.process.stderr is not None
        fd = self.process.stderr.fileno()
        deadline = time.monotonic() + TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while (found := re.search(pattern, self.said)) is None:
                left = deadline - time.monotonic()
                chunk = os.read(fd, 65536) if left > 0 and selector.select(timeout=left) else b""
                if not chunk:
                    pytest.fail(f"gunicorn never said {pattern!r}; it said:\n{self.said}")
                self.said += chunk.decode()
        self.said = self.said[found.end():]
        return found.group(1)

    def call(self, method: str, path: str, body: dict[str, Any],
             token: str | None = None) -> tuple[int, dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, path, json.dumps(body), headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def server(pg_core: Core, pg_engine: Engine, tmp_path: Path) -> Iterator[Server]:
    started = Server(pg_engine, tmp_path)
    yield started
    started.stop()


def _snapshot(core: Core, code: str) -> tuple[Any, ...]:
    with core.uow() as uow:
        session = uow.session
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).one()
        instance = session.get_one(ProcessInstance, dossier.instance_id)
        tasks = session.execute(select(Task.id, Task.state, Task.completed_by)
                                .where(Task.dossier_id == dossier.id).order_by(Task.id)).all()
        events = session.scalars(select(Event.kind).where(Event.dossier_id == dossier.id)
                                 .order_by(Event.id)).all()
        return (dossier.status, instance.revision, bytes(instance.state), tuple(tasks),
                tuple(events))


def _wait_for_lock_wait(engine: Engine) -> int:
    """The backend blocked on the locked `event` table: the worker is mid-completion."""
    deadline = time.monotonic() + TIMEOUT
    with engine.connect() as conn:
        while True:
            pid = conn.scalar(text(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE 'INSERT INTO event%'"))
            conn.rollback()
            if pid is not None:
                return int(pid)
            if time.monotonic() > deadline:
                pytest.fail("the worker never reached the event insert")
            time.sleep(0.01)


def _wait_until_gone(engine: Engine, backend: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    with engine.connect() as conn:
        while conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                          {"pid": backend}):
            conn.rollback()
            if time.monotonic() > deadline:
                pytest.fail("the killed worker's transaction never ended")
            time.sleep(0.01)


def test_a_worker_killed_mid_completion_leaves_the_dossier_as_it_was(
        pg_core: Core, pg_engine: Engine, server: Server) -> None:
    now = datetime.now(UTC)
    dossier = receive(pg_core, now)
    [task] = ready_tasks(pg_core, dossier.code)
    status, answer = server.call("POST", "/api/v1/auth/token",
                                 {"username": task.role, "password": "pw"})
    assert status == 201, answer
    token = answer["token"]
    before = _snapshot(pg_core, dossier.code)
    body = {"data": step_data(task.bpmn_id, now.date().isoformat())}
    outcome: list[object] = []

    def complete() -> None:
        try:
            outcome.append(server.call("POST", f"/api/v1/tasks/{task.id}/complete", body,
                                       token))
        except (ConnectionError, http.client.HTTPException) as exc:
            outcome.append(exc)

    with pg_engine.connect() as lock:
        lock.execute(text("LOCK TABLE event IN EXCLUSIVE MODE"))
        request = threading.Thread(target=complete)
        request.start()
        backend = _wait_for_lock_wait(pg_engine)
        os.kill(server.worker, signal.SIGKILL)
        request.join(TIMEOUT)
        lock.rollback()
    _wait_until_gone(pg_engine, backend)

    [failure] = outcome
    assert isinstance(failure, ConnectionError | http.client.HTTPException), failure
    assert _snapshot(pg_core, dossier.code) == before

    server.worker = int(server.read_until(r"Booting worker with pid: (\d+)"))
    status, answer = server.call("POST", f"/api/v1/tasks/{task.id}/complete", body, token)
    assert status == 200, answer
    after = _snapshot(pg_core, dossier.code)
    assert after[1] == before[1] + 1
    assert after[4].count("completed") == 1
