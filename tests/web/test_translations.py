"""Vietnamese is the default language: every message of the interface is translated."""

from __future__ import annotations

import re
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


def test_every_translation_keeps_its_placeholders_and_no_stray_percent() -> None:
    # Jinja formats every translated string with %, so a lone "%" breaks the page.
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    with (ROOT / "web/translations/vi/LC_MESSAGES/messages.po").open("rb") as handle:
        messages = [m for m in read_po(handle) if m.id and m.string]
    wrong = []
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(placeholder.findall(ids[-1]))
        for text in strings:
            stray = placeholder.sub("", text).replace("%%", "").count("%")
            known = wanted | set(placeholder.findall(ids[0]))
            if stray > placeholder.sub("", ids[0]).count("%") or not set(
                    placeholder.findall(text)) <= known:
                wrong.append((ids[0], text))
    assert wrong == []
