"""JSON endpoints of the portal area under /api/v1 (registered on web.api's blueprint)."""

from __future__ import annotations
