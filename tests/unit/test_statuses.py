"""Dossier statuses move only along the national portal's allowed transitions."""

from __future__ import annotations

import pytest

from workflows.statuses import DossierStatus, InvalidTransition, is_open, transition


def test_a_received_dossier_can_go_into_processing() -> None:
    assert transition(DossierStatus.RECEIVED, DossierStatus.PROCESSING) == 4


def test_a_returned_result_is_final() -> None:
    for target in DossierStatus:
        if target != DossierStatus.RESULT_RETURNED:
            with pytest.raises(InvalidTransition):
                transition(DossierStatus.RESULT_RETURNED, target)


def test_a_refused_dossier_cannot_be_resolved() -> None:
    with pytest.raises(InvalidTransition, match="REFUSED to RESOLVED"):
        transition(DossierStatus.REFUSED, DossierStatus.RESOLVED)


def test_open_and_closed_statuses() -> None:
    assert is_open(DossierStatus.SUPPLEMENT_REQUESTED)
    assert not is_open(DossierStatus.RESOLVED)
