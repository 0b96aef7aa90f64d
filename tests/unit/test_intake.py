"""The intake checklist: how its optional documents are marked."""

from __future__ import annotations

from workflows.intake import ChecklistItem


def test_an_optional_document_is_marked_unless_its_name_says_it_already() -> None:
    plain = ChecklistItem("Văn bản ủy quyền", "Power of attorney", 1, optional=True)
    says = ChecklistItem("Giấy tờ chứng minh được miễn phí, nếu có",
                         "Proof of a fee exemption (if any)", 1, optional=True)
    required = ChecklistItem("Tờ khai", "Request form", 1, optional=False)
    assert plain.needs_optional_mark("vi") and plain.needs_optional_mark("en")
    assert not says.needs_optional_mark("vi") and not says.needs_optional_mark("en")
    assert not required.needs_optional_mark("vi")
