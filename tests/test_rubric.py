"""The rubric loads into frozen config, and every mistake in it is named precisely."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from grader.errors import RubricError
from grader.config import Rubric
from grader.rubric import checks_of, load_rubric, parse_rubric
from grader.tasks import LAB

RUBRIC = ROOT / "grader.yaml"
CHECKS = checks_of(LAB)


def raw() -> dict[str, Any]:
    return yaml.safe_load(RUBRIC.read_text())  # type: ignore[no-any-return]


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(RubricError) as caught:
        parse_rubric(document, RUBRIC, CHECKS)
    return str(caught.value)


def test_project_rubric_loads_every_rnn_check(rubric: Rubric) -> None:
    ids = [c.id for c in rubric.checks]
    assert ids[:4] == ["rnn.forward", "rnn.gradcheck", "rnn.weights", "rnn.loss_decrease"]
    assert rubric.config("rnn.forward").params["examples"] == 40
    assert rubric.text.is_file()


def test_rubric_is_frozen(rubric: Rubric) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        rubric.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        rubric.config("rnn.forward").params["examples"] = 1  # type: ignore[index]


def test_unknown_check_id_suggests_the_closest() -> None:
    doc = raw()
    doc["checks"]["rnn.foward"] = doc["checks"].pop("rnn.forward")
    assert "checks.rnn.foward: unknown check (did you mean 'rnn.forward' or 'lstm.forward'?)" in error_of(doc)


def test_unknown_key_names_its_path_and_suggests() -> None:
    doc = raw()
    doc["checks"]["rnn.loss_decrease"]["iteratons"] = 5
    assert "checks.rnn.loss_decrease.iteratons: unknown key (did you mean 'iterations'?)" in error_of(doc)


def test_negative_points_are_rejected_with_the_value() -> None:
    doc = raw()
    doc["checks"]["rnn.forward"]["points"] = -1
    assert "checks.rnn.forward.points: must be >= 0.0, got -1" in error_of(doc)


@pytest.mark.parametrize("key,value,words", [
    ("examples", 2.5, "must be a whole number, got 2.5"),
    ("examples", True, "must be a whole number, got True"),
    ("rtol", "small", "must be a number, got 'small'"),
    ("visibility", "secret", "must be one of public, hidden, got 'secret'"),
])
def test_wrong_types_are_rejected(key: str, value: object, words: str) -> None:
    doc = raw()
    doc["checks"]["rnn.forward"][key] = value
    assert f"checks.rnn.forward.{key}: {words}" in error_of(doc)


def test_unknown_top_level_key_and_missing_text_are_errors() -> None:
    assert "seeed: unknown key (did you mean 'seed'?)" in error_of({**raw(), "seeed": 1})
    assert "text: no such file" in error_of({**raw(), "text": "nowhere.txt"})
    assert "checks: the rubric names no checks" in error_of({**raw(), "checks": {}})


def test_unreadable_or_invalid_yaml_is_a_rubric_error(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot read"):
        load_rubric(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("checks: [unclosed\n")
    with pytest.raises(RubricError, match="not valid YAML"):
        load_rubric(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(RubricError, match="the rubric: must be a mapping"):
        load_rubric(listed)


def test_defaults_fill_what_the_rubric_leaves_out() -> None:
    doc = raw()
    doc["checks"] = {"rnn.weights": None}
    config = parse_rubric(doc, RUBRIC, CHECKS).config("rnn.weights")
    assert (config.points, config.visibility, config.params["examples"]) == (1.0, "public", 12)


def test_indentation_is_strict_unless_the_rubric_says_lenient(rubric: Rubric) -> None:
    assert rubric.indentation == "strict"
    doc = raw()
    del doc["indentation"]
    assert parse_rubric(doc, RUBRIC, CHECKS).indentation == "strict"
    assert parse_rubric({**raw(), "indentation": "lenient"}, RUBRIC, CHECKS).indentation == "lenient"


@pytest.mark.parametrize("value", ["loose", 8, None])
def test_unknown_indentation_names_the_key_and_the_allowed_values(value: object) -> None:
    assert f"indentation: must be one of strict, lenient, got {value!r}" in error_of({**raw(), "indentation": value})


def test_diagnosis_settings_come_from_the_rubric_with_defaults_and_are_checked(rubric: Rubric) -> None:
    assert dict(rubric.diagnosis) == {"rtol": 1e-4, "atol": 1e-5, "timeout": 10.0}
    doc = raw()
    del doc["diagnosis"]
    assert dict(parse_rubric(doc, RUBRIC, CHECKS).diagnosis) == {"rtol": 1e-4, "atol": 1e-5, "timeout": 10.0}
    assert parse_rubric({**raw(), "diagnosis": {"rtol": 0.01}}, RUBRIC, CHECKS).diagnosis["rtol"] == 0.01
    assert "diagnosis.tol: unknown key (did you mean 'rtol' or 'atol'?)" in error_of({**raw(), "diagnosis": {"tol": 1}})
    assert "diagnosis.timeout: must be >= 1.0, got 0" in error_of({**raw(), "diagnosis": {"timeout": 0}})


def test_a_rubric_knows_only_the_checks_of_the_registry_it_is_given() -> None:
    doc = raw()
    only_rnn = {k: spec for k, spec in CHECKS.items() if spec.task == "task2"}
    doc["checks"] = {k: v for k, v in doc["checks"].items() if k.startswith("rnn.")}
    assert [c.id for c in parse_rubric(doc, RUBRIC, only_rnn).checks] == list(doc["checks"])
    doc["checks"]["lstm.init"] = {"points": 1}
    with pytest.raises(RubricError, match="checks.lstm.init: unknown check"):
        parse_rubric(doc, RUBRIC, only_rnn)
