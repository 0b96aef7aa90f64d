"""Security headers on every response: no framing, no sniffing, scripts only from this site."""

from __future__ import annotations

from flask import Flask, Response

# Scripts come only from /static (no inline script anywhere); styles may be inline because
# bpmn-js and htmx set element styles; fonts and images may be data: URIs (bpmn-js's icons).
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; font-src 'self' data:; object-src 'none'; "
          "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response of `app`."""
    app.after_request(_secure)
