"""Dossier codes: `<agency code>-<YYMMDD>-<NNNN>`, a daily sequence per agency."""

from __future__ import annotations

from datetime import date


def dossier_code(agency_code: str, day: date, sequence: int) -> str:
    """Format the code of the `sequence`-th dossier received by an agency on `day`."""
    if not 1 <= sequence <= 9999:
        raise ValueError(f"the daily sequence must be between 1 and 9999, got {sequence}")
    return f"{agency_code}-{day:%y%m%d}-{sequence:04d}"
