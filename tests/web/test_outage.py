"""A real PostgreSQL outage: the app answers 503 while it lasts and recovers by itself after."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from engine.bootstrap import Settings, bootstrap
from engine.db import make_engine
from engine.models import Event
from tests.conftest import _truncate
from tests.web.conftest import Clock
from web import create_app

pytestmark = pytest.mark.postgres


class TcpProxy:
    """Forwards 127.0.0.1:port to PostgreSQL; stopping it is the database going away."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (again, on the same port once it was stopped) and forward every connection."""
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one, as a crashed server would."""
        assert self._listener is not None
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it there.
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def proxy(pg_engine: Engine) -> Iterator[TcpProxy]:
    """A proxy in front of the test PostgreSQL, started."""
    url = pg_engine.url
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app(pg_engine: Engine, proxy: TcpProxy, clock: Clock, tmp_path: Path) -> Iterator[Flask]:
    """The app on its own engine, which reaches the test database through the proxy."""
    _truncate(pg_engine)
    with pg_engine.connect() as conn:
        search_path = conn.execute(text("SHOW search_path")).scalar_one()
    url = make_url(str(pg_engine.url.render_as_string(hide_password=False))).set(
        host="127.0.0.1", port=proxy.port)
    engine = make_engine(url.render_as_string(hide_password=False),
                         connect_args={"options": f"-c search_path={search_path}"})
    core = bootstrap(Settings(database_url=str(url), upload_dir=str(tmp_path)), db=engine)
    yield create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock,
                      "DATABASE_URL": str(url)}, core=core)
    engine.dispose()


def test_while_the_database_is_away_every_request_is_503_then_it_recovers_alone(
        app: Flask, proxy: TcpProxy, pg_engine: Engine) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/portal/").status_code == 200  # the pool now holds a live connection
    assert client.get("/api/v1/portal/procedures").status_code == 200
    with pg_engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(Event)).scalar_one()

    proxy.stop()
    page = client.get("/portal/")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert 'data-testid="database-unavailable"' in page.get_data(as_text=True)
    api = client.get("/api/v1/portal/procedures")
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "database_unavailable"
    submitted = client.post("/api/v1/portal/lookup", json={"code": "X", "id_number": "1"})
    assert submitted.status_code == 503
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable", "database": "OperationalError"}

    proxy.start()  # the database is back, on the same address; the app was not restarted
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert client.get("/portal/").status_code == 200
    assert client.get("/api/v1/portal/procedures").status_code == 200
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == events
