"""Formulas students type for a count of weights, read as exact polynomials in n and h.

The text comes from students and is only ever read as data: a tokenizer and a recursive-descent
parser of this module's own turn it into a Polynomial, and no part of it is run as code. Every
input is bounded (length, nesting, exponents, degree, digits, the size of numbers, the work of
expanding), so that no text takes much over a millisecond, and any fails only with a FormulaError.

    formula  := sum ('=' sum)*                  every side the same polynomial
    sum      := product (('+' | '-') product)*
    product  := signed (('*' | '/') signed | power)*      a bare power: implicit multiplication
    signed   := ('+' | '-')* power
    power    := primary ['^' exponent | superscript]
    primary  := number | 'n' | 'h' | '(' sum ')'          also [ ] and { }
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Mapping, NamedTuple

MAX_LENGTH = 200
"""Characters in a formula, once the whitespace around it is stripped."""
MAX_DEPTH = 20
"""Brackets nested in one another; it keeps the parser's recursion far below Python's limit."""
MAX_EXPONENT = 12
MAX_DEGREE = 12
"""Total degree of any result on the way; with it a polynomial has at most 91 terms."""
MAX_DIGITS = 9
"""Digits in one number as written."""
MAX_VALUE_DIGITS = 100
"""Digits in any coefficient or denominator reached on the way: the degree cap does not bound
powers of constants, such as ((999^12)^12)^12, and this does."""
MAX_VALUE = 10**MAX_VALUE_DIGITS
MAX_WORK = 2000
"""Terms handled in all the sums and products of one formula: the other bounds keep each step small,
and this keeps their number small, so that no text of MAX_LENGTH characters takes much over a millisecond."""
KEY_BASE = MAX_DEGREE + 1
"""Larger than any power of h, so that a key i·KEY_BASE + j names one monomial n^i·h^j."""

DIGITS = "0123456789"
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
FROM_SUPERSCRIPTS = str.maketrans(SUPERSCRIPTS, DIGITS)
TO_SUPERSCRIPTS = str.maketrans(DIGITS, SUPERSCRIPTS)
SYMBOLS = {"+": "+", "-": "-", "\u2212": "-", "*": "*", "\u00b7": "*", "\u22c5": "*", "\u00d7": "*",
           "\u2217": "*", "/": "/", "^": "^", "=": "=", "(": "(", ")": ")", "[": "[", "]": "]", "{": "{",
           "}": "}"}
"""Each symbol a formula may hold, by the operator or bracket it stands for: the minus sign U+2212
is '-'; the dots U+00B7 and U+22C5, the cross U+00D7 and the asterisk U+2217 are '*'."""
CLOSERS = {"(": ")", "[": "]", "{": "}"}
BRACKETS = frozenset({*CLOSERS, *CLOSERS.values()})
COMMANDS = {"cdot": "*", "times": "*"}
"""LaTeX commands from the handout's math, besides \\left and \\right before a bracket."""
LATEX_SPACES = frozenset({",", ";", ":", "!", " "})
"""What follows a backslash in LaTeX's spacing commands (\\, \\; ...), read as whitespace."""
VARIABLES = {"n": "n", "N": "n", "h": "h", "H": "h"}


class FormulaError(ValueError):
    """Text that is not a formula in n and h; str(e) is a short sentence for a student, e.g.
    "not a formula: unexpected '_' at character 1"."""

    position: int | None
    """The 1-based character, in the text as given, where reading stopped; None for the text as a whole."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, eq=False)
class Polynomial:
    """A polynomial in n and h with exact coefficients: (power of n, power of h) -> coefficient.

    Zero coefficients are dropped and the terms kept in one order, so that two Polynomials that
    are the same function are equal and hash alike, however they were written.
    """

    terms: Mapping[tuple[int, int], Fraction]

    def __post_init__(self) -> None:
        canonical = {key: Fraction(c) for key, c in sorted(self.terms.items()) if c}
        if any(i < 0 or j < 0 for i, j in canonical):
            raise ValueError(f"powers of n and h are never negative, got {sorted(canonical)}")
        object.__setattr__(self, "terms", MappingProxyType(canonical))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polynomial) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(tuple(self.terms.items()))

    def __call__(self, n: int, h: int) -> Fraction:
        """The exact value at n and h."""
        return sum((c * n**i * h**j for (i, j), c in self.terms.items()), Fraction(0))

    def __str__(self) -> str:
        """Highest total degree first, n before h, as in "n·h + h² + h"."""
        order = sorted(self.terms, key=lambda key: (-sum(key), -key[0]))
        if not order:
            return "0"
        text = ""
        for key in order:
            c = self.terms[key]
            sign = ("-" if c < 0 else "") if not text else (" - " if c < 0 else " + ")
            text += sign + _term(abs(c), *key)
        return text

    def __repr__(self) -> str:
        return f"<Polynomial {self}>"

    @property
    def variables(self) -> frozenset[str]:
        """Which of "n" and "h" the polynomial depends on."""
        return frozenset(name for i, name in enumerate("nh") if any(key[i] for key in self.terms))


def _term(size: Fraction, n: int, h: int) -> str:
    factors = [_power_text(name, p) for name, p in (("n", n), ("h", h)) if p]
    if not factors:
        return str(size)
    if size != 1:
        factors.insert(0, str(size) if size.denominator == 1 else f"({size})")
    return "·".join(factors)


def _power_text(name: str, power: int) -> str:
    if power == 1:
        return name
    return name + str(power).translate(TO_SUPERSCRIPTS)


def parse(text: str) -> Polynomial:
    """The polynomial `text` writes; FormulaError when it is not one."""
    if not isinstance(text, str):
        raise FormulaError(f"not a formula: a {type(text).__name__}, not text")
    stripped = text.strip()
    if len(stripped) > MAX_LENGTH:
        raise FormulaError(f"too long: a formula of at most {MAX_LENGTH} characters, this one has {len(stripped)}")
    start = len(text) - len(text.lstrip())
    start, end = _unwrapped(text, start, start + len(stripped))
    if not text[start:end].strip():
        raise FormulaError("empty: there is no formula, write one in n and h")
    return _Parser(_tokens(text[:end], start)).formula().polynomial()


def _unwrapped(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the formula in text[start:end] starts and ends, inside the $...$ or $$...$$ around it if any."""
    for fence in ("$$", "$"):
        inside = text[start:end]
        if len(inside) >= 2 * len(fence) and inside.startswith(fence) and inside.endswith(fence):
            return start + len(fence), end - len(fence)
    return start, end


class _Token(NamedTuple):
    kind: str
    """"number", "superscript", "n", "h", "end", or the operator or bracket itself: + - * / ^ = ( ) [ ] { }"""
    position: int
    """Index of the token's first character in the text as given."""
    shown: str
    """The token as written, for messages."""
    value: Fraction = Fraction(0)
    """A number's value, or a superscript's."""


def _tokens(body: str, start: int) -> list[_Token]:
    """The tokens of body[start:], and an end token; `body` is the text as given, cut after the formula,
    so that positions are the text's own and lookahead never reads past the formula."""
    tokens: list[_Token] = []
    i = start
    while i < len(body):
        if body[i].isspace():
            i += 1
        elif body[i] == "\\" and body[i + 1 : i + 2] in LATEX_SPACES:
            i += 2
        else:
            token, i = _token(body, i)
            tokens.append(token)
    return [*tokens, _Token("end", len(body), "")]


def _token(body: str, i: int) -> tuple[_Token, int]:
    """The token that starts at body[i], and the index after it."""
    c = body[i]
    if c in DIGITS or (c == "." and _is_digit(body[i + 1 : i + 2])):
        return _number(body, i)
    if c in SUPERSCRIPTS:
        return _superscript(body, i)
    if c == "*" and body[i + 1 : i + 2] == "*":
        return _Token("^", i, "**"), i + 2
    if c in SYMBOLS:
        return _Token(SYMBOLS[c], i, c), i + 1
    if c in VARIABLES:
        return _Token(VARIABLES[c], i, c), i + 1
    if c == "\\":
        return _command(body, i)
    if c.isalpha():
        raise FormulaError(f"not a formula: {_shown(c)} at character {i + 1} is not n or h", i + 1)
    raise _unexpected(c, i)


def _number(body: str, i: int) -> tuple[_Token, int]:
    j = _digits_end(body, i)
    if body[j : j + 1] == "." and _is_digit(body[j + 1 : j + 2]):
        j = _digits_end(body, j + 1)
    written = body[i:j]
    if len(written.replace(".", "")) > MAX_DIGITS:
        raise FormulaError(f"numbers of at most {MAX_DIGITS} digits: {written} at character {i + 1} is longer",
                           i + 1)
    return _Token("number", i, written, Fraction(written)), j


def _is_digit(c: str) -> bool:
    """An ASCII digit: str.isdigit would also take other scripts' digits, and superscripts."""
    return len(c) == 1 and c in DIGITS


def _digits_end(body: str, i: int) -> int:
    while i < len(body) and body[i] in DIGITS:
        i += 1
    return i


def _superscript(body: str, i: int) -> tuple[_Token, int]:
    j = i
    while j < len(body) and body[j] in SUPERSCRIPTS:
        j += 1
    written = body[i:j]
    if len(written) > MAX_DIGITS:
        raise FormulaError(f"exponents up to {MAX_EXPONENT}: {written} at character {i + 1} is larger", i + 1)
    return _Token("superscript", i, written, Fraction(written.translate(FROM_SUPERSCRIPTS))), j


def _command(body: str, i: int) -> tuple[_Token, int]:
    """A LaTeX command: \\cdot, \\times, \\left( ... \\right), or an escaped brace \\{ \\}."""
    j = i + 1
    while j < len(body) and body[j].isascii() and body[j].isalpha():
        j += 1
    name = body[i + 1 : j]
    if name in COMMANDS:
        return _Token(COMMANDS[name], i, body[i:j]), j
    if name in ("left", "right"):
        return _sized_bracket(body, name, i, j)
    if not name and body[j : j + 1] in ("{", "}"):
        return _Token(body[j], i, body[i : j + 1]), j + 1
    if not name:
        raise _unexpected("\\", i)
    raise FormulaError(f"not a formula: '\\{name}' at character {i + 1} is not understood; of LaTeX, "
                       f"a formula may use \\cdot, \\times, \\left and \\right", i + 1)


def _sized_bracket(body: str, name: str, i: int, j: int) -> tuple[_Token, int]:
    """The bracket after \\left or \\right (`name`), which starts at body[i] and ends before body[j]."""
    while j < len(body) and body[j].isspace():
        j += 1
    if body[j : j + 2] in ("\\{", "\\}"):
        j += 1
    if body[j : j + 1] not in BRACKETS:
        raise FormulaError(f"not a formula: '\\{name}' at character {i + 1} needs a bracket after it", i + 1)
    return _Token(body[j], i, body[i : j + 1]), j + 1


def _shown(c: str) -> str:
    """A character as a message shows it: quoted, or by code point when it would not print."""
    return f"'{c}'" if c.isprintable() else f"U+{ord(c):04X}"


def _unexpected(c: str, i: int) -> FormulaError:
    return FormulaError(f"not a formula: unexpected {_shown(c)} at character {i + 1}", i + 1)


@dataclass(frozen=True)
class _Scaled:
    """A polynomial as integer numerators over one positive denominator, in lowest terms: the
    parser's working form, since sums and products of ints are many times faster than of Fractions.

    The monomial n^i·h^j is keyed by the int i·KEY_BASE + j, so that multiplying two monomials adds
    their keys: ints hash and add faster than (i, j) tuples, and products are most of the work.
    """

    numerators: Mapping[int, int]
    denominator: int = 1
    degree: int = 0

    @property
    def largest(self) -> int:
        """The largest numerator or denominator, which the size bound limits."""
        return max([self.denominator, *map(abs, self.numerators.values())])

    def plus(self, other: _Scaled) -> _Scaled:
        terms = {key: c * other.denominator for key, c in self.numerators.items()}
        for key, c in other.numerators.items():
            terms[key] = terms.get(key, 0) + c * self.denominator
        return _reduced(terms, self.denominator * other.denominator)

    def negated(self) -> _Scaled:
        return _Scaled({key: -c for key, c in self.numerators.items()}, self.denominator, self.degree)

    def times(self, other: _Scaled) -> _Scaled:
        """The product, whose degree the caller has checked is at most MAX_DEGREE (else keys would collide)."""
        terms: dict[int, int] = {}
        for key, c in self.numerators.items():
            for other_key, d in other.numerators.items():
                terms[key + other_key] = terms.get(key + other_key, 0) + c * d
        return _reduced(terms, self.denominator * other.denominator)

    def constant(self) -> Fraction | None:
        """The value, when the polynomial has neither n nor h."""
        if self.degree:
            return None
        return Fraction(self.numerators.get(0, 0), self.denominator)

    def polynomial(self) -> Polynomial:
        return Polynomial({divmod(key, KEY_BASE): Fraction(c, self.denominator) for key, c in self.numerators.items()})


def _reduced(terms: Mapping[int, int], denominator: int) -> _Scaled:
    nonzero = {key: c for key, c in terms.items() if c}
    common = math.gcd(denominator, *nonzero.values())
    degree = max((key // KEY_BASE + key % KEY_BASE for key in nonzero), default=0)
    return _Scaled({key: c // common for key, c in nonzero.items()}, denominator // common, degree)


def _constant(value: Fraction) -> _Scaled:
    return _reduced({0: value.numerator}, value.denominator)


ONE = _constant(Fraction(1))
VARIABLE_TERMS = {"n": _Scaled({KEY_BASE: 1}, 1, 1), "h": _Scaled({1: 1}, 1, 1)}
STARTS_FACTOR = frozenset({"n", "h", "(", "[", "{"})
"""Tokens that, right after a factor, begin another one multiplied by it: 4h, h(n+1), (n+1)(h+1)."""


class _Parser:
    """Recursive descent over the tokens, one method per rule of the grammar in the module's docstring."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.work = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def formula(self) -> _Scaled:
        value = self.sum()
        while self.peek().kind == "=":
            equals = self.take()
            other = self.sum()
            if other != value:
                raise FormulaError(f"the two sides of '=' at character {equals.position + 1} differ: "
                                   f"{value.polynomial()} on the left, {other.polynomial()} on the right",
                                   equals.position + 1)
        token = self.peek()
        if token.kind in CLOSERS.values():
            raise FormulaError(f"not a formula: '{token.shown}' at character {token.position + 1} closes nothing",
                               token.position + 1)
        if token.kind != "end":
            raise self.unexpected(token)
        return value

    def sum(self) -> _Scaled:
        value = self.product()
        while self.peek().kind in ("+", "-"):
            operator = self.take()
            term = self.product()
            self.spend(len(value.numerators) + len(term.numerators), operator)
            value = self.bounded(value.plus(term if operator.kind == "+" else term.negated()), operator)
        return value

    def product(self) -> _Scaled:
        value = self.signed()
        while True:
            token = self.peek()
            if token.kind == "*":
                self.take()
                value = self.times(value, self.signed(), token)
            elif token.kind == "/":
                self.take()
                value = self.divided(value, self.signed(), token)
            elif token.kind in STARTS_FACTOR:
                value = self.times(value, self.power(), token)
            elif token.kind == "number":
                raise FormulaError(f"not a formula: the number {token.shown} at character {token.position + 1} "
                                   f"follows a factor with no operator between them", token.position + 1)
            else:
                return value

    def signed(self) -> _Scaled:
        negative = False
        while self.peek().kind in ("+", "-"):
            negative ^= self.take().kind == "-"
        value = self.power()
        return value.negated() if negative else value

    def power(self) -> _Scaled:
        base = self.primary()
        token = self.peek()
        if token.kind == "superscript":
            exponent = self.take().value
        elif token.kind == "^":
            self.take()
            exponent = self.exponent(token)
        else:
            return base
        if self.peek().kind in ("^", "superscript"):
            raise FormulaError(f"not a formula: a power of a power at character {self.peek().position + 1}; "
                               f"write (h^2)^3 or h^6", self.peek().position + 1)
        return self.raised(base, exponent, token)

    def exponent(self, caret: _Token) -> Fraction:
        """The whole number after '^': 2, (2) or {2}."""
        token = self.take()
        if token.kind in CLOSERS:
            number, close = self.take(), self.take()
            if close.kind != CLOSERS[token.kind]:
                number = token
        else:
            number = token
        if number.kind != "number" or number.value.denominator != 1:
            raise FormulaError(f"not a formula: '{caret.shown}' at character {caret.position + 1} needs a whole "
                               f"number after it, as in h^2 or h^(2)", caret.position + 1)
        return number.value

    def primary(self) -> _Scaled:
        token = self.take()
        if token.kind == "number":
            return _constant(token.value)
        if token.kind in VARIABLE_TERMS:
            return VARIABLE_TERMS[token.kind]
        if token.kind in CLOSERS:
            return self.group(token)
        raise self.unexpected(token)

    def group(self, opening: _Token) -> _Scaled:
        """What is inside brackets, after the opening one."""
        if self.depth == MAX_DEPTH:
            raise FormulaError(f"brackets nested at most {MAX_DEPTH} deep: '{opening.shown}' at character "
                               f"{opening.position + 1} goes deeper", opening.position + 1)
        self.depth += 1
        value = self.sum()
        self.depth -= 1
        closing = self.take()
        if closing.kind == CLOSERS[opening.kind]:
            return value
        if closing.kind == "end" or closing.kind in CLOSERS.values():
            ending = "is never closed" if closing.kind == "end" else \
                f"is closed by '{closing.shown}' at character {closing.position + 1}"
            raise FormulaError(f"not a formula: '{opening.shown}' at character {opening.position + 1} {ending}",
                               opening.position + 1)
        raise self.unexpected(closing)

    def times(self, left: _Scaled, right: _Scaled, token: _Token) -> _Scaled:
        degree = left.degree + right.degree
        if degree > MAX_DEGREE:
            raise FormulaError(f"a formula of degree at most {MAX_DEGREE}: the product at character "
                               f"{token.position + 1} has degree {degree}", token.position + 1)
        self.spend(len(left.numerators) * len(right.numerators), token)
        return self.bounded(left.times(right), token)

    def divided(self, left: _Scaled, right: _Scaled, slash: _Token) -> _Scaled:
        divisor = right.constant()
        where = f"at character {slash.position + 1}"
        if divisor is None:
            raise FormulaError(f"division by a formula in n or h is not a polynomial: '/' {where}", slash.position + 1)
        if divisor == 0:
            raise FormulaError(f"division by zero {where}", slash.position + 1)
        return self.times(left, _constant(1 / divisor), slash)

    def raised(self, base: _Scaled, exponent: Fraction, token: _Token) -> _Scaled:
        """base ** exponent, refused before any work when the exponent or the degree is too large."""
        where = token.position + 1
        if exponent > MAX_EXPONENT:
            raise FormulaError(f"exponents up to {MAX_EXPONENT}: got {exponent} at character {where}", where)
        if base.degree * exponent > MAX_DEGREE:
            raise FormulaError(f"a formula of degree at most {MAX_DEGREE}: the power at character {where} "
                               f"has degree {base.degree * exponent}", where)
        value = ONE
        for _ in range(int(exponent)):
            value = self.times(value, base, token)
        return value

    def spend(self, work: int, token: _Token) -> None:
        """Count the terms a step handles, refusing the step that would take the formula past MAX_WORK."""
        self.work += work
        if self.work > MAX_WORK:
            raise FormulaError(f"a formula that expands in at most {MAX_WORK} steps: this one takes more "
                               f"at character {token.position + 1}", token.position + 1)

    def bounded(self, value: _Scaled, token: _Token) -> _Scaled:
        if value.largest >= MAX_VALUE:
            raise FormulaError(f"numbers of at most {MAX_VALUE_DIGITS} digits in a formula: the result at "
                               f"character {token.position + 1} is larger", token.position + 1)
        return value

    def unexpected(self, token: _Token) -> FormulaError:
        if token.kind != "end":
            return _unexpected(token.shown, token.position)
        if len(self.tokens) == 1:
            return FormulaError("empty: there is no formula, write one in n and h")
        last = self.tokens[-2]
        return FormulaError(f"not a formula: something should follow '{last.shown}' at character "
                            f"{last.position + 1}", last.position + 1)
