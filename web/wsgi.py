"""The WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py web.wsgi:app`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from web import create_app


def production_app(environ: Mapping[str, str] = os.environ) -> Flask:
    """The application, trusting MOTCUA_TRUSTED_PROXIES reverse proxies in front of it.

    Behind a proxy every request comes from the proxy's address: trusting its
    X-Forwarded-For and X-Forwarded-Proto gives the rate limits and the request log the
    client's address, and the application the scheme the client used. Never trust more
    proxies than there are, or clients could choose their address.
    """
    app = create_app()
    app.extensions["motcua"].warm_up(datetime.now(UTC).date())
    proxies = int(environ.get("MOTCUA_TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies,  # type: ignore[method-assign]
                                x_proto=proxies, x_host=proxies)
    return app


app = production_app()
