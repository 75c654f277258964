"""The rubric (grader.yaml) loaded into validated, frozen configuration."""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from grader import resources
from grader.config import DIAGNOSIS as DEFAULT_DIAGNOSIS
from grader.config import CheckConfig, Rubric
from grader.errors import RubricError
from grader.registry import REGISTRY, CheckSpec, Param, Texts
from grader.source import INDENTATIONS
from grader.tasks import LAB
from grader.tasks.spec import Lab

VISIBILITIES = ("public", "hidden")

COMMON = {
    "points": Param(1.0, 0.0),
    "timeout": Param(60.0, 1.0, 3600.0),  # wall seconds for the whole check
    "memory": Param(2048, 64, 65536),  # MiB the worker may allocate
}
DIAGNOSIS = {
    "rtol": Param(DEFAULT_DIAGNOSIS["rtol"], 0.0, 1.0),  # how close a mutant's values must be to the student's
    "atol": Param(DEFAULT_DIAGNOSIS["atol"], 0.0, 1.0),
    "timeout": Param(DEFAULT_DIAGNOSIS["timeout"], 1.0, 600.0),  # wall seconds for each part's diagnoser
}
"""How known mistakes are recognised (grader.mistakes): one setting for every diagnoser."""
TOP_LEVEL = ("text", "seed", "load_timeout", "indentation", "diagnosis", "checks")


def default_rubric_path() -> Path:
    """The grader's own grader.yaml: the source tree's, or the installed package's copy (grader.resources)."""
    return resources.root() / "grader.yaml"


def load_rubric(path: Path | str | None = None, lab: Lab = LAB) -> Rubric:
    """Read and validate a rubric file of `lab`'s checks; every problem is a RubricError naming its key."""
    path = Path(path) if path is not None else default_rubric_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RubricError(f"{path}: cannot read the rubric ({e.strerror})") from e
    except yaml.YAMLError as e:
        raise RubricError(f"{path}: not valid YAML: {e}") from e
    return parse_rubric(raw, path, checks_of(lab), lab)


def checks_of(lab: Lab) -> Mapping[str, CheckSpec]:
    """The registered checks of `lab`'s tasks, their modules imported (each registers its checks)."""
    for task in lab.tasks:
        for module in task.checks:
            importlib.import_module(module)
    return {k: spec for k, spec in REGISTRY.items() if spec.task in lab.ids}


def parse_rubric(raw: object, path: Path, registry: Mapping[str, CheckSpec], lab: Lab = LAB) -> Rubric:
    """Validate an already-parsed rubric document, whose checks are those of `registry`."""
    top = _mapping(raw, "", path)
    _no_unknown_keys(top, TOP_LEVEL, "", path)
    text = path.parent / _string(top.get("text", "fixtures/textData.txt"), "text", path)
    if not text.is_file():
        raise RubricError(f"{path}: text: no such file {text}")
    seed = _number(top.get("seed", 0), "seed", Param(0, 0, 2**32 - 1), path)
    load_timeout = _number(top.get("load_timeout", 10.0), "load_timeout", Param(10.0, 0.5, 600.0), path)
    indentation = _choice(top.get("indentation", "strict"), "indentation", INDENTATIONS, path)
    diagnosis = _mapping(top.get("diagnosis", {}), "diagnosis", path)
    _no_unknown_keys(diagnosis, DIAGNOSIS, "diagnosis", path)
    tolerances = MappingProxyType({k: float(_number(diagnosis.get(k, p.default), f"diagnosis.{k}", p, path))
                                   for k, p in DIAGNOSIS.items()})
    checks = _mapping(top.get("checks"), "checks", path)
    if not checks:
        raise RubricError(f"{path}: checks: the rubric names no checks")
    configs = tuple(_check(str(k), v, registry, path) for k, v in checks.items())
    return Rubric(path, text, int(seed), float(load_timeout), configs, lab, indentation, tolerances)


def _check(check_id: str, raw: object, registry: Mapping[str, CheckSpec], path: Path) -> CheckConfig:
    where = f"checks.{check_id}"
    if check_id not in registry:
        raise RubricError(f"{path}: {where}: unknown check{_suggest(check_id, registry)}")
    spec = registry[check_id]
    body = _mapping(raw if raw is not None else {}, where, path)
    allowed = {**COMMON, **spec.params}
    _no_unknown_keys(body, (*allowed, "visibility"), where, path)
    numbers = {k: _number(body.get(k, p.default), f"{where}.{k}", p, path) for k, p in allowed.items()
               if isinstance(p, Param)}
    texts = {k: _texts(body.get(k, p.default), f"{where}.{k}", p, path) for k, p in allowed.items()
             if isinstance(p, Texts)}
    points = _parts_points(body, numbers, spec.marks, where, path) if spec.marks else numbers["points"]
    visibility = _choice(body.get("visibility", "public"), f"{where}.visibility", VISIBILITIES, path)
    own = MappingProxyType({k: {**numbers, **texts}[k] for k in spec.params})
    return CheckConfig(check_id, spec.task, float(points), str(visibility),
                       float(numbers["timeout"]), int(numbers["memory"]), own, spec.marks)


def _parts_points(body: Mapping[str, Any], values: Mapping[str, float | int], parts: tuple[str, ...], where: str,
                  path: Path) -> float:
    """A check marked in parts is worth the sum of its parts' points; `points`, if given, must say so."""
    total = float(sum(values[f"{part}_points"] for part in parts))
    if "points" in body and float(values["points"]) != total:
        named = " + ".join(f"{part}_points" for part in parts)
        raise RubricError(f"{path}: {where}.points: must equal {named} ({total:g}), got {body['points']!r}; "
                          "leave it out to mean their sum")
    return total


def _texts(value: object, where: str, param: Texts, path: Path) -> tuple[str, ...]:
    """A non-empty list of texts, each readable by the parameter's own reader."""
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise RubricError(f"{path}: {where}: must be a list of {param.what}, got {value!r}")
    for text in value:
        try:
            param.read(text)
        except ValueError as e:
            raise RubricError(f"{path}: {where}: {text!r}: {e}") from None
    return tuple(value)


def _number(value: object, where: str, param: Param, path: Path) -> float | int:
    whole = param.kind is int
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        expected = "a whole number" if whole else "a number"
        raise RubricError(f"{path}: {where}: must be {expected}, got {value!r}")
    if value < param.minimum:
        raise RubricError(f"{path}: {where}: must be >= {param.minimum}, got {value!r}")
    if param.maximum is not None and value > param.maximum:
        raise RubricError(f"{path}: {where}: must be <= {param.maximum}, got {value!r}")
    return int(value) if whole else float(value)


def _choice(value: object, where: str, choices: tuple[str, ...], path: Path) -> str:
    if not isinstance(value, str) or value not in choices:
        raise RubricError(f"{path}: {where}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def _mapping(value: object, where: str, path: Path) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        name = where or "the rubric"
        raise RubricError(f"{path}: {name}: must be a mapping, got {type(value).__name__}")
    return value


def _string(value: object, where: str, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise RubricError(f"{path}: {where}: must be a non-empty string, got {value!r}")
    return value


def _no_unknown_keys(body: Mapping[str, Any], allowed: tuple[str, ...] | Mapping[str, Any],
                     where: str, path: Path) -> None:
    for key in body:
        if key not in allowed:
            name = f"{where}.{key}" if where else str(key)
            raise RubricError(f"{path}: {name}: unknown key{_suggest(str(key), allowed)}")


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
