"""Rate limits on what can be guessed: passwords, tokens, and the citizens' dossier lookup.

Counted per client address. One process counts alone ("memory://"); set
MOTCUA_RATELIMIT_STORAGE (e.g. "redis://127.0.0.1:6379") so that every worker shares the counts;
while that storage is unreachable, each worker counts alone again.
Tests switch the limits off unless they set RATELIMIT_ENABLED.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
# A person mistypes a password a few times; a script tries thousands.
LOGIN = "10 per minute;100 per hour"
# A citizen looks up a handful of dossiers; guessing ID numbers needs millions of tries.
LOOKUP = "20 per minute;200 per hour"


def init_app(app: Flask) -> None:
    """Count requests to the limited endpoints of `app`."""
    app.config.setdefault("RATELIMIT_ENABLED", not app.config.get("TESTING"))
    storage = app.config.setdefault("RATELIMIT_STORAGE_URI",
                                    os.environ.get("MOTCUA_RATELIMIT_STORAGE", "memory://"))
    if str(storage).startswith(("redis://", "rediss://")):
        # A Redis that drops packets must not hang logins until gunicorn kills the worker:
        # give up after a second, and the fallback below counts alone meanwhile.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                              {"socket_connect_timeout": 1, "socket_timeout": 1})
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # The shared storage down (Redis restarting): each worker counts alone meanwhile rather
    # than refusing every login.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    manager, checks = limiter.limit_manager, app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks and not (
            manager.default_limits or manager.application_limits or limiter._meta_limits):
        # Each limited route's decorator checks its limits when the route runs. The check the
        # extension adds before every request is for limits of the whole application (or of
        # a blueprint), which are not set: it only cost every request its time (measured:
        # 0.1-0.15 ms of a /healthz of 1.4 ms). Version 4 has no switch for it.
        checks.remove(limiter._check_request_limit)
