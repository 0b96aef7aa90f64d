"""The citizen portal (no login): catalogue, online submission, lookup, supplement, rating."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")
