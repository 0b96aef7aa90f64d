"""Dossier statuses (the national public service portal's codes) and their transitions."""

from __future__ import annotations

from enum import IntEnum


class DossierStatus(IntEnum):
    """Status of a dossier as the national portal codes it."""

    SUBMITTED_ONLINE = 1
    RECEIVED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    AWAITING_FEES = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    RESOLVED = 9
    RESULT_RETURNED = 10


_ALLOWED: dict[DossierStatus, frozenset[DossierStatus]] = {
    DossierStatus.SUBMITTED_ONLINE: frozenset(
        {DossierStatus.RECEIVED, DossierStatus.REFUSED, DossierStatus.SUPPLEMENT_REQUESTED}
    ),
    DossierStatus.RECEIVED: frozenset(
        {DossierStatus.PROCESSING, DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.REFUSED}
    ),
    DossierStatus.PROCESSING: frozenset(
        {
            DossierStatus.SUPPLEMENT_REQUESTED,
            DossierStatus.AWAITING_FEES,
            DossierStatus.WITHDRAWAL_REQUESTED,
            DossierStatus.STOPPED,
            DossierStatus.RESOLVED,
        }
    ),
    # An online submission sent back before it was received returns to reception's queue.
    DossierStatus.SUPPLEMENT_REQUESTED: frozenset(
        {DossierStatus.PROCESSING, DossierStatus.RECEIVED, DossierStatus.STOPPED,
         DossierStatus.WITHDRAWAL_REQUESTED, DossierStatus.SUBMITTED_ONLINE}
    ),
    DossierStatus.AWAITING_FEES: frozenset(
        {DossierStatus.PROCESSING, DossierStatus.RESOLVED, DossierStatus.STOPPED}
    ),
    DossierStatus.WITHDRAWAL_REQUESTED: frozenset(
        {DossierStatus.STOPPED, DossierStatus.PROCESSING}
    ),
    DossierStatus.RESOLVED: frozenset({DossierStatus.RESULT_RETURNED}),
    DossierStatus.REFUSED: frozenset(),
    DossierStatus.STOPPED: frozenset(),
    DossierStatus.RESULT_RETURNED: frozenset(),
}


class InvalidTransition(ValueError):
    """A dossier was asked to move to a status it cannot reach from its current one."""

    def __init__(self, current: DossierStatus, target: DossierStatus) -> None:
        super().__init__(f"a dossier cannot go from status {current.name} to {target.name}")
        self.current = current
        self.target = target


def can_transition(current: DossierStatus, target: DossierStatus) -> bool:
    """Tell whether a dossier may move from `current` to `target` (staying put is allowed)."""
    return current == target or target in _ALLOWED[current]


def transition(current: DossierStatus, target: DossierStatus) -> DossierStatus:
    """Return `target` if the move is allowed, else raise InvalidTransition."""
    if not can_transition(current, target):
        raise InvalidTransition(current, target)
    return target


# Where a dossier ends: no status follows (refused, stopped, result returned). Its process,
# if it had one, no longer runs.
FINISHED = frozenset(status for status, following in _ALLOWED.items() if not following)


def is_open(status: DossierStatus) -> bool:
    """Tell whether the dossier is still being handled (its clock can run)."""
    return status not in {
        DossierStatus.REFUSED,
        DossierStatus.STOPPED,
        DossierStatus.RESOLVED,
        DossierStatus.RESULT_RETURNED,
    }
