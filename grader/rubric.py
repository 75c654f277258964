"""The rubric (grader.yaml) loaded into validated, frozen configuration."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from grader import resources
from grader.checks import load_all
from grader.formula import FormulaError, parse
from grader.registry import CheckSpec, Formulas, Param
from grader.errors import RubricError
from grader.source import INDENTATIONS

VISIBILITIES = ("public", "hidden")

COMMON = {
    "points": Param(1.0, 0.0),
    "timeout": Param(60.0, 1.0, 3600.0),  # wall seconds for the whole check
    "memory": Param(2048, 64, 65536),  # MiB the worker may allocate
}
DIAGNOSIS = {
    "rtol": Param(1e-4, 0.0, 1.0),  # how close a mutant's values must be to the student's
    "atol": Param(1e-5, 0.0, 1.0),
    "timeout": Param(10.0, 1.0, 600.0),  # wall seconds for each part's diagnoser
}
"""How known mistakes are recognised (grader.mistakes): one setting for every diagnoser."""
TOP_LEVEL = ("text", "seed", "load_timeout", "indentation", "diagnosis", "checks")


@dataclass(frozen=True)
class CheckConfig:
    """How one check is run and scored."""

    id: str
    task: str
    points: float
    visibility: str
    timeout: float
    memory: int
    params: Mapping[str, Any]
    """The check's own parameters: numbers, and formulas (tuples of strings)."""
    parts: tuple[str, ...] = ()
    """The parts marked on their own (CheckSpec.parts), each worth params[f"{part}_points"]."""

    def score(self, status: str, details: Mapping[str, Any]) -> float:
        """The points a result earns: all of them when it passed; for a check marked in parts, those of
        the parts its details say are right (details["parts"]: part -> right), whatever its status."""
        if self.parts:
            right = details.get("parts") or {}
            return float(sum(self.params[f"{part}_points"] for part in self.parts if right.get(part) is True))
        return self.points if status == "passed" else 0.0


@dataclass(frozen=True)
class Rubric:
    """The whole rubric: the training text, the seed, how to read indentation, and the checks in report order."""

    path: Path
    text: Path
    seed: int
    load_timeout: float
    """Seconds a task file's definitions may take to run (a hang there costs every check)."""
    checks: tuple[CheckConfig, ...]
    indentation: str = "strict"
    """How lines Python refuses for mixing tabs and spaces are read (grader.source.INDENTATIONS)."""
    diagnosis: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({k: float(p.default) for k, p in DIAGNOSIS.items()}))
    """rtol, atol and timeout of the diagnosers that name a failed check's mistake."""

    def config(self, check_id: str) -> CheckConfig:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)


def default_rubric_path() -> Path:
    """The grader's own grader.yaml: the source tree's, or the installed package's copy (grader.resources)."""
    return resources.root() / "grader.yaml"


def load_rubric(path: Path | str | None = None) -> Rubric:
    """Read and validate a rubric file; every problem is a RubricError naming its key."""
    path = Path(path) if path is not None else default_rubric_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RubricError(f"{path}: cannot read the rubric ({e.strerror})") from e
    except yaml.YAMLError as e:
        raise RubricError(f"{path}: not valid YAML: {e}") from e
    return parse_rubric(raw, path)


def parse_rubric(raw: object, path: Path) -> Rubric:
    """Validate an already-parsed rubric document."""
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
    registry = load_all()
    configs = tuple(_check(str(k), v, registry, path) for k, v in checks.items())
    return Rubric(path, text, int(seed), float(load_timeout), configs, indentation, tolerances)


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
    formulas = {k: _formulas(body.get(k, p.default), f"{where}.{k}", path) for k, p in allowed.items()
                if isinstance(p, Formulas)}
    points = _parts_points(body, numbers, spec.parts, where, path) if spec.parts else numbers["points"]
    visibility = _choice(body.get("visibility", "public"), f"{where}.visibility", VISIBILITIES, path)
    own = MappingProxyType({k: {**numbers, **formulas}[k] for k in spec.params})
    return CheckConfig(check_id, spec.task, float(points), str(visibility),
                       float(numbers["timeout"]), int(numbers["memory"]), own, spec.parts)


def _parts_points(body: Mapping[str, Any], values: Mapping[str, float | int], parts: tuple[str, ...], where: str,
                  path: Path) -> float:
    """A check marked in parts is worth the sum of its parts' points; `points`, if given, must say so."""
    total = float(sum(values[f"{part}_points"] for part in parts))
    if "points" in body and float(values["points"]) != total:
        named = " + ".join(f"{part}_points" for part in parts)
        raise RubricError(f"{path}: {where}.points: must equal {named} ({total:g}), got {body['points']!r}; "
                          "leave it out to mean their sum")
    return total


def _formulas(value: object, where: str, path: Path) -> tuple[str, ...]:
    """A non-empty list of formulas in n and h, each readable by grader.formula."""
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise RubricError(f"{path}: {where}: must be a list of formulas in n and h, got {value!r}")
    for formula in value:
        try:
            parse(formula)
        except FormulaError as e:
            raise RubricError(f"{path}: {where}: {formula!r}: {e}") from None
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
