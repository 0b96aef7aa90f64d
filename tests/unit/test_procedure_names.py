"""Every step, lane, event and gateway of the catalogue has an English name in procedure.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from lxml import etree

from workflows.procedure import Procedure, ProcedureError, procedure_from_dict

CATALOGUE = Path(__file__).resolve().parents[2] / "bpmn"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# Named elements whose names the pages show (events and gateways in the history and the
# diagram, flows in the diagram).
SHOWN = ("userTask", "startEvent", "endEvent", "intermediateCatchEvent",
         "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway",
         "inclusiveGateway", "eventBasedGateway", "sequenceFlow")
FOLDERS = sorted(path.parent for path in CATALOGUE.glob("*/procedure.toml"))
MINIMAL = {"code": "x", "process_id": "x", "name": "X", "field": "f",
           "statutory_working_days": 5, "committed_working_days": 3,
           "lanes": {"Bộ phận Một cửa": {"role": "reception"}}}


def _named(folder: Path, tag: str) -> dict[str, str]:
    root = etree.parse(str(folder / "process.bpmn"))
    return {element.get("id"): element.get("name") for element in root.iter(f"{BPMN}{tag}")
            if element.get("name")}


def _procedure(folder: Path) -> Procedure:
    return procedure_from_dict(tomllib.loads((folder / "procedure.toml").read_text("utf-8")))


def test_the_catalogue_has_six_procedures() -> None:
    assert len(FOLDERS) == 6


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_every_user_task_has_an_english_name(folder: Path) -> None:
    procedure = _procedure(folder)
    tasks = _named(folder, "userTask")
    assert tasks
    missing = sorted(f"{bpmn_id} ({name})" for bpmn_id, name in tasks.items()
                     if not procedure.step_names_en.get(bpmn_id))
    assert missing == [], "add [steps.<id>] name_en = … to procedure.toml"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_every_lane_has_an_english_name(folder: Path) -> None:
    procedure = _procedure(folder)
    lanes = _named(folder, "lane").values()
    assert lanes
    missing = sorted(lane for lane in lanes
                     if lane not in procedure.lanes or not procedure.lanes[lane].name_en)
    assert missing == [], "add name_en to these lanes in procedure.toml"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_every_named_event_gateway_and_flow_has_an_english_name(folder: Path) -> None:
    procedure = _procedure(folder)
    named = {bpmn_id: name for tag in SHOWN for bpmn_id, name in _named(folder, tag).items()}
    missing = sorted(f"{bpmn_id} ({name})" for bpmn_id, name in named.items()
                     if not procedure.step_names_en.get(bpmn_id))
    assert missing == []


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_english_names_only_name_elements_of_the_diagram(folder: Path) -> None:
    procedure = _procedure(folder)
    root = etree.parse(str(folder / "process.bpmn"))
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    assert sorted(set(procedure.step_names_en) - ids) == []


def test_names_are_shown_in_the_language_asked_for() -> None:
    procedure = _procedure(CATALOGUE / "judicial_record_certificate")
    assert procedure.step_title("sign", "Ký Phiếu lý lịch tư pháp", "en") == \
        "Sign the judicial record certificate"
    assert procedure.step_title("sign", "Ký Phiếu lý lịch tư pháp", "vi") == \
        "Ký Phiếu lý lịch tư pháp"
    assert procedure.lane_title("Lãnh đạo Sở", "en") == "Department leadership"
    assert procedure.lane_title("Lãnh đạo Sở", "vi") == "Lãnh đạo Sở"


def test_metadata_without_english_names_still_loads_and_falls_back_to_the_bpmn() -> None:
    procedure = procedure_from_dict(MINIMAL)
    assert procedure.step_names_en == {}
    assert procedure.lanes["Bộ phận Một cửa"].name_en == ""
    assert procedure.step_title("check", "Kiểm tra", "en") == "Kiểm tra"
    assert procedure.lane_title("Bộ phận Một cửa", "en") == "Bộ phận Một cửa"
    assert procedure.lane_title("Unknown lane", "en") == "Unknown lane"


def test_a_step_name_that_is_not_text_is_refused() -> None:
    with pytest.raises(ProcedureError, match="steps.check.name_en"):
        procedure_from_dict({**MINIMAL, "steps": {"check": {"name_en": 3}}})
