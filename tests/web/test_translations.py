"""Vietnamese is the default language: every message of the interface is translated."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("web/**.py", "python"), ("engine/**.py", "python"),
           ("web/templates/**.html", "jinja2")]


def test_every_message_has_a_vietnamese_translation() -> None:
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "N_": None}
    extracted = {message for _, _, message, _, _ in
                 extract_from_dir(str(ROOT), METHODS, keywords=keywords)
                 if isinstance(message, str)}
    with (ROOT / "web/translations/vi/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = {m.id: m.string for m in read_po(handle) if m.id}
    missing = sorted(message for message in extracted if not catalog.get(message))
    assert len(extracted) > 100
    assert missing == [], "run `make messages` and translate these"
