"""Formulas read as exact polynomials in n and h however students write them, and hostile text only as text."""

from __future__ import annotations

import builtins
import os
import subprocess
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import assume, given, settings, strategies as st

from grader.tasks.answers.formula import (MAX_DEGREE, MAX_DEPTH, MAX_DIGITS, MAX_EXPONENT, MAX_LENGTH, FormulaError,
                                          Polynomial, parse)

Terms = dict[tuple[int, int], int]

RNN = Polynomial({(1, 1): Fraction(1), (0, 2): Fraction(1), (0, 1): Fraction(1)})
"""h(n + h + 1): the weights of an RNN cell with n inputs and h hidden units."""
LSTM = Polynomial({(1, 1): Fraction(4), (0, 2): Fraction(4), (0, 1): Fraction(4)})
"""4h(n + h + 1): the same for an LSTM cell, with one bias per gate."""
LSTM_TWO_BIASES = Polynomial({(1, 1): Fraction(4), (0, 2): Fraction(4), (0, 1): Fraction(8)})
"""4h(n + h + 2): PyTorch's LSTM, which keeps two biases per gate."""


@pytest.mark.parametrize("text", [
    "h(n+h+1)", "n*h + h^2 + h", "h*n+h*h+h", "H(N+H+1)", "h² + nh + h", "h·(n+h+1)", "h⋅(n+h+1)",
    "h ∗ (n + h + 1)", "hn + h**2 + h", "h^{2} + n h + h", "h^(2)+hn+h", "h*(2n+2h+2)/2", "(2nh + 2h² + 2h)/2",
    "0.5h(2n+2h+2)", "$h(n+h+1)$", "$$ h \\left( n + h + 1 \\right) $$", "  h[n+h+1]\n", "h{n+h+1}",
    "h(n+h+1) = nh + h² + h", "h(n + h + 1) = h·n + h² + h = h^2 + h(n+1)", "+h(n+h+1)", "h(n+h−(−1))",
])
def test_every_way_of_writing_an_rnns_count_reads_as_one_polynomial(text: str) -> None:
    assert parse(text) == RNN


@pytest.mark.parametrize("text", [
    "4h(n + h + 1)", "4*(n*h + h**2 + h)", "4h×(n+h+1)", "4 h (n+h+1)", "$4h\\cdot(n+h+1)$",
    "4h \\times \\left[n+h+1\\right]", "4∗h∗(n+h+1)", "(4h)(n+h+1)", "4(nh+h^2+h)", "4nh + 4h² + 4h",
    "4h(n+h+1) = 4nh + 4h² + 4h", "8h(n+h+1)/2", "h(4n + 4h + 4)", "4h\\,(n+h+1)",
])
def test_every_way_of_writing_an_lstms_count_reads_as_one_polynomial(text: str) -> None:
    assert parse(text) == LSTM


@pytest.mark.parametrize("text", ["4 * h * (n + h + 2)", "4h(n+h+2)", "4(nh + h² + 2h)", "4h(n+h+1) + 4h"])
def test_pytorchs_two_biases_read_as_their_own_polynomial(text: str) -> None:
    assert parse(text) == LSTM_TWO_BIASES
    assert parse(text) != LSTM


@pytest.mark.parametrize("text,same", [
    ("-h^2", "-(h*h)"), ("4h²", "4*h*h"), ("2^3h", "8h"), ("h¹⁰", "h^10"), ("h^0", "1"), ("0.25h", "h/4"),
    (".5h", "h/2"), ("1/2h", "h/2"), ("(n+1)(h+1)", "nh+n+h+1"), ("[n+1]{h+1}", "nh+n+h+1"), ("h²n", "n*h*h"),
    ("hn", "nh"), ("2 h", "2*h"), ("−h", "-h"), ("h - -n", "h+n"), ("h*-n", "-nh"), ("--h", "h"), ("n/-2", "-n/2"),
    ("\\left\\{h\\right\\}", "h"), ("h ** 2", "h^2"), ("(n+h)^2", "n^2 + 2nh + h^2"), ("(h^2)^3", "h^6"),
    ("2(3)(4)", "24"), ("h - h", "0"), ("(((h)))", "h"),
])
def test_notations_mean_what_they_mean_in_algebra(text: str, same: str) -> None:
    assert parse(text) == parse(same)


def test_a_polynomial_is_exact_at_any_point() -> None:
    assert parse("h(n+h+1)")(3, 5) == 5 * 9
    assert parse("h/3 + n/6")(1, 1) == Fraction(1, 2)
    assert isinstance(parse("h")(2, 2), Fraction)


@pytest.mark.parametrize("text,shown", [
    ("h(n+h+1)", "n·h + h² + h"), ("4h(n+h+1)", "4·n·h + 4·h² + 4·h"), ("0.5h - 1", "(1/2)·h - 1"),
    ("-n^2h^10 + 3", "-n²·h¹⁰ + 3"), ("h - h", "0"), ("7/2", "7/2"), ("h^2 + n^2 + nh", "n² + n·h + h²"),
])
def test_a_polynomial_prints_highest_degree_first_n_before_h(text: str, shown: str) -> None:
    assert str(parse(text)) == shown


def test_a_bare_number_is_a_constant_polynomial_and_the_caller_decides() -> None:
    assert parse("12") == Polynomial({(0, 0): Fraction(12)})
    assert parse("12").variables == frozenset()
    assert parse("h^2 + 1").variables == {"h"}
    assert RNN.variables == {"n", "h"}


def test_equal_polynomials_are_one_value_whatever_was_written() -> None:
    assert len({parse("h(n+h+1)"), parse("nh+h^2+h"), RNN}) == 1
    assert Polynomial({(1, 0): Fraction(0), (0, 1): Fraction(2)}).terms == {(0, 1): 2}
    assert Polynomial({}) == parse("n - n")


@pytest.mark.parametrize("text,message,position", [
    ("__import__('os').system('echo hi')", "not a formula: unexpected '_' at character 1", 1),
    ("x + h", "not a formula: 'x' at character 1 is not n or h", 1),
    ("4h(n + h + 1) weights", "'w' at character 15 is not n or h", 15),
    ("h(n+h+1", "not a formula: '(' at character 2 is never closed", 2),
    ("h(n+h+1))", "not a formula: ')' at character 9 closes nothing", 9),
    ("h(n+h+1]", "not a formula: '(' at character 2 is closed by ']' at character 8", 2),
    ("h/n", "division by a formula in n or h is not a polynomial: '/' at character 2", 2),
    ("h/(2-2)", "division by zero at character 2", 2),
    ("h^13", f"exponents up to {MAX_EXPONENT}: got 13 at character 2", 2),
    ("h¹³", f"exponents up to {MAX_EXPONENT}: got 13 at character 2", 2),
    ("h^12 * n", f"a formula of degree at most {MAX_DEGREE}: the product at character 6 has degree 13", 6),
    ("(n+h)^7", None, None),
    ("(n+h)^7 (n+h)^6", f"a formula of degree at most {MAX_DEGREE}", 9),
    ("(n^2+h)^7", f"a formula of degree at most {MAX_DEGREE}: the power at character 8 has degree 14", 8),
    ("(" * 30 + "h" + ")" * 30, f"brackets nested at most {MAX_DEPTH} deep: '(' at character 21 goes deeper", 21),
    ("h+", "not a formula: something should follow '+' at character 2", 2),
    ("h 2", "not a formula: the number 2 at character 3 follows a factor with no operator", 3),
    ("h^2^3", "not a formula: a power of a power at character 4", 4),
    ("h^-1", "not a formula: '^' at character 2 needs a whole number after it", 2),
    ("h^0.5", "needs a whole number after it", 2),
    ("h^n", "needs a whole number after it", 2),
    ("1234567890h", f"numbers of at most {MAX_DIGITS} digits: 1234567890 at character 1 is longer", 1),
    ("\\frac{1}{2}", "not a formula: '\\frac' at character 1 is not understood", 1),
    ("\\left h", "not a formula: '\\left' at character 1 needs a bracket after it", 1),
    ("h(n+h+1) = nh + h", "the two sides of '=' at character 10 differ: n·h + h² + h on the left, n·h + h on the right",
     10),
    ("h\x00", "not a formula: unexpected U+0000 at character 2", 2),
    ("$h$ + $n$", "not a formula: unexpected '$' at character 3", 3),
    ("  h.", "not a formula: unexpected '.' at character 4", 4),
    ("h(n=h)", "not a formula: unexpected '=' at character 4", 4),
    ("()", "not a formula: unexpected ')' at character 2", 2),
    ("((999999999^12)^12)", "numbers of at most 100 digits in a formula: the result at character 12 is larger", 12),
    ("(n+h+1)^12 - (n+h+1)^12", "a formula that expands in at most", None),
])
def test_text_that_is_not_a_formula_is_refused_saying_where(text: str, message: str | None,
                                                            position: int | None) -> None:
    if message is None:
        parse(text)
        return
    with pytest.raises(FormulaError) as caught:
        parse(text)
    assert message in str(caught.value)
    if position is not None:
        assert caught.value.position == position


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "$$", "$ $", "\\,"])
def test_empty_text_is_refused_as_empty(text: str) -> None:
    with pytest.raises(FormulaError, match="^empty") as caught:
        parse(text)
    assert caught.value.position is None


def test_a_long_text_is_refused_by_its_length_before_it_is_read() -> None:
    with pytest.raises(FormulaError) as caught:
        parse("h+" * 50_000)
    assert str(caught.value) == f"too long: a formula of at most {MAX_LENGTH} characters, this one has 100000"
    assert caught.value.position is None
    assert parse(" " * 10_000 + "h+" * (MAX_LENGTH // 2 - 1) + "h" + " " * 10_000) == parse(f"{MAX_LENGTH // 2}h")


def test_a_formula_error_is_a_value_error_and_anything_but_text_is_one() -> None:
    assert issubclass(FormulaError, ValueError)
    with pytest.raises(FormulaError, match="not text"):
        parse(b"h")  # type: ignore[arg-type]


HOSTILE = [
    "__import__('os').system('echo hi')", "__import__('subprocess').Popen(['echo', 'hi'])", "eval('1')",
    "exec('import os')", "compile('1', 'x', 'eval')", "().__class__.__bases__[0].__subclasses__()",
    "open('{marker}', 'w').write('x')", "h; import os; os.system('echo hi')", "h(n+h+1)#__import__('os')",
    "lambda: __import__('os')", "$(touch {marker})", "`touch {marker}`", "h\nimport os", "{{'a': 1}}",
    "[x for x in ().__class__.__base__.__subclasses__()]", "\\input{{/etc/passwd}}", "\\write18{{touch {marker}}}",
]


def test_hostile_text_starts_no_process_opens_no_file_and_runs_no_code(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    calls: list[str] = []
    monkeypatch.chdir(tmp_path)
    for module, name in [(os, "system"), (os, "popen"), (os, "fork"), (os, "execv"), (os, "execve"),
                         (os, "posix_spawn"), (os, "spawnv"), (subprocess, "Popen"), (builtins, "open"),
                         (builtins, "eval"), (builtins, "exec"), (builtins, "compile")]:
        monkeypatch.setattr(module, name, _recorder(f"{module.__name__}.{name}", calls))
    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", _recorder("__import__", calls, real_import))
    outcomes = [_outcome(text.format(marker=marker)) for text in HOSTILE]
    monkeypatch.undo()
    assert calls == []
    assert all(outcome.startswith("not a formula") for outcome in outcomes), outcomes
    assert list(tmp_path.iterdir()) == []


def _recorder(name: str, calls: list[str], then: Callable[..., Any] | None = None) -> Callable[..., Any]:
    def record(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return then(*args, **kwargs) if then else None
    return record


def _outcome(text: str) -> str:
    """What parsing `text` did, as text, so that no pytest machinery runs while builtins are replaced."""
    try:
        return f"read as {parse(text)}"
    except FormulaError as e:
        return str(e)


MULTIPLY = ["*", " * ", "·", "×", "⋅", "∗", "\\cdot ", "\\times ", "", " "]
"""Ways to write a product; the last two are juxtaposition, as in 3nh or 3 n h."""
POWERS = ["^", "**", "^{}", "^()", "superscript", "repeated"]
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
POINTS = [(0, 0), (1, 1), (2, 3), (5, 7), (10, 20), (128, 256)]

coefficients = st.integers(1, 9) | st.integers(-9, -1)
monomial_terms = st.dictionaries(st.tuples(st.integers(0, 3), st.integers(0, 3)), coefficients, min_size=1, max_size=4)
factors = st.none() | st.tuples(coefficients, st.integers(0, 1), st.integers(0, 1))


@st.composite
def written_polynomials(draw: st.DrawFn) -> tuple[Terms, str]:
    """Coefficients (power of n, power of h) -> c, and the polynomial they make as a student might write it."""
    terms, factor = draw(monomial_terms), draw(factors)
    times, power = draw(st.sampled_from(MULTIPLY)), draw(st.sampled_from(POWERS))
    text = _written_sum(draw, terms, times, power)
    if factor is not None:
        sign = "-" if factor[0] < 0 else ""
        text = sign + _written_monomial(draw, abs(factor[0]), factor[1:], times, power) + times + "(" + text + ")"
        terms = {(i + factor[1], j + factor[2]): c * factor[0] for (i, j), c in terms.items()}
    if draw(st.booleans()):
        text += f" = {_polynomial(terms)}"
    fence = draw(st.sampled_from(["{}", " {} ", "${}$", "$$ {} $$", "\n{}\t"]))
    return terms, fence.format(text)


def _written_sum(draw: st.DrawFn, terms: Terms, times: str, power: str) -> str:
    text = ""
    for (i, j), c in draw(st.permutations(sorted(terms.items()))):
        if text:
            text += draw(st.sampled_from(["+", " + ", "+ "])) if c > 0 else draw(st.sampled_from(["-", " - ", " −"]))
        elif c < 0:
            text += draw(st.sampled_from(["-", "−"]))
        text += _written_monomial(draw, abs(c), (i, j), times, power)
    return text


def _written_monomial(draw: st.DrawFn, c: int, powers: tuple[int, int], times: str, power: str) -> str:
    """c·n^i·h^j, for c > 0."""
    pieces = [] if c == 1 and any(powers) else [str(c)]
    for name, p in zip("nh", powers, strict=True):
        if p:
            pieces.append(_written_power(name.upper() if draw(st.booleans()) else name, p, times, power))
    return times.join(pieces)


def _written_power(name: str, p: int, times: str, power: str) -> str:
    if p == 1 or power == "repeated":
        return times.join([name] * p)
    if power == "superscript":
        return name + str(p).translate(SUPERSCRIPT)
    return name + {"^": f"^{p}", "**": f"**{p}", "^{}": f"^{{{p}}}", "^()": f"^({p})"}[power]


def _polynomial(terms: Terms) -> Polynomial:
    return Polynomial({key: Fraction(c) for key, c in terms.items()})


def _value(terms: Terms, n: int, h: int) -> int:
    return sum(c * n**i * h**j for (i, j), c in terms.items())


@settings(max_examples=300)
@given(written_polynomials())
def test_a_polynomial_written_in_any_notation_reads_back_as_itself(written: tuple[Terms, str]) -> None:
    terms, text = written
    assume(len(text.strip()) <= MAX_LENGTH)
    got = parse(text)
    assert got == _polynomial(terms)
    assert all(got(n, h) == _value(terms, n, h) for n, h in POINTS)


@settings(max_examples=300)
@given(st.dictionaries(st.tuples(st.integers(0, 4), st.integers(0, 4)),
                       st.fractions(min_value=-20, max_value=20, max_denominator=12), max_size=6))
def test_a_polynomial_reads_back_from_how_it_prints(terms: dict[tuple[int, int], Fraction]) -> None:
    polynomial = Polynomial(terms)
    assert parse(str(polynomial)) == polynomial


FORMULA_CHARACTERS = "nhNH0123456789+-*/^()[]{}·×²³ .=$\\−⋅∗⁰¹¹⁴ \\cdot\\left\\right"
ADVERSARIAL = [
    "(" * MAX_DEPTH + "h" + ")" * MAX_DEPTH, "(" * 100 + "h" + ")" * 99, "[" * 60 + "{" * 60, ")" * 199,
    "h^12^12", "(n+h+1)^12*(n+h+1)^12", "((n+h+1)^6)^2" + "*2" * 93, "((n+h+1)^6)^2" + "/3" * 93,
    ("(n+h+1)^12-" * 20)[:MAX_LENGTH], ("(n+h+1)^6(n+h+1)^6+" * 20)[:MAX_LENGTH], ("(9n+8h+7)^12=" * 20)[:199],
    "h" * 199, "h*" * 99 + "h", "-" * 199 + "h", ("999999999*" * 20)[:199], "((999999999^12)^12)^12",
    ("(999999999h+1)^11+" * 20)[:199], "h(" * 99 + "h", "h²" * 99, "\\left(" * 30 + "h", "$" * 199,
    "1." * 99, "\\" * 199, "n" + "¹" * 198,
]
HEAVY_PIECES = ["(n+h+1)^12", "(n+h+1)^6", "((n+h+1)^6)^2", "h^12", "999999999", "(", ")", "[", "]", "*", "-", "+",
                "/3", "²", "^12", "=", "n", "h", "0.5", "\\cdot ", "{", "}"]

random_text = st.text(st.sampled_from(FORMULA_CHARACTERS) | st.characters(), max_size=2 * MAX_LENGTH)
heavy_text = st.lists(st.sampled_from(HEAVY_PIECES), max_size=60).map("".join)


@settings(max_examples=500)
@given(random_text | heavy_text | st.sampled_from(ADVERSARIAL))
def test_no_text_crashes_the_parser_or_takes_over_ten_milliseconds(text: str) -> None:
    elapsed, outcome = _timed_parse(text)
    assert elapsed <= 0.010, f"{elapsed * 1000:.1f} ms on {text!r}"
    if isinstance(outcome, FormulaError):
        assert str(outcome)
        assert outcome.position is None or 1 <= outcome.position <= len(text) + 1
    else:
        assert isinstance(outcome, Polynomial)


def _timed_parse(text: str) -> tuple[float, Polynomial | FormulaError]:
    """The fastest of three parses and what the last gave: a moment the machine spends elsewhere
    is not the parser's. Any exception but a FormulaError escapes and fails the test."""
    times: list[float] = []
    for _ in range(3):
        start = time.perf_counter()
        try:
            outcome: Polynomial | FormulaError = parse(text)
        except FormulaError as e:
            outcome = e
        times.append(time.perf_counter() - start)
    return min(times), outcome
