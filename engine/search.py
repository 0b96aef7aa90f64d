"""Searching without case or Vietnamese accents: the folding, and a waiting step's search key.

An officer searches their task list by a dossier's code or its applicant's name, typed with
or without accents. Each waiting step keeps its dossier's code and applicant folded
(`task.search_key`, migration 0016), so the search is one LIKE in SQL over every waiting
step, served on PostgreSQL by a trigram index (pg_trgm) of the waiting steps' keys.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Between the folded code and the folded applicant of a key: whitespace to str.split(), so
# a folded search never holds it and never matches across the two.
KEY_SEPARATOR = "\x1f"
_TRIGRAM = re.compile(r"[^\W_]{3}")


def _unaccented() -> dict[int, str]:
    """Each precomposed Latin letter (Vietnamese's among them) to its letters without marks."""
    table = {ord("đ"): "d", ord("Đ"): "D"}
    for code in range(0xC0, 0x2000):
        letter = chr(code)
        plain = "".join(c for c in unicodedata.normalize("NFD", letter)
                        if not unicodedata.combining(c))
        if plain != letter:
            table[code] = plain
    return table


_UNACCENTED = _unaccented()


def fold(text: str) -> str:
    """Text without case or Vietnamese accents, for searching: 'Nguyễn Đức' → 'nguyen duc'.

    One table lookup per character where the text then is plain ASCII (names and codes as
    typed, precomposed): every step projected folds its dossier's code and applicant, where
    decomposing each took 8 µs; anything else the full way, with the same result.
    """
    plain = text if text.isascii() else text.translate(_UNACCENTED)
    if plain.isascii():
        return " ".join(plain.lower().split())
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def search_key(code: str, applicant_name: str) -> str:
    """What a search of the task lists matches: the dossier's code and applicant, folded.

    Stored on each waiting step (migration 0016 filled them): a change to `fold` or to this
    key needs a migration that computes the waiting steps' keys again.
    """
    return fold(code) + KEY_SEPARATOR + fold(applicant_name)


@dataclass(frozen=True)
class Needle:
    """A search as SQL looks for it."""

    like: str  # the LIKE pattern, '/' its escape character
    # Three letters or digits in a row: a trigram the index can look up. Without one, pg_trgm
    # would read its whole index and check every waiting step (60 ms at 100,000 of them).
    indexed: bool


def needle(search: str) -> Needle | None:
    """What a search as typed looks for; None if it is blank."""
    folded = fold(search)
    if not folded:
        return None
    escaped = folded.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return Needle(f"%{escaped}%", _TRIGRAM.search(folded) is not None)
