"""Errors the services raise; each has a stable code the entry points translate."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation; the entry points translate it with its params."""
    return message


CHANGED_MEANWHILE = N_(
    "The dossier was changed by someone else meanwhile. Reload it and try again."
)


class ServiceError(Exception):
    """Base of the errors a user can cause; `code` names it for the entry points.

    `message` is English with %(name)s placeholders filled from `params`; the entry points
    translate it into the user's language.
    """

    code = "error"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class NotFound(ServiceError):
    """The dossier, task or procedure does not exist (or is not visible to the caller)."""

    code = "not_found"


class Forbidden(ServiceError):
    """The caller's roles do not allow the action."""

    code = "forbidden"


class Conflict(ServiceError):
    """The object changed meanwhile (completed, claimed, a newer revision)."""

    code = "conflict"


class InvalidInput(ServiceError):
    """Input failed validation; `fields` maps each field to a message in the user's language."""

    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


class Unauthenticated(ServiceError):
    """Wrong username or password, or an invalid token."""

    code = "unauthenticated"
