"""What a user account may hold: usernames, the password policy, roles, e-mail, department.

Each check returns the message for its field in the user's language, or None when the value
is acceptable; the services gather them into one InvalidInput.
"""

from __future__ import annotations

import re

# Every role a procedure's lanes or a page checks; an account holds only these.
KNOWN_ROLES = ("reception", "specialist", "head", "leader", "clerk", "supervisor", "designer",
               "admin")
ADMIN = "admin"
MIN_PASSWORD = 10
# scrypt hashes whatever it is given: a bound keeps a login from costing a megabyte's hash.
MAX_PASSWORD = 200
_USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")
_DEPARTMENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _say(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def username_error(username: str, lang: str) -> str | None:
    """Lower-case letters, digits, dot, dash or underscore, 3 to 64, starting with a letter."""
    if _USERNAME.fullmatch(username):
        return None
    return _say(lang, "Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, chữ số, dấu chấm, "
                      "gạch ngang hoặc gạch dưới, bắt đầu bằng một chữ cái.",
                "A username has 3 to 64 characters: lower-case letters without accents, "
                "digits, dots, dashes or underscores, starting with a letter.")


def password_error(password: str, username: str, lang: str) -> str | None:
    """At least 10 characters, not only digits, not the username."""
    if len(password) < MIN_PASSWORD:
        return _say(lang, f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.",
                    f"A password has at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        return _say(lang, f"Mật khẩu có tối đa {MAX_PASSWORD} ký tự.",
                    f"A password has at most {MAX_PASSWORD} characters.")
    if password.isdigit():
        return _say(lang, "Mật khẩu không được chỉ gồm chữ số.",
                    "A password cannot be made of digits only.")
    if password.casefold() == username.casefold():
        return _say(lang, "Mật khẩu không được trùng tên đăng nhập.",
                    "A password cannot be the username.")
    return None


def roles_error(roles: list[str], lang: str) -> str | None:
    """At least one role, each of them known."""
    unknown = sorted(set(roles) - set(KNOWN_ROLES))
    if unknown:
        return _say(lang, f"Vai trò không tồn tại: {', '.join(unknown)}.",
                    f"Unknown role(s): {', '.join(unknown)}.")
    if not roles:
        return _say(lang, "Chọn ít nhất một vai trò.", "Choose at least one role.")
    return None


def full_name_error(full_name: str, lang: str) -> str | None:
    """A name of 1 to 200 characters."""
    if 0 < len(full_name) <= 200:
        return None
    return _say(lang, "Nhập họ và tên (tối đa 200 ký tự).",
                "Enter the full name (at most 200 characters).")


def email_error(email: str | None, lang: str) -> str | None:
    """Empty, or an address of at most 200 characters."""
    if not email or (len(email) <= 200 and _EMAIL.fullmatch(email)):
        return None
    return _say(lang, "Địa chỉ thư điện tử không hợp lệ, ví dụ: ten@coquan.gov.vn.",
                "This is not an e-mail address; for example: name@agency.gov.vn.")


def department_error(department: str | None, lang: str) -> str | None:
    """Empty, or a code of letters, digits, dots, dashes or underscores (as in procedure.toml)."""
    if not department or _DEPARTMENT.fullmatch(department):
        return None
    return _say(lang, "Mã phòng ban gồm tối đa 64 chữ cái không dấu, chữ số, dấu chấm, gạch "
                      "ngang hoặc gạch dưới, như trong procedure.toml (ví dụ: one_stop).",
                "A department code has up to 64 letters without accents, digits, dots, dashes "
                "or underscores, as in procedure.toml (for example: one_stop).")


def role_list(roles: str) -> list[str]:
    """The roles of a stored "a,b" string, sorted."""
    return sorted(r for r in roles.split(",") if r)
