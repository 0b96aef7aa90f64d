"""procedure.toml's `max_rounds_per_step`: how often one step may run in one dossier."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.procedure import ProcedureError, procedure_from_dict

MINIMAL = {"code": "x", "process_id": "x", "name": "X", "field": "f",
           "statutory_working_days": 5, "committed_working_days": 3,
           "lanes": {"Bộ phận Một cửa": {"role": "reception"}}}


def test_a_procedure_without_the_setting_allows_25_rounds() -> None:
    assert procedure_from_dict(MINIMAL).max_rounds_per_step == 25


def test_a_procedure_may_allow_more_rounds_up_to_the_engines_limit() -> None:
    assert procedure_from_dict({**MINIMAL, "max_rounds_per_step": 210}).max_rounds_per_step == 210
    assert procedure_from_dict({**MINIMAL, "max_rounds_per_step": 1}).max_rounds_per_step == 1


@pytest.mark.parametrize("value", [0, -3, 251, 2.5, "10", True, None])
def test_a_setting_that_is_not_a_whole_number_from_1_to_250_is_refused(value: Any) -> None:
    with pytest.raises(ProcedureError, match="max_rounds_per_step"):
        procedure_from_dict({**MINIMAL, "max_rounds_per_step": value})
