"""The engine's clock: SpiffWorkflow's timers read `now` from the caller, not the wall.

SpiffWorkflow 3.2 calls `datetime.now(timezone.utc)` inside its timer definitions. MotCua
passes `now` to every service, so the timer module's `datetime` is replaced by a subclass
that answers with the `now` of the current engine step (a context variable), falling back
to the wall clock outside one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_current: ContextVar[datetime | None] = ContextVar("motcua_engine_now", default=None)


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        value = _current.get()
        if value is None:
            return datetime.now(tz)
        return value.astimezone(tz) if tz is not None else value


_spiff_timer.datetime = _EngineDatetime


@contextmanager
def engine_time(now: datetime) -> Iterator[None]:
    """Run the enclosed engine steps as if the time were `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("engine_time needs a timezone-aware datetime")
    token = _current.set(now)
    try:
        yield
    finally:
        _current.reset(token)
