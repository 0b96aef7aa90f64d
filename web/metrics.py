"""Prometheus metrics at /metrics: requests by endpoint, latency, and the work in the database.

Request counts and latencies are kept per process; under gunicorn, PROMETHEUS_MULTIPROC_DIR
(set by deploy/gunicorn.conf.py) makes every worker write them to files that a scrape of any
worker adds up. The database gauges are counted at scrape time (web/metrics_database.py).

Access: from the host itself (127.0.0.1, not through a proxy that adds X-Forwarded-For), or
from anywhere with `Authorization: Bearer $MOTCUA_METRICS_TOKEN` (config METRICS_TOKEN).
Otherwise 404, or 403 for a wrong token.
"""

from __future__ import annotations

import hmac
import os

from flask import Flask, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from web import current_core, now
from web.metrics_database import DatabaseCollector
from web.request_log import elapsed_seconds

REQUESTS = Counter("motcua_http_requests", "HTTP requests answered, by Flask endpoint.",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("motcua_http_request_duration_seconds",
                    "Time to answer a request, by Flask endpoint.", ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# Clients choose the method: anything else is counted as "other" (bounded label values).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LOCAL = frozenset({"127.0.0.1", "::1"})


def _observe(response: Response) -> Response:
    # The rule's endpoint, never the raw path: one series per view, whatever the ids.
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "other"
    REQUESTS.labels(method, endpoint, str(response.status_code)).inc()
    LATENCY.labels(endpoint).observe(elapsed_seconds())
    return response


def _allowed() -> bool:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    given = request.headers.get("Authorization", "")
    if token and given:
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            abort(403)
        return True
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return request.remote_addr in LOCAL and not forwarded


def metrics() -> ResponseReturnValue:
    """The metrics in Prometheus's text format (local or bearer-token access only)."""
    if not _allowed():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        requests = generate_latest(registry)
    else:
        requests = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector(current_core(), now()))
    return Response(requests + generate_latest(database), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Count every request of `app` and serve /metrics."""
    app.after_request(_observe)
    app.add_url_rule("/metrics", "metrics", metrics)
