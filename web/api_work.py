"""JSON endpoints of the officers' work: tasks, comments, attachments (on web.api's bp)."""

from __future__ import annotations
