"""How the result went back to the applicant: in person, or by public post with a tracking
number (the return_result step's form)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, update

from engine.models import Dossier, Event

DOSSIERS = cast(Table, Dossier.__table__)
RETURN_FORM = "return_result"


@dataclass(frozen=True)
class ReturnRecord:
    """The result's return as the officer recorded it."""

    method: str
    receiver_name: str
    returned_date: str
    address: str
    tracking: str
    at: datetime
    by: str | None


def is_return_form(form_key: str | None) -> bool:
    """Whether a task's form is a procedure's last reception step (returning the result)."""
    return bool(form_key) and str(form_key).removesuffix(".json").startswith(RETURN_FORM)


def record_return(conn: Connection, dossier_id: int, form_key: str | None,
                  data: Mapping[str, Any]) -> None:
    """Store the return method, postal address and tracking number of a completed
    return_result step in the dossier, in the completing transaction (no-op for other
    forms)."""
    method = data.get("return_method")
    if not is_return_form(form_key) or not isinstance(method, str):
        return
    by_post = method == "post"
    values: dict[str, Any] = {
        "return_method": method,
        "postal_tracking": str(data.get("postal_tracking", "")).strip() or None
        if by_post else None}
    if by_post:
        values["return_address"] = str(data.get("postal_address", "")).strip()
    conn.execute(update(DOSSIERS).where(DOSSIERS.c.id == dossier_id).values(**values))


def return_record(events: Sequence[Event]) -> ReturnRecord | None:
    """The latest completed return step of a dossier's history, if any."""
    for row in reversed(events):
        data = row.data or {}
        if row.kind == "completed" and "return_method" in data and "receiver_name" in data:
            return ReturnRecord(
                method=str(data["return_method"]),
                receiver_name=str(data.get("receiver_name", "")),
                returned_date=str(data.get("returned_date", "")),
                address=str(data.get("postal_address", "")),
                tracking=str(data.get("postal_tracking", "")), at=row.at, by=row.actor)
    return None
