"""What an online submission holds besides the applicant: the return method and consent.

The checklist of documents and the in-person/post return methods are reception's
(workflows/intake.py); online submission adds an electronic result and the consent.
"""

from __future__ import annotations

from workflows.intake import RETURN_TITLES, ReturnMethod, return_errors

ONLINE_LEVELS = frozenset({"full", "partial"})
ONLINE_RETURN = "online"
ONLINE_RETURN_TITLES = ("Nhận kết quả điện tử trực tuyến", "Online, as an electronic result")


def accepts_online(online_level: str) -> bool:
    """Whether a procedure can be submitted online (fully or partly, Decree 42/2022)."""
    return online_level in ONLINE_LEVELS


def return_methods(online_level: str) -> dict[str, tuple[str, str]]:
    """The return methods offered with their (Vietnamese, English) titles; an electronic
    result only for procedures offered fully online."""
    methods = {method.value: titles for method, titles in RETURN_TITLES.items()}
    if online_level == "full":
        methods[ONLINE_RETURN] = ONLINE_RETURN_TITLES
    return methods


def submission_errors(method: str, address: str, consent: bool, online_level: str,
                      lang: str) -> dict[str, str]:
    """Messages for a wrong return method, a missing postal address or a missing consent."""
    english = lang == "en"
    errors: dict[str, str] = {}
    if not (method == ONLINE_RETURN and method in return_methods(online_level)):
        errors.update(return_errors(method, address, lang))
    if not consent:
        errors["consent"] = ("Please confirm that the information is true and that you agree "
                             "to its use for this dossier." if english else
                             "Vui lòng xác nhận thông tin là đúng sự thật và đồng ý cho sử dụng "
                             "để giải quyết hồ sơ.")
    return errors


def missing_file_message(lang: str) -> str:
    """The message of a required document without a file."""
    return ("Please attach this document (PDF, JPG, PNG, DOCX or XLSX)." if lang == "en"
            else "Vui lòng đính kèm giấy tờ này (PDF, JPG, PNG, DOCX hoặc XLSX).")


__all__ = ["ONLINE_RETURN", "ReturnMethod", "accepts_online", "missing_file_message",
           "return_methods", "submission_errors"]
