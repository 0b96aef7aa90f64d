"""Input no handler should ever meet: ids past an INTEGER column, JSON nested without end."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, Map

LARGEST_ID = 2**31 - 1  # an INTEGER column (SQLite and PostgreSQL) holds no larger id


class IdConverter(IntegerConverter):
    """`<int:…>` path segments that fit an INTEGER column; a larger number is a 404."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Request bodies nested too deeply are bad JSON (a 400), not a crash."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON; a RecursionError becomes the ValueError any bad JSON raises."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def init_app(app: Flask) -> None:
    """Install both on a new app, before any route is added."""
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
