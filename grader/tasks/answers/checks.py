"""Part 1, question 2: the weight counts students write down, read as formulas in n and h.

Nothing here runs student code: the answers file is YAML read as data, and each formula is read by
grader.tasks.answers.formula's own small grammar into an exact polynomial, compared with the rubric's accepted
counts. A wrong count is explained with numbers, and named when it is a known slip.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import yaml

from grader.context import Written
from grader.errors import Mismatch, StudentException
from grader.registry import Param, Texts, check
from grader.submission import TaskFile
from grader.tasks.answers import FREE_TEXT_KEYS, TASK, WEIGHT_KEYS
from grader.tasks.answers.formula import FormulaError, Polynomial, parse

NETWORKS = {"rnn": "RNN", "lstm": "LSTM"}
SHOWN = (3, 2)
"""The (n, h) at which a wrong count is shown, unless it happens to be right there."""
MAX_TEXT = 2000
"""Characters of a free-text answer kept in the report."""
SLIPS = {
    "rnn": {"answers.no_bias": ("h(n+h)",),
            "answers.output_layer_counted": ("h(n+h+1) + n(h+1)", "h(n+h+1) + nh"),
            "answers.missing_recurrent": ("h(n+1)", "nh")},
    "lstm": {"answers.no_bias": ("4h(n+h)",),
             "answers.output_layer_counted": ("4h(n+h+1) + n(h+1)", "4h(n+h+2) + n(h+1)", "4h(n+h+1) + nh",
                                              "4h(n+h+2) + nh"),
             "answers.missing_factor_4": ("h(n+h+1)", "h(n+h+2)"),
             "answers.missing_recurrent": ("4h(n+1)", "4h(n+2)", "4nh")},
}
"""The counts the known slips give (grader.mistakes), by network: the rubric's accepted counts are
what is right; these only name what is wrong."""


@dataclass(frozen=True)
class Part:
    """One network's count as marked: right or not, the sentence saying so, and the slip it shows."""

    right: bool
    sentence: str
    slip: str | None = None
    polynomial: Polynomial | None = None


def formulas(default: tuple[str, ...]) -> Texts:
    """A rubric parameter listing counts as formulas in n and h, each readable by grader.tasks.answers.formula."""
    return Texts(default, "formulas in n and h", parse)


@check("answers.weight_counts", task=TASK, marks=("rnn", "lstm"),
       params={"rnn_points": Param(1.0), "lstm_points": Param(1.0),
               "rnn": formulas(("h(n+h+1)",)), "lstm": formulas(("4h(n+h+1)", "4h(n+h+2)"))})
def weight_counts(answers: Written) -> str:
    """q2_rnn_weights and q2_lstm_weights are the accepted counts, as polynomials in n and h."""
    values, lines = read(answers.file)
    answers.details["answers"] = {k: _shown(v) for k, v in values.items() if k in (*WEIGHT_KEYS.values(),
                                                                                   *FREE_TEXT_KEYS)}
    accepted = {network: [parse(f) for f in answers.param(network)] for network in NETWORKS}
    missing = [key for key in WEIGHT_KEYS.values() if key not in values]
    marked = {network: mark(network, values[key], lines[key], answers.file.name, accepted)
              for network, key in WEIGHT_KEYS.items() if key in values}
    answers.details["parts"] = {network: part.right for network, part in marked.items()}
    answers.diagnosis = _slip(marked, accepted)
    if missing:
        raise StudentException(f"{answers.file.name} has no key {' or '.join(missing)}: add it as in the starter "
                               f"answers.yaml{_others(marked)}")
    if not all(part.right for part in marked.values()):
        raise Mismatch("; ".join(part.sentence for part in marked.values()))
    return "; ".join(part.sentence for part in marked.values())


def read(file: TaskFile) -> tuple[dict[str, Any], dict[str, int]]:
    """The answers file's values and the line of each, by key (lower case); StudentException naming the
    file and line when it is not a YAML mapping."""
    try:
        node = yaml.compose(file.text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(file.text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise StudentException(f"{file.name}{where}: not valid YAML ({problem}); write one 'key: answer' per "
                               "line as in the starter answers.yaml, quoting an answer that holds ': '") from None
    if not isinstance(node, yaml.MappingNode) or not isinstance(values, dict):
        kind = "nothing" if values is None else f"a {type(values).__name__}"
        raise StudentException(f"{file.name} line 1: expected 'key: answer' lines as in the starter answers.yaml, "
                               f"found {kind}")
    lines = {str(key.value).strip().lower(): key.start_mark.line + 1 for key, _ in node.value}
    return {str(k).strip().lower(): v for k, v in values.items()}, lines


def mark(network: str, value: Any, line: int, name: str, accepted: dict[str, list[Polynomial]]) -> Part:
    """One network's count: right when it is one of the accepted polynomials."""
    key, where = WEIGHT_KEYS[network], f"{name} line {line}"
    if value is None or (isinstance(value, str) and not value.strip()):
        return Part(False, f"{where}: no answer given for {key}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return Part(False, f"{where}: {key} is not a formula in n and h")
    try:
        polynomial = parse(str(value))
    except FormulaError as e:
        return Part(False, f"{where}: {key}: {e}")
    if not polynomial.variables:
        return Part(False, f"{where}: {key} is the number {_shown(value)}, but the question asks for a formula "
                           "in n and h")
    if polynomial in accepted[network]:
        return Part(True, f"{NETWORKS[network]} count {_shown(value)} right", polynomial=polynomial)
    n, h = _point(polynomial, accepted[network])
    counts = " or ".join(sorted({_number(p(n, h)) for p in accepted[network]}, key=float))
    sentence = (f"{where}: for n={n}, h={h} your {NETWORKS[network]} formula gives {_number(polynomial(n, h))}; "
                f"the network has {counts}")
    slip = next((mistake for mistake, forms in SLIPS[network].items() if polynomial in _parsed(forms)), None)
    return Part(False, sentence, slip, polynomial)


def _point(polynomial: Polynomial, accepted: list[Polynomial]) -> tuple[int, int]:
    """SHOWN, or the first small (n, h) where the formula differs from every accepted count."""
    points = [SHOWN, *((n, h) for n in range(2, 12) for h in range(2, 12))]
    return next(p for p in points if all(polynomial(*p) != a(*p) for a in accepted))


def _slip(marked: dict[str, Part], accepted: dict[str, list[Polynomial]]) -> str | None:
    """The known slip behind the wrong counts: the two answers swapped, or the first part's own."""
    rnn, lstm = marked.get("rnn"), marked.get("lstm")
    if rnn and lstm and not rnn.right and not lstm.right and rnn.polynomial in accepted["lstm"] \
            and lstm.polynomial in accepted["rnn"]:
        return "answers.swapped"
    return next((part.slip for part in marked.values() if part.slip), None)


@functools.cache
def _parsed(forms: tuple[str, ...]) -> tuple[Polynomial, ...]:
    return tuple(parse(f) for f in forms)


def _others(marked: dict[str, Part]) -> str:
    return "".join(f"; {part.sentence}" for part in marked.values())


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


def _shown(value: Any) -> str:
    """An answer as the report shows it: text (cut at MAX_TEXT), a number, or what kind of thing it is
    (never the str() of a structure: YAML aliases can make one exponentially long)."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float, bool)):
        text = str(value).strip()
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " [...]"
    return f"(a {type(value).__name__}, not text)"
