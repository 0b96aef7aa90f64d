"""Officers' comments on a dossier: added with the author and time, listed oldest first."""

from __future__ import annotations

import pytest

from engine.bootstrap import Core
from engine.errors import InvalidInput, NotFound
from engine.services import comments, dossiers
from tests.conftest import MONDAY_9AM, at
from tests.engine.walk import ready_tasks, receive, user


def test_comments_are_listed_oldest_first_with_their_authors(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    [task] = ready_tasks(core, dossier.code)
    comments.add_comment(core, user(core, "specialist"), dossier.code,
                         "  Đã xác minh với công an tỉnh.  ", at(23, 10), task_id=task.id)
    comments.add_comment(core, user(core, "head"), dossier.code, "Đồng ý.", at(23, 11))
    rows = comments.list_comments(core, dossier.code)
    assert [(r.author_name, r.comment.body, r.comment.task_id) for r in rows] == [
        ("Specialist", "Đã xác minh với công an tỉnh.", task.id), ("Head", "Đồng ý.", None)]
    assert rows[0].comment.created_at == at(23, 10)


def test_a_comment_is_recorded_in_the_history_without_its_text(core: Core) -> None:
    dossier = receive(core, MONDAY_9AM)
    comments.add_comment(core, user(core, "specialist"), dossier.code, "Nội bộ", at(23, 10))
    [recorded] = [e for e in dossiers.get_dossier(core, dossier.code).events
                  if e.kind == "commented"]
    assert recorded.actor == "specialist" and "Nội bộ" not in str(recorded.data)


@pytest.mark.parametrize(("body", "lang", "words"), [
    ("   ", "vi", "từ 1 đến"), ("x" * 4001, "en", "1 to 4000")])
def test_an_empty_or_overlong_comment_is_refused_with_a_message(
        core: Core, body: str, lang: str, words: str) -> None:
    dossier = receive(core, MONDAY_9AM)
    with pytest.raises(InvalidInput) as caught:
        comments.add_comment(core, user(core, "specialist"), dossier.code, body, at(23, 10),
                             lang=lang)
    assert words in caught.value.fields["body"]
    assert comments.list_comments(core, dossier.code) == []


def test_a_comment_cannot_name_a_task_of_another_dossier(core: Core) -> None:
    first = receive(core, MONDAY_9AM)
    second = receive(core, at(23, 10))
    [task] = ready_tasks(core, first.code)
    with pytest.raises(NotFound):
        comments.add_comment(core, user(core, "specialist"), second.code, "Sai hồ sơ",
                             at(23, 11), task_id=task.id)


def test_an_unknown_dossier_has_no_comments(core: Core) -> None:
    with pytest.raises(NotFound):
        comments.list_comments(core, "000.00.18.H57-261123-9999")
